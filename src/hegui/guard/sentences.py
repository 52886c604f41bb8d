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

import re

#: Characters that end a sentence on their own.
TERMINATORS = "。！？；!?;\n…"
#: Characters that may follow a terminator and still belong to its sentence.
CLOSERS = "”’」』）)】》\"'"

_RUN = re.escape(TERMINATORS + CLOSERS + ".")
#: A terminator (or a dot before whitespace), the run of terminators and closers after it, and then a
#: character that cannot belong to the run: only that character proves the sentence is over.
_END = re.compile(rf"(?:[{re.escape(TERMINATORS)}]|\.(?=\s))[{_RUN}]*(?=[^{_RUN}])")


def last_sentence_end(text: str, start: int, *, final: bool = False, max_chars: int = 200) -> int:
    """The last position ``p > start`` where a sentence of ``text`` certainly ends, else ``start``.

    ``text[start:p]`` is then one or more whole sentences. With ``final`` the end of the text is a
    sentence end. When ``max_chars`` or more characters follow the last sentence end (or ``start``), the
    received end is returned (a forced cut).
    """
    end = len(text)
    if final:
        return max(end, start)
    found = start
    for match in _END.finditer(text, start):
        found = match.end()
    if end - found >= max_chars:
        return end
    return found
