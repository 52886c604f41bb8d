"""Joined context: a term split across texts of one request (two parts of a message, system + user, user +
assistant, a name and its content) is caught by inspecting the texts joined.

The texts are joined with no separator. A visible separator (a space, a newline) would hide the split
from a literal deny-list, which does not skip separators; the lexicon engine drops separators anyway
(within its gap cap), so a separator would protect nothing there. False matches between unrelated texts
are kept out in three ways instead:

- only findings that cross a boundary count: a finding inside one text was already found in that text,
  with its own context;
- only refusing findings count: a mask cannot be applied to text spread over two fields;
- the lexicon's Latin word-boundary rule looks at the characters on either side, so ``bus`` + ``exam``
  does not make ``sex``; in Chinese, which has no word boundaries, a term written across the end of one
  text and the start of the next is exactly what a split looks like, and is refused.

The join runs whenever there is more than one text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hegui.guard.types import Finding, Verdict

SEPARATOR = ""


@dataclass(frozen=True, slots=True)
class Piece:
    field: str
    text: str


def crossing(run: Callable[[str], Verdict], pieces: Sequence[Piece]) -> list[tuple[str, Finding]]:
    """Refusing findings in the join of ``pieces`` that cross a boundary, each named by the fields it
    spans (``joined(messages[0].content+messages[1].content)``); spans are in the joined text."""
    pieces = [p for p in pieces if p.text]
    if len(pieces) < 2:
        return []
    starts: list[int] = []
    pos = 0
    for p in pieces:
        starts.append(pos)
        pos += len(p.text) + len(SEPARATOR)
    out: list[tuple[str, Finding]] = []
    for f in run(SEPARATOR.join(p.text for p in pieces)).findings:
        if not f.action.stops:
            continue
        spanned = [
            p.field for p, s in zip(pieces, starts, strict=True) if s < f.end and f.start < s + len(p.text)
        ]
        if len(spanned) > 1:
            out.append((f"joined({'+'.join(spanned)})", f))
    return out
