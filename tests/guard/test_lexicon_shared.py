"""The real 64,420-term sensitive-word lexicon (../shared/data): it loads, compiles and matches.

The offensive terms themselves are never printed or copied; assertions use counts and spans.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hegui.guard.lexicon import CompiledLexicon, load_lexicon
from hegui.guard.lexicon.coverage import coverage


@pytest.fixture(scope="module")
def compiled(shared_data: Path) -> CompiledLexicon:
    d = shared_data / "sensitive-word" / "src" / "main" / "resources"
    lex = load_lexicon(
        d / "sensitive_word_dict.txt",
        "plain",
        tags_file=d / "sensitive_word_tags.txt",
        allow_file=d / "sensitive_word_allow.txt",
    )
    return CompiledLexicon(lex)


def test_loads_every_term(compiled: CompiledLexicon, shared_data: Path) -> None:
    d = shared_data / "sensitive-word" / "src" / "main" / "resources"
    dict_terms = {
        t for t in (d / "sensitive_word_dict.txt").read_text(encoding="utf-8").splitlines() if t.strip()
    }
    assert len(dict_terms) == 64_420
    texts = {t.text for t in compiled.lexicon.terms}
    assert dict_terms <= texts  # plus the tag file's terms that the plain list lacks
    assert len(compiled.skipped) < 20  # entries like "b\x7f" that normalize to one character


def test_tag_counts_follow_the_tag_file(compiled: CompiledLexicon) -> None:
    counts = {r.risk: r.count for r in coverage(compiled.lexicon).rows}
    assert counts["A.1a"] == 2_029  # tag 0 (politics)
    assert counts["A.1f"] == 15_090  # tag 2 (pornography)


def test_every_term_is_found_in_a_carrier_sentence(compiled: CompiledLexicon) -> None:
    sample = [t for t in compiled.lexicon.terms if t.text not in compiled.skipped][::97]
    missed = []
    for term in sample:
        text = f"（{term.text}）"
        if not any(
            m.term == term and (m.start, m.end) == (1, 1 + len(term.text)) for m in compiled.find(text)
        ):
            missed.append(term.text)
    assert len(missed) <= len(sample) // 100, f"{len(missed)} of {len(sample)} terms not found in isolation"


def test_allow_list_from_the_source_exempts(compiled: CompiledLexicon) -> None:
    assert compiled.find("我们去路口交通站") == []
