"""Pure text tools: normalization with an offset map back to the original text, and pinyin spellings.

Nothing here decides anything or knows of checks, policies, I/O or HTTP; `hegui.guard` builds on it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hegui.text.normalize import NormalizedText, Normalizer, default_normalizer
    from hegui.text.pinyin import PinyinSpellings, spellings

# Imported on first use: numpy, OpenCC and pypinyin's phrase dictionary are heavy.
_LAZY = {
    "NormalizedText": "normalize",
    "Normalizer": "normalize",
    "default_normalizer": "normalize",
    "PinyinSpellings": "pinyin",
    "spellings": "pinyin",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = ["NormalizedText", "Normalizer", "PinyinSpellings", "default_normalizer", "spellings"]
