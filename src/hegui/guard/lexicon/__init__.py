"""The lexicon engine: lexicon files → an evasion-resistant compiled matcher → the `lexicon` check.

    model     Term, Lexicon (immutable, version hash), the default tag → risk map
    sources   reading plain / tags / CSV / XLSX lexicons, writing the filing table
    matcher   CompiledLexicon: normalization + Aho–Corasick + match rules, spans in the original
    check     LexiconCheck (the Check protocol) and ReloadableLexicon (atomic swap on reload)
    coverage  counts per risk against the GB/T 45654 keyword-library minimums
    calibrate per-term action overrides proposed from a labelled corpus (safe / unsafe rows)
    overrides the reviewed overrides file (CSV): read, write, apply to a Lexicon

Pure: reads files only when asked to load one; no HTTP, no database.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hegui.guard.lexicon.check import LexiconCheck, ReloadableLexicon
    from hegui.guard.lexicon.matcher import CompiledLexicon, LexiconMatch
    from hegui.guard.lexicon.model import DEFAULT_TAG_MAP, Lexicon, Term
    from hegui.guard.lexicon.sources import FORMATS, load_lexicon, write_table

# Imported on first use: the matcher pulls in numpy, OpenCC and pypinyin (about 70 MB), which a
# gateway whose policy has no lexicon check should not pay for.
_LAZY = {
    "LexiconCheck": "check",
    "ReloadableLexicon": "check",
    "CompiledLexicon": "matcher",
    "LexiconMatch": "matcher",
    "DEFAULT_TAG_MAP": "model",
    "Lexicon": "model",
    "Term": "model",
    "FORMATS": "sources",
    "load_lexicon": "sources",
    "write_table": "sources",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DEFAULT_TAG_MAP",
    "FORMATS",
    "CompiledLexicon",
    "Lexicon",
    "LexiconCheck",
    "LexiconMatch",
    "ReloadableLexicon",
    "Term",
    "load_lexicon",
    "write_table",
]
