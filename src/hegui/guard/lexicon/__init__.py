"""The lexicon engine: lexicon files → an evasion-resistant compiled matcher → the `lexicon` check.

    model     Term, Lexicon (immutable, version hash), the default tag → risk map
    sources   reading plain / tags / CSV / XLSX lexicons, writing the filing table
    matcher   CompiledLexicon: normalization + Aho–Corasick + match rules, spans in the original
    check     LexiconCheck (the Check protocol) and ReloadableLexicon (atomic swap on reload)
    coverage  counts per risk against the GB/T 45654 keyword-library minimums

Pure: reads files only when asked to load one; no HTTP, no database.
"""

from __future__ import annotations

from hegui.guard.lexicon.check import LexiconCheck, ReloadableLexicon
from hegui.guard.lexicon.matcher import CompiledLexicon, LexiconMatch
from hegui.guard.lexicon.model import DEFAULT_TAG_MAP, Lexicon, Term
from hegui.guard.lexicon.sources import FORMATS, load_lexicon, write_table

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
