"""Explicit labels in text (GB 5.1) and the implicit label in Markdown front matter (PG-20258A §6.5).

Pure string functions: the gateway calls `apply_explicit` on whole answers and `prefix` / `suffix` around
a stream; the file writer calls `label_markdown` / `label_plain`. `explicit_positions` finds where a text
already carries the label, for LBL-14. Nothing here removes a label from a text.
"""

from __future__ import annotations

import re

import yaml

from hegui.label.config import LabelPolicy, explicit_wording_ok
from hegui.label.implicit import ParsedLabel, parse_label

#: The window at the start or end of a text that counts as "at the start / end" (AigcTotal uses 64).
WINDOW = 64
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<body>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def explicit_label(policy: LabelPolicy) -> str:
    """The label as it appears in text, e.g. ``【AI生成】``."""
    return policy.bracketed


def prefix(policy: LabelPolicy) -> str:
    """What goes before an answer (empty when the label goes only at the end or text is not labelled)."""
    if not policy.label_text_answers or policy.text_position == "end":
        return ""
    return policy.bracketed + policy.text_separator


def suffix(policy: LabelPolicy) -> str:
    """What goes after an answer (empty when the label goes only at the start or text is not labelled)."""
    if not policy.label_text_answers or policy.text_position == "start":
        return ""
    return policy.text_separator + policy.bracketed


def apply_explicit(text: str, policy: LabelPolicy) -> str:
    """The answer with its explicit label at the start, the end or both, per policy."""
    return prefix(policy) + text + suffix(policy)


def explicit_positions(text: str, wording: str | None = None) -> list[str]:
    """Where the text carries an explicit label: any of ``start``, ``end``, ``middle`` (LBL-14).

    With ``wording`` the exact configured label is searched; without it, any span that satisfies LBL-10
    within a short phrase (人工智能|AI … 生成|合成 within 12 characters) counts.
    """
    spans: list[tuple[int, int]] = []
    if wording:
        spans = [(m.start(), m.end()) for m in re.finditer(re.escape(wording), text)]
    else:
        pattern = re.compile(
            r"(?:人工智能|AI).{0,12}?(?:生成|合成)|(?:生成|合成).{0,12}?(?:人工智能|AI)", re.S
        )
        spans = [(m.start(), m.end()) for m in pattern.finditer(text) if explicit_wording_ok(m.group(0))]
    positions: list[str] = []
    for start, end in spans:
        # In a short text one label can sit in the start and the end window at once.
        where = [w for w, inside in (("start", start < WINDOW), ("end", end > len(text) - WINDOW)) if inside]
        for w in where or ["middle"]:
            if w not in positions:
                positions.append(w)
    return positions


# --- Markdown and plain text files ------------------------------------------------------------------


def markdown_read(text: str) -> list[ParsedLabel]:
    """The ``AIGC`` entries of the YAML front matter (a mapping or a JSON string), if any."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return []
    try:
        meta = yaml.safe_load(match.group("body"))
    except yaml.YAMLError as exc:
        return [parse_label(f"<front matter is not YAML: {exc}>", "markdown:front-matter")]
    if not isinstance(meta, dict):
        return []
    found: list[ParsedLabel] = []
    for key, value in meta.items():
        if "AIGC" not in str(key).upper():
            continue
        raw = value if isinstance(value, str) else _json(value)
        found.append(parse_label(raw, f"markdown:front-matter:{key}"))
    return found


def _json(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def label_markdown(text: str, label_json: str, policy: LabelPolicy, *, explicit: bool) -> str:
    """Markdown with the label in its front matter (replacing an earlier AIGC key, keeping the rest)
    and, when ``explicit``, the visible label at the end (or where the policy puts it)."""
    import json

    meta: dict[str, object] = {}
    body = text
    match = _FRONT_MATTER.match(text)
    if match:
        loaded = yaml.safe_load(match.group("body"))
        if isinstance(loaded, dict):
            meta = {k: v for k, v in loaded.items() if "AIGC" not in str(k).upper()}
            body = text[match.end() :]
    meta["AIGC"] = json.loads(label_json)
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=False)
    if explicit and not explicit_positions(body, policy.bracketed):
        body = _apply_file(body, policy)
    return f"---\n{front}---\n{body}"


def label_plain(text: str, policy: LabelPolicy) -> str:
    """Plain text has no metadata carrier (UNCONFIRMED in the guides): the explicit label only."""
    if explicit_positions(text, policy.bracketed):
        return text
    return _apply_file(text, policy)


def _apply_file(text: str, policy: LabelPolicy) -> str:
    head = policy.bracketed + policy.text_separator if policy.text_position in ("start", "both") else ""
    tail = policy.text_separator + policy.bracketed if policy.text_position in ("end", "both") else ""
    return head + text.rstrip("\n") + tail + "\n"
