"""Two bytes per character: the lexicon's search alphabet.

The automaton steps once per byte of the text it reads. Searched as a Python string, a Chinese text is
read in UTF-8, three bytes per character, and ahocorasick-rs maps every byte offset it reports back to
a character offset. A lexicon's patterns use a few thousand distinct characters (4,051 in the 64k
sensitive-word list), so every character can be written in two bytes instead: the patterns' characters
are numbered 1 … n (n < 2^14), a character no pattern holds is 0, and number ``i`` is written as the
bytes ``0x80 | i >> 7`` and ``i & 0x7F``. The first byte of a character is always ≥ 0x80 and the second
always < 0x80, so the code synchronizes itself: a pattern begins with a first byte, so it can only match
where a character begins, and a match found in the bytes is exactly a match in the characters, at half
its byte offsets. Measured on 478 dev prompts of 2,000 characters with the 64k list: 72 µs per search
plus 17 µs to encode, against 153 µs for the string search (benchmarks/RESULTS.md, input_stage_long).

A lexicon whose patterns hold 2^14 or more distinct characters is searched as a string
(`PairAutomaton.of` returns None).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick_rs
import numpy as np
import numpy.typing as npt

from hegui.text.normalize import Codes, code_points

#: Characters a two-byte code can number (0 stands for every character no pattern holds).
LIMIT = 1 << 14


@dataclass(frozen=True, slots=True)
class PairCode:
    """The two-byte code of one set of patterns' characters."""

    #: Code point → its two bytes as a little-endian 16-bit value; the last entry is a character no
    #: pattern holds (code points beyond the table are clipped to it).
    table: npt.NDArray[np.uint16]

    @classmethod
    def of(cls, patterns: Sequence[str]) -> PairCode | None:
        chars = sorted({c for p in patterns for c in p})
        if len(chars) >= LIMIT:
            return None
        table = np.full(ord(chars[-1]) + 2, 0x80, dtype="<u2")
        for number, char in enumerate(chars, 1):
            table[ord(char)] = (0x80 | number >> 7) | (number & 0x7F) << 8
        return cls(table)

    def encode(self, codes: Codes) -> bytes:
        """The bytes of a text given as code points (`NormalizedText.codes`)."""
        table = self.table
        return bytes(table.take(np.minimum(codes, len(table) - 1)).data)

    def encode_text(self, text: str) -> bytes:
        return self.encode(code_points(text))


class PairAutomaton:
    """An Aho–Corasick automaton over patterns in their two-byte code; it reports character offsets."""

    def __init__(self, code: PairCode, patterns: Sequence[str]) -> None:
        self.code = code
        joined = code.encode_text("".join(patterns))
        ends = itertools.accumulate(2 * len(p) for p in patterns)
        self._automaton = ahocorasick_rs.BytesAhoCorasick(
            [joined[end - 2 * len(p) : end] for p, end in zip(patterns, ends, strict=True)],
            matchkind=ahocorasick_rs.MatchKind.Standard,
        )

    @classmethod
    def of(cls, patterns: Sequence[str]) -> PairAutomaton | None:
        code = PairCode.of(patterns)
        return None if code is None else cls(code, patterns)

    def find_overlapping(self, codes: Codes) -> list[tuple[int, int, int]]:
        """Every occurrence (pattern index, start, end) in a text given as code points, as
        ``AhoCorasick.find_matches_as_indexes(text, overlapping=True)`` reports them in the text."""
        found = self._automaton.find_matches_as_indexes(self.code.encode(codes), overlapping=True)
        return [(pattern, start >> 1, end >> 1) for pattern, start, end in found]
