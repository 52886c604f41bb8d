"""Pinyin spellings of a term, for matching terms written in pinyin or pinyin initials.

``falungong`` and ``flg`` are how a Chinese term is written to slip past a character match. Only terms
a lexicon flags for it get these spellings: pinyin initials of a two-character term are two Latin
letters, which would hit ordinary words everywhere (the matcher also requires word boundaries around
Latin spellings). Heteronyms give one spelling each (pypinyin's most frequent reading).

This module must never be used to decide anything on its own; it only proposes spellings.
"""

from __future__ import annotations

from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin


@dataclass(frozen=True, slots=True)
class PinyinSpellings:
    full: str
    initials: str


def _is_han(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff" or "\U00020000" <= c <= "\U0003134f"


def spellings(term: str) -> PinyinSpellings | None:
    """Full pinyin (no tones, no spaces) and initials of ``term``; None when it holds no Chinese."""
    if not any(_is_han(c) for c in term):
        return None
    full = lazy_pinyin(term, style=Style.NORMAL, errors="default")
    initials = lazy_pinyin(term, style=Style.FIRST_LETTER, errors="default")
    return PinyinSpellings("".join(full).lower(), "".join(initials).lower())
