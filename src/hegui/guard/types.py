"""The core types of the guard: Stage, Action, Finding, Verdict, Context and the Check protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable


class Stage(StrEnum):
    """Where in a request's path a check runs."""

    INPUT = "input"
    OUTPUT = "output"
    EGRESS = "egress"
    INGEST = "ingest"

    def __str__(self) -> str:
        return self.value


_ACTION_RANK = {"allow": 0, "label": 1, "mask": 2, "refuse": 3, "block_user": 4}
_STOPS_FROM = _ACTION_RANK["refuse"]


class Action(StrEnum):
    """What a finding asks for. Ordered: allow < label < mask < refuse < block_user."""

    ALLOW = "allow"
    LABEL = "label"
    MASK = "mask"
    REFUSE = "refuse"
    BLOCK_USER = "block_user"

    @property
    def rank(self) -> int:
        return _ACTION_RANK[self]  # a StrEnum member hashes and compares as its value

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return _ACTION_RANK[self] < _ACTION_RANK[other]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return _ACTION_RANK[self] <= _ACTION_RANK[other]

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return _ACTION_RANK[self] > _ACTION_RANK[other]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return _ACTION_RANK[self] >= _ACTION_RANK[other]

    def __str__(self) -> str:
        return self.value

    @property
    def stops(self) -> bool:
        """True when the text must not be released (refuse or block the user)."""
        return _ACTION_RANK[self] >= _STOPS_FROM


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check found, with its span in the *original* text (``text[start:end]``)."""

    check: str
    category: str
    start: int
    end: int
    evidence: str
    action: Action
    score: float = 1.0
    explanation: str = ""
    #: What masking writes instead of the span; None means one mask character per original character.
    replacement: str | None = None
    #: How much the finding weighs on its own: "red-line" (decides alone), "topic" (evidence: raises its
    #: category's risk, decides only with a model's or the context's support), "model" (a model's score),
    #: "" for checks that decide as they always have (deny-lists, PII, memory).
    tier: str = ""
    #: For a model's finding: the share of its score that its category holds (the prompt model's
    #: P(category) / P(harmful) in the judged window; 1.0 when one category is all of it or the check
    #: does not say). A specialist confirms only the refusals its category holds the most of
    #: (`hegui.guard.fusion`).
    share: float = 1.0

    def shifted(self, offset: int) -> Finding:
        """The same finding with its span moved by ``offset`` characters."""
        if offset == 0:
            return self
        return Finding(
            self.check,
            self.category,
            self.start + offset,
            self.end + offset,
            self.evidence,
            self.action,
            self.score,
            self.explanation,
            self.replacement,
            self.tier,
            self.share,
        )

    def decided(self, action: Action, explanation: str, tier: str | None = None) -> Finding:
        """The same finding with another action and explanation, and ``tier`` when given (the fusion's
        upgrade or downgrade).
        Built directly: ``dataclasses.replace`` costs several microseconds, and a long text has dozens of
        topic hits."""
        return Finding(
            self.check,
            self.category,
            self.start,
            self.end,
            self.evidence,
            action,
            self.score,
            explanation,
            self.replacement,
            self.tier if tier is None else tier,
            self.share,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "evidence": self.evidence,
            "action": self.action.value,
            "score": self.score,
            **({"tier": self.tier} if self.tier else {}),
            **({"share": self.share} if self.share < 1.0 else {}),
            **({"explanation": self.explanation} if self.explanation else {}),
        }

    def summary(self) -> dict[str, Any]:
        """What the audit chain keeps: never the evidence, only where and what kind."""
        return {
            "check": self.check,
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "action": self.action.value,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The pipeline's decision on one text at one stage."""

    action: Action
    findings: tuple[Finding, ...]
    #: The text to release: the original, or the masked rewrite when the action is ``mask``.
    text: str
    policy_version: str
    #: Version (e.g. lexicon hash) of every check that ran, by check name.
    versions: Mapping[str, str] = field(default_factory=dict)

    @property
    def stops(self) -> bool:
        return self.action.stops

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action.value, "findings": [f.to_json() for f in self.findings]}


