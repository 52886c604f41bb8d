"""The field map applied: the slots of a request for the input stage, and of an answer or a stream chunk
for the output stage.

An answer's slot key is ``(choice index, field path within the choice's message or delta)``, for example
``(0, "tool_calls[1].function.arguments")``; fields outside the choices have ``None`` as their index. A
streamed chunk's pieces of one field share a key (choices and tool calls are named by their ``index``),
so one StreamInspector follows each field across chunks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hegui.errors import RequestError
from hegui.gateway.fields import FieldRefused, Kind, Path, Spec, Text, render, walk
from hegui.gateway.schemas import Slot

SlotKey = tuple[Any, str]
_SEGMENT = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def request_slots(spec: Spec, body: dict[str, Any]) -> list[Slot]:
    """Every text of a request, in its order. Content the map refuses is a 400 naming the field."""
    try:
        texts = walk(spec, body, request=True).texts
    except FieldRefused as exc:
        param = re.split(r"[.\[]", exc.path, maxsplit=1)[0] or None
        raise RequestError(
            f"{exc.path}: {exc.reason}; it is refused rather than forwarded unchecked", param=param
        ) from None
    return [Slot(render(t.path), _canonical(t), t.set) for t in texts if t.text]


def _canonical(t: Text) -> str:
    """Tool-call arguments are JSON, where ``\\u6f14`` means 演: escaped text would pass a check that
    reads the characters as written. Arguments with escapes are rewritten in place as the same JSON
    value with the characters themselves (``ensure_ascii=False``), and that is what is inspected and
    sent. Arguments that are not JSON (yet: a stream's piece) are inspected as they are."""
    if not (t.path and t.path[-1] == "arguments" and "\\" in t.text):
        return t.text
    try:
        value = json.loads(t.text)
    except ValueError:
        return t.text
    canonical = json.dumps(value, ensure_ascii=False)
    if canonical != t.text:
        t.set(canonical)
        t.text = canonical
    return canonical


@dataclass(slots=True)
class AnswerSlot:
    """One text of an answer (or of a stream chunk) for the output stage."""

    key: SlotKey
    text: str
    set: Any  # Callable[[str], None]
    #: Inspected as one piece, also in streams (identifiers, keys); else streamed through an inspector.
    whole: bool
    declared: bool


def slot_key(path: Path, container: str | None) -> SlotKey:
    """``("choices", 0, "delta", "content")`` → ``(0, "content")``; other paths → ``(None, path)``."""
    if len(path) >= 3 and path[0] == "choices" and isinstance(path[1], int):
        rest = path[2:]
        if container is not None and rest and rest[0] == container:
            rest = rest[1:]
        return (path[1], render(rest) or container or "")
    return (None, render(path))


def answer_slots(
    spec: Spec, body: dict[str, Any], container: str | None, known: frozenset[str] = frozenset()
) -> list[AnswerSlot]:
    return [_slot(t, container) for t in walk(spec, body, request=False, known=known).texts]


def _slot(t: Text, container: str | None) -> AnswerSlot:
    text = _canonical(t)
    return AnswerSlot(slot_key(t.path, container), text, t.set, t.kind == Kind.WHOLE, t.declared)


def field_name(key: SlotKey) -> str:
    """The slot's place in the answer, as recorded in audit findings."""
    idx, path = key
    return path if idx is None else f"choices[{idx}].{path}"


def nest(path: str, value: Any) -> dict[str, Any]:
    """``"tool_calls[1].function.arguments"`` → ``{"tool_calls": [{"index": 1, "function": {"arguments":
    value}}]}``: the piece of a chunk that carries ``value`` at ``path``."""
    segments: list[str | int] = [
        m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _SEGMENT.finditer(path)
    ]
    out: Any = value
    pending_index: int | None = None
    for seg in reversed(segments):
        if isinstance(seg, int):
            pending_index = seg
            continue
        if pending_index is not None:
            item = out if isinstance(out, dict) else {"value": out}
            out = [{"index": pending_index} | item]
            pending_index = None
        out = {seg: out}
    return out if isinstance(out, dict) else {"value": out}
