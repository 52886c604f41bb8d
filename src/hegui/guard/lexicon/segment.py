"""Word boundaries for short Chinese terms, and a word-frequency prior, from a word segmenter.

A lexicon term of two or three Chinese characters often occurs inside harmless words that only share
its characters across a word boundary: 代开 in 朝代|开始, 加扣 in 附加|扣除. The `WordBoundary` rule
asks a segmenter whether a hit's span starts and ends at word boundaries; the matcher drops hits that
cut through a word (unless the term is red-line: see `hegui.guard.lexicon.matcher`).

Only a small window around the hit is segmented (``window`` characters each side), on the *normalized*
text the automaton matched, so an evasion (违*禁*词, traditional characters, full width) is judged on
the same plain form as the plain spelling. The segmenters:

- ``rjieba`` (default): jieba-rs, the Rust port of jieba, with jieba's dictionary built in; MIT;
  about 5 MB installed, no start-up cost. Chosen by measurement (docs/guard.md).
- ``jieba``: the original pure-Python jieba (MIT, about 40 MB, 1.4 s to load its dictionary); the
  same dictionary and model, slower. Optional: install ``jieba`` to use it.

The same dictionary gives the frequency prior of ``tier_default = "auto"``: a term that is a common
word (`word_frequency` at least `COMMON_WORD_FREQUENCY`) is a topic, a rare one red-line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Literal, Protocol

SegmenterName = Literal["rjieba", "jieba", "none"]
SEGMENTERS: tuple[SegmenterName, ...] = ("rjieba", "jieba", "none")

#: Characters segmented on each side of a hit. Jieba's choices rarely reach further than one word: on
#: 15,889 short-term hits of train rows, a window of 4 decides as a window of 6 on 99.9 % of them.
DEFAULT_WINDOW = 4
#: Longest term (in characters, after normalization) that the boundary rule applies to.
MAX_SHORT_TERM = 3
#: A term whose dictionary frequency reaches this is a common word for the ``auto`` tier default.
#: jieba's dictionary counts 60 M tokens; 1,000 is roughly the 25,000 most common words.
COMMON_WORD_FREQUENCY = 1000


class Segmenter(Protocol):
    """Cuts a text into words; the words joined give the text back."""

    name: str

    def cut(self, text: str) -> list[str]: ...

    def frequency(self, word: str) -> int:
        """How often the dictionary has seen ``word`` as one word (0 when it is not a word)."""
        ...


class _Rjieba:
    name = "rjieba"

    def __init__(self) -> None:
        import rjieba

        self._cut: Callable[[str, bool], list[str]] = rjieba.cut
        self._has = rjieba.has_word
        self._suggest = rjieba.suggest_freq

    def cut(self, text: str) -> list[str]:
        # Dictionary words only (no HMM guessing of unknown words): 25 % faster, and an unknown
        # sequence stays in single characters, so a hit next to it is kept rather than dropped
        # (the two decide alike on 98.7 % of short-term hits of train rows).
        return self._cut(text, False)

    def frequency(self, word: str) -> int:
        # jieba-rs exposes no frequency lookup; for a dictionary word that cuts as itself,
        # suggest_freq is its frequency + 1 (the frequency that would make it win by one).
        if not self._has(word):
            return 0
        return max(int(self._suggest(word)) - 1, 0)


class _Jieba:
    name = "jieba"

    def __init__(self) -> None:
        try:
            jieba = importlib.import_module("jieba")
        except ImportError:
            raise ImportError(
                'segmenter "jieba" needs the jieba package: pip install jieba (or use segmenter = "rjieba")'
            ) from None
        import logging

        logging.getLogger("jieba").setLevel(logging.WARNING)  # its dictionary-loading chatter
        jieba.initialize()
        self._jieba = jieba

    def cut(self, text: str) -> list[str]:
        return list(self._jieba.cut(text, HMM=False))  # as rjieba above

    def frequency(self, word: str) -> int:
        return int(self._jieba.get_FREQ(word) or 0)


@cache
def segmenter(name: SegmenterName) -> Segmenter:
    """The named segmenter, loaded once per process (both are read-only after loading)."""
    if name == "rjieba":
        return _Rjieba()
    if name == "jieba":
        return _Jieba()
    raise ValueError(f"unknown segmenter {name!r}; expected one of {', '.join(SEGMENTERS)}")


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2EBEF


def is_short_cjk(text: str) -> bool:
    """A term the boundary rule applies to: 1 to `MAX_SHORT_TERM` characters, all CJK ideographs."""
    return 0 < len(text) <= MAX_SHORT_TERM and all(is_cjk(ch) for ch in text)


@dataclass(frozen=True, slots=True)
class WordBoundary:
    """Does a span of a (normalized) text start and end at word boundaries of the segmenter?"""

    segmenter: Segmenter
    window: int = DEFAULT_WINDOW

    def aligned(self, text: str, start: int, end: int) -> bool:
        return self.aligned_many(text, [(start, end)])[0]

    def aligned_many(self, text: str, spans: list[tuple[int, int]]) -> list[bool]:
        """`aligned` for several spans (in any order); hits whose windows overlap share one
        segmentation, since dense text has many hits close together."""
        window, size, cut = self.window, len(text), self.segmenter.cut
        out = [False] * len(spans)
        order = sorted(range(len(spans)), key=spans.__getitem__)
        i = 0
        while i < len(order):
            lo = max(0, spans[order[i]][0] - window)
            hi = min(size, spans[order[i]][1] + window)
            j = i + 1
            while j < len(order) and spans[order[j]][0] - window <= hi:
                hi = max(hi, min(size, spans[order[j]][1] + window))
                j += 1
            # The window's own edges are no evidence of a boundary, but a span touching one touches
            # the text's edge, or lies `window` characters from it, which the window then covers.
            cuts = set(accumulate(map(len, cut(text[lo:hi])), initial=lo))
            for k in order[i:j]:
                start, end = spans[k]
                out[k] = start in cuts and end in cuts
            i = j
        return out


def common_words(seg: Segmenter, threshold: int = COMMON_WORD_FREQUENCY) -> Callable[[str], bool]:
    """``is_common(term)``: the term's normalized form has at least ``threshold`` in the dictionary."""
    from hegui.text.normalize import default_normalizer

    normalizer = default_normalizer()

    def is_common(text: str) -> bool:
        return seg.frequency(normalizer.normalize(text).text) >= threshold

    return is_common
