"""The implicit label of GB 45438-2025 Annex E: the seven-key ``AIGC`` object.

`AigcLabel` is the value; `parse_label` reads the bare or the wrapped ``{"AIGC": {...}}`` form and
reports what is wrong with it as `LabelIssue` values tied to requirement ids (LBL-02 … LBL-07), so that
both the writers (which refuse to write a bad label) and `hegui label verify` (which reports every issue)
use the same rules. This module never drops or rewrites a label it was given except to serialise it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from hegui.errors import RequestError

KEYS: tuple[str, ...] = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
LABEL_VALUES = ("1", "2", "3")
#: Annex E j: printable ASCII without space, bare quote or backslash. ``\"`` appears only in the JSON
#: encoding, so the decoded value may hold a ``"``; that is the one exception allowed.
_CHARSET = re.compile(r"^[\x21-\x7E]*$")
_FORBIDDEN_IN_VALUE = ("\\",)
#: A value that is plainly well-formed: printable ASCII, no backslash, nothing else (not even the newline
#: ``$`` lets through). Every response's label is built, so this is checked first; a value it does not
#: match is judged by the full rules (`_value_issues`), which decide.
_PLAIN_VALUE = re.compile(r"[\x21-\x5B\x5D-\x7E]*")


class LabelError(RequestError):
    """A label that hegui was asked to write breaks a requirement; nothing is written."""

    code = "invalid_aigc_label"


@dataclass(frozen=True)
class LabelIssue:
    """One requirement a parsed label does not meet."""

    requirement: str
    reason: str


def charset_ok(value: str) -> bool:
    """LBL-04: printable ASCII, no space, no backslash (a quote is allowed: it is written as ``\\"``)."""
    return bool(_CHARSET.match(value)) and not any(c in value for c in _FORBIDDEN_IN_VALUE)


@dataclass(frozen=True)
class AigcLabel:
    """The seven keys, all strings. Construct through `first_write` or `propagate` to keep LBL-06."""

    Label: str
    ContentProducer: str
    ProduceID: str
    ReservedCode1: str = ""
    ContentPropagator: str = ""
    PropagateID: str = ""
    ReservedCode2: str = ""

    def __post_init__(self) -> None:
        if self.Label in LABEL_VALUES and self.ContentProducer and self.ProduceID and _plain(self):
            return  # nothing the rules below could find (LBL-02, -03 and -04 all hold)
        problems = [i for i in self.issues() if i.requirement in ("LBL-02", "LBL-03", "LBL-04")]
        if problems:
            raise LabelError("; ".join(f"{i.requirement}: {i.reason}" for i in problems))

    @classmethod
    def first_write(cls, producer: str, produce_id: str, label: str = "1") -> AigcLabel:
        """The label a generating provider writes: propagator fields copy the producer's (Annex E note 1)."""
        return cls(
            Label=label,
            ContentProducer=producer,
            ProduceID=produce_id,
            ContentPropagator=producer,
            PropagateID=produce_id,
        )

    def propagate(self, propagator: str, propagate_id: str, *, label: str | None = None) -> AigcLabel:
        """The same label as a receiving platform rewrites it: its own propagator fields (LBL 6, LBL-19)."""
        return replace(
            self, ContentPropagator=propagator, PropagateID=propagate_id, Label=label or self.Label
        )

    def with_reserved(self, *, code1: str | None = None, code2: str | None = None) -> AigcLabel:
        return replace(
            self,
            ReservedCode1=self.ReservedCode1 if code1 is None else code1,
            ReservedCode2=self.ReservedCode2 if code2 is None else code2,
        )

    def as_dict(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in KEYS}

    def to_json(self) -> str:
        """The bare form, compact: ``{"Label":"1",...}`` (the form stored in named ``AIGC`` fields).
        orjson writes what ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` writes for these
        values (strings of printable ASCII; a test compares them), in a tenth of the time: every
        labelled answer carries it in a header."""
        return orjson.dumps(self.as_dict()).decode()

    def to_wrapped_json(self) -> str:
        """The wrapped form ``{"AIGC":{...}}`` for fields that are not named AIGC."""
        return json.dumps({"AIGC": self.as_dict()}, ensure_ascii=False, separators=(",", ":"))

    def issues(self, *, first_write: bool = False) -> list[LabelIssue]:
        return _value_issues(self.as_dict(), first_write=first_write)


def _plain(label: AigcLabel) -> bool:
    """Every value is a string of `_PLAIN_VALUE` (a fast path of `_value_issues`, never a verdict
    of its own: False only means the full rules are asked)."""
    for key in KEYS:
        value = getattr(label, key)
        if type(value) is not str or _PLAIN_VALUE.fullmatch(value) is None:
            return False
    return True


@dataclass(frozen=True)
class ParsedLabel:
    """A label as found in a file: the raw text, where it was, the values, and what is wrong."""

    carrier: str
    raw: str
    values: dict[str, Any] = field(default_factory=dict)
    issues: tuple[LabelIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues

    def label(self) -> AigcLabel:
        """The label as a value; raises `LabelError` when it breaks LBL-02/03/04."""
        try:
            return AigcLabel(**{k: self.values[k] for k in KEYS})
        except (KeyError, TypeError) as exc:
            raise LabelError(f"LBL-02: not a complete label: {exc}") from None


def parse_label(raw: str, carrier: str) -> ParsedLabel:
    """Parse the bare or wrapped form; every problem becomes a `LabelIssue`, nothing raises."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return ParsedLabel(carrier, raw, {}, (LabelIssue("LBL-02", f"not JSON: {exc.msg}"),))
    if isinstance(obj, dict) and set(obj) == {"AIGC"}:
        obj = obj["AIGC"]
    if isinstance(obj, str):
        # Some writers store the JSON text as a JSON string; decode one more level, no further.
        return (
            parse_label(obj, carrier)
            if obj.lstrip().startswith("{")
            else ParsedLabel(
                carrier, raw, {}, (LabelIssue("LBL-02", "the AIGC value is a string, not an object"),)
            )
        )
    if not isinstance(obj, dict):
        return ParsedLabel(carrier, raw, {}, (LabelIssue("LBL-02", "the AIGC value is not an object"),))
    return ParsedLabel(carrier, raw, obj, tuple(_value_issues(obj)))


def _value_issues(values: dict[str, Any], *, first_write: bool = False) -> list[LabelIssue]:
    out: list[LabelIssue] = []
    missing = [k for k in KEYS if k not in values]
    extra = [k for k in values if k not in KEYS]
    if missing:
        out.append(LabelIssue("LBL-02", f"missing keys: {', '.join(missing)}"))
    if extra:
        out.append(LabelIssue("LBL-02", f"unknown keys: {', '.join(map(str, extra))}"))
    not_str = [k for k in KEYS if k in values and not isinstance(values[k], str)]
    if not_str:
        out.append(LabelIssue("LBL-02", f"values that are not strings: {', '.join(not_str)}"))
    label = values.get("Label")
    if "Label" in values and label not in LABEL_VALUES:
        out.append(LabelIssue("LBL-03", f'Label is {label!r}; it must be the string "1", "2" or "3"'))
    for key in ("ContentProducer", "ProduceID"):
        if isinstance(values.get(key), str) and not values[key]:
            out.append(LabelIssue("LBL-02", f"{key} is empty"))
    bad = [k for k in KEYS if isinstance(values.get(k), str) and not charset_ok(values[k])]
    if bad:
        out.append(
            LabelIssue(
                "LBL-04",
                f"values outside printable ASCII (space, backslash or CJK): {', '.join(bad)}",
            )
        )
    if first_write and (
        values.get("ContentPropagator") != values.get("ContentProducer")
        or values.get("PropagateID") != values.get("ProduceID")
    ):
        out.append(LabelIssue("LBL-06", "on first write the propagator fields must copy the producer's"))
    return out


def provider_code_issue(code: object, field_name: str = "ContentProducer") -> LabelIssue | None:
    """LBL-07 for one code, or None when it is well-formed."""
    from hegui.label.producer import code_problem

    problem = code_problem(code)
    if problem is not None:
        return LabelIssue("LBL-07", f"{field_name} {code!r} is not a provider code: {problem}")
    return None
