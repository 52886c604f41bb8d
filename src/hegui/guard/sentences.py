"""Where a sentence ends in a growing stream of Chinese or English text.

The stream inspector judges sentence-level checks (answer models, guard LLMs) on the text up to the last
sentence end, so it needs the last position at which a sentence is *certainly* over, given only the
characters received so far. The rules:

- 。！？；!?; and a newline end a sentence, as do ！？ runs and closing quotes or brackets after them
  (``他说：“好。”`` ends after ``”``). A terminator at the very end of the received text ends its
  sentence only when nothing can be appended to it: a closing quote or a second terminator may still
  come, so the end is taken once the next character is seen, or when the stream ends.
- … and …… end a sentence once a character other than … follows.
- ``.`` ends a sentence only when whitespace follows (``3.14``, ``e.g.x``, ``v1.2`` do not; ``...``
  ends at its last dot when a space follows). ``Dr. Li`` is cut after ``Dr.``: a cut in the wrong
  place only makes a judgement see a shorter prefix, never releases unjudged text.
- A sentence longer than ``max_chars`` is cut anyway at the received end, so that a text without
  punctuation (code, a list without stops) is not held back until the stream ends.

Where the cut falls never decides what is released unjudged: every released character has been judged.
It decides what the judge sees and how often it runs.
"""

from __future__ import annotations

#: Characters that end a sentence on their own.
TERMINATORS = frozenset("。！？；!?;\n…")
#: Characters that may follow a terminator and still belong to its sentence.
CLOSERS = frozenset("”’」』）)】》\"'")


def _extends(ch: str) -> bool:
    return ch in TERMINATORS or ch in CLOSERS or ch == "."


def last_sentence_end(text: str, start: int, *, final: bool = False, max_chars: int = 200) -> int:
    """The last position ``p > start`` where a sentence of ``text`` certainly ends, else ``start``.

    ``text[start:p]`` is then one or more whole sentences. With ``final`` the end of the text is a
    sentence end. When ``max_chars`` or more characters follow the last sentence end (or ``start``), the
    received end is returned (a forced cut).
    """
    end = len(text)
    if final:
        return end if end > start else start
    found = start
    i = start
    while i < end:
        ch = text[i]
        if ch in TERMINATORS or (ch == "." and i + 1 < end and text[i + 1].isspace()):
            j = i + 1
            while j < end and _extends(text[j]):
                j += 1
            if j < end:  # a character that cannot belong to this sentence was seen: it is over
                found = j
            i = j
            continue
        i += 1
    if end - found >= max_chars:
        return end
    return found
