"""Pure text tools: normalization with an offset map back to the original text, and pinyin spellings.

Nothing here decides anything or knows of checks, policies, I/O or HTTP; `hegui.guard` builds on it.
"""

from __future__ import annotations

from hegui.text.normalize import NormalizedText, Normalizer, default_normalizer
from hegui.text.pinyin import PinyinSpellings, spellings

__all__ = ["NormalizedText", "Normalizer", "PinyinSpellings", "default_normalizer", "spellings"]
