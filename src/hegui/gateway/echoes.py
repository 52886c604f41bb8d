"""Token-level echoes of generated text (``logprobs``): dropped, or released only with released text.

``logprobs`` repeats the generated text token by token, so passing it on as the upstream sent it would
release a refused answer (whole answers) and, in streams, the text the inspector is still holding back.
The policy (``[gateway] logprobs``) says what happens while any output check is active:

- ``"drop"`` (default): every ``logprobs`` is null.
- ``"released"``: a slot's entries are released only for text the inspector has released *unchanged*
  (not masked, not restored from pseudonyms), and only while their tokens spell exactly that text; the
  alternatives (``top_logprobs``) are never released, as they were never part of the released text. In a
  stream each entry leaves with (or after) the chunk that releases its text.

With no output check at all, nothing is held back and ``logprobs`` passes as sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

LogprobsPolicy = Literal["drop", "released"]
SlotKey = tuple[Any, str]

#: The slots whose text a chat ``logprobs`` object echoes, by its list name.
_CHAT_LISTS = ("content", "refusal")
_COMPLETION_LISTS = ("tokens", "token_logprobs", "text_offset")


@dataclass(slots=True)
class Entry:
    token: str
    data: Any  # the chat entry (dict) or, for completions, (token, logprob, offset)


def _entries(logprobs: Any, name: str, completions: bool) -> list[Entry] | None:
    """The entries of one echoed slot, or None if the object is not what the API says it is."""
    if not isinstance(logprobs, dict):
        return None
    if completions:
        lists = [logprobs.get(k) for k in _COMPLETION_LISTS]
        tokens = lists[0]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            return None
        cols = [v if isinstance(v, list) and len(v) == len(tokens) else [None] * len(tokens) for v in lists]
        return [Entry(t, (t, lp, off)) for t, lp, off in zip(*cols, strict=True)]
    items = logprobs.get(name)
    if items is None:
        return []
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("token"), str) for i in items
    ):
        return None
    return [
        Entry(
            i["token"],
            {"token": i["token"], "bytes": i.get("bytes"), "logprob": i.get("logprob"), "top_logprobs": []},
        )
        for i in items
    ]


def _aligned(entries: Iterable[Entry], text: str, start: int, upto: int) -> tuple[list[Entry], int, bool]:
    """Entries from ``start`` whose tokens spell ``text`` up to ``upto``; False when they stop matching."""
    out: list[Entry] = []
    pos = start
    for e in entries:
        end = pos + len(e.token)
        if end > upto:
            break
        if text[pos:end] != e.token:
            return out, pos, False
        out.append(e)
        pos = end
    return out, pos, True


def _build(completions: bool, parts: dict[str, list[Entry]]) -> dict[str, Any] | None:
    if completions:
        entries = parts.get("text", [])
        if not entries:
            return None
        return {
            "tokens": [e.data[0] for e in entries],
            "token_logprobs": [e.data[1] for e in entries],
            "top_logprobs": None,
            "text_offset": [e.data[2] for e in entries],
        }
    if not any(parts.values()):
        return None
    return {name: [e.data for e in parts.get(name, [])] for name in _CHAT_LISTS}


def release_whole(logprobs: Any, texts: dict[str, str | None], *, completions: bool) -> dict[str, Any] | None:
    """A whole answer's ``logprobs`` for the choice whose released slots are ``texts`` (slot name → the
    text released unchanged, or None when it was masked, restored or stopped)."""
    parts: dict[str, list[Entry]] = {}
    for name in ("text",) if completions else _CHAT_LISTS:
        entries = _entries(logprobs, name, completions)
        text = texts.get(name)
        if not entries or text is None:
            continue
        kept, _, _ = _aligned(entries, text, 0, len(text))
        parts[name] = kept
    return _build(completions, parts)


@dataclass(slots=True)
class _Queue:
    entries: list[Entry] = field(default_factory=list)
    text: str = ""  # the slot's text as fed to its inspector
    released: int = 0  # characters of ``text`` whose entries have left
    dead: bool = False


class StreamEchoes:
    """The ``logprobs`` of a stream under the policy: held per slot, released with their text."""

    def __init__(self, *, keep: bool, completions: bool) -> None:
        self.keep = keep
        self.completions = completions
        self._queues: dict[SlotKey, _Queue] = {}

    def _q(self, key: SlotKey) -> _Queue:
        return self._queues.setdefault(key, _Queue())

    def take(self, choice: dict[str, Any]) -> None:
        """Take a chunk choice's ``logprobs`` into the queues (the choice is left without)."""
        logprobs = choice.get("logprobs")
        if "logprobs" in choice:
            choice["logprobs"] = None
        if not self.keep or logprobs is None:
            return
        idx = choice.get("index", 0)
        for name in ("text",) if self.completions else _CHAT_LISTS:
            entries = _entries(logprobs, name, self.completions)
            q = self._q((idx, name))
            if entries is None:
                q.dead = True  # not the documented shape: nothing of it is released
            else:
                q.entries += entries

    def fed(self, key: SlotKey, text: str) -> None:
        self._q(key).text += text

    def text(self, key: SlotKey) -> str:
        """The slot's text fed so far."""
        q = self._queues.get(key)
        return q.text if q is not None else ""

    def kill(self, key: SlotKey) -> None:
        """The slot's text was changed (masked, restored): its echoes are dropped from here on."""
        q = self._q(key)
        q.dead, q.entries = True, []

    def release(self, key: SlotKey, upto: int) -> list[Entry]:
        """Entries whose text, up to character ``upto`` of the slot, has been released."""
        q = self._queues.get(key)
        if q is None or q.dead or not q.entries:
            return []
        out, pos, ok = _aligned(q.entries, q.text, q.released, upto)
        del q.entries[: len(out)]
        q.released = pos
        if not ok:
            self.kill(key)
        return out

    def attach(self, choice: dict[str, Any], released: dict[str, list[Entry]]) -> None:
        """Put released entries (slot name → entries) on an outgoing chunk choice."""
        built = _build(self.completions, released)
        if built is not None:
            choice["logprobs"] = built