@runtime_checkable
class SessionMemory(Protocol):
    """What a check may know of the session's past: earlier turns and earlier violations."""

    def recent_turns(self, limit: int) -> Sequence[str]: ...

    def violations(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Context:
    """Who is asking, through which channel, towards which upstream."""

    tenant: str = "default"
    user: str | None = None
    session: str | None = None
    channel: Literal["api", "chat"] = "api"
    upstream_region: str | None = None
    request_id: str | None = None
    consent: Mapping[str, bool] = field(default_factory=dict)
    memory: SessionMemory | None = None
    #: At the output stage: the user's request the answer responds to (the latest user turn), so that
    #: an answer is judged with its question. None at the input stage or when unknown.
    prompt: str | None = None


@runtime_checkable
class Check(Protocol):
    """A content check: one method, ``inspect``, returning findings with spans in the given text.

    ``horizon`` is the longest stretch of original characters a finding of this check can depend on,
    the matched span plus any context the check looks at (for example, an allow-list word that
    contains a deny-listed term). The stream inspector holds back ``horizon - 1`` characters and acts
    on a finding only once ``horizon - 1`` characters follow it. ``None`` means the check needs the
    whole text: a stream through it is held back until the end, unless the check also declares
    ``judges_at = "sentence"`` (an optional attribute, read by `judges_at`; checks without it keep
    the old meaning). Such a check is run during a stream on the text from its start up to the last
    sentence end, and a sentence is released only once it has been judged; its judgement of a prefix
    must be one it would stand by for the whole text (a refusal of a prefix stops the stream there,
    and what was released before stays released), unless it declares ``settles_at`` (an optional int):
    its refusal of a prefix shorter than that holds the stream (nothing more released) until a longer
    prefix is judged, and only the end's judgement of a shorter answer is final.

    A check with a horizon may narrow it where the text allows, with two optional methods (the
    `NarrowsHorizon` protocol, read by the stream inspector; see `hegui.guard.pii.check.PIICheck`): ``holdback_at(text) -> int``, the
    characters at the end of ``text`` that more text could still turn into a finding or change (at most
    ``horizon - 1``), and ``lookback_at(text, pos) -> int``, how far before ``pos`` a finding that
    reaches ``text[pos:]`` can start, with the context its start reads (at most ``horizon``). A check
    offers both or neither. The PII check does: an e-mail address lies inside one run of e-mail
    characters, so a Chinese answer need not wait for the 256 characters an address could span.

    A check that waits on I/O (a guard-model call, a database-backed memory read) declares
    ``blocking = True``, or a method ``blocking(ctx) -> bool`` when it waits only for some requests
    (read by `blocks`; checks without it do not block). The gateway runs a stage that has a blocking
    check for a request in a bounded worker pool instead of on its event loop.
    """

    name: str
    stages: frozenset[Stage]
    horizon: int | None
    version: str

    def inspect(self, text: str, ctx: Context) -> list[Finding]: ...


#: When a check that needs the whole text (horizon None) can give its judgement in a stream: only at
#: the end, or at every sentence end (on the text so far).
@runtime_checkable
class NarrowsHorizon(Protocol):
    """A check with a horizon that can say, for a given text, how much of it a stream needs to hold back
    and rescan (see `Check`); both answers are at most what the horizon gives."""

    def holdback_at(self, text: str) -> int: ...

    def lookback_at(self, text: str, pos: int) -> int: ...


def narrows_horizon(check: object) -> bool:
    """Whether ``check`` offers `NarrowsHorizon`'s two methods: what ``isinstance(check, NarrowsHorizon)``
    says, without its cost (a runtime-checkable Protocol lists its members again at every call: about
    20 µs, paid per span check at the start of every stream)."""
    return callable(getattr(check, "holdback_at", None)) and callable(getattr(check, "lookback_at", None))


JudgesAt = Literal["end", "sentence"]


def judges_at(check: Check) -> JudgesAt:
    """``"sentence"`` for a check with horizon None that declares ``judges_at = "sentence"``, else
    ``"end"``. A check with a horizon is judged by its horizon whatever it declares: that is finer."""
    declared = getattr(check, "judges_at", "end")
    if declared not in ("end", "sentence"):
        raise ValueError(f"check {check.name!r}: judges_at must be 'end' or 'sentence', not {declared!r}")
    return "sentence" if declared == "sentence" and check.horizon is None else "end"


def blocks(check: Check, ctx: Context) -> bool:
    """Whether ``check`` may wait on I/O for this request: its ``blocking`` attribute (a bool, or a
    method taking the context), False when it declares none. A declaration that is neither is an
    error: a check whose blocking cannot be known is not guessed to be cheap."""
    declared = getattr(check, "blocking", False)
    if callable(declared):
        declared = declared(ctx)
    if not isinstance(declared, bool):
        raise ValueError(f"check {check.name!r}: blocking must be a bool or a method returning one")
    return declared
