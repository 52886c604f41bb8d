"""The deny-list's ASCII fold lowers ASCII letters only and keeps the length (spans stay spans), and its
short-list search reports what its automaton would."""

from __future__ import annotations

import ahocorasick_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.denylist import _ASCII_FOLD, FIND_TERMS, DenyListCheck, _ascii_lower, leftmost_longest
from hegui.guard.types import Context


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_ascii_lower_is_the_translate_fold(text: str) -> None:
    assert _ascii_lower(text) == text.translate(_ASCII_FOLD)
    assert len(_ascii_lower(text)) == len(text)


def test_ascii_lower_keeps_what_is_not_ascii() -> None:
    for text in ("\ud800ABC\udfff", "ÀÉΣДİ ABC", "全角ＡＢＣ and ABC", "\x00A\x7fZ"):
        assert _ascii_lower(text) == text.translate(_ASCII_FOLD)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.text(alphabet="ab词禁-", min_size=1, max_size=4), min_size=1, max_size=FIND_TERMS),
    st.text(alphabet="ab词禁- ", max_size=40),
)
def test_a_short_list_finds_what_the_automaton_finds(terms: list[str], text: str) -> None:
    """The deny-list's ``str.find`` path (up to `FIND_TERMS` terms) reports the automaton's spans."""
    automaton = ahocorasick_rs.AhoCorasick(
        sorted(set(terms)), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
    )
    expected = [(start, end) for _, start, end in automaton.find_matches_as_indexes(text)]
    assert leftmost_longest(text, sorted(set(terms))) == expected


def test_a_long_list_still_uses_the_automaton() -> None:
    short = DenyListCheck("d", ["演示违禁词", "hegui-forbidden-demo"])
    long = DenyListCheck("d", [f"词{i}" for i in range(FIND_TERMS + 1)])
    text = "这里有演示违禁词，还有 HEGUI-Forbidden-Demo 和词3。"
    assert [f.evidence for f in short.inspect(text, Context())] == ["演示违禁词", "HEGUI-Forbidden-Demo"]
    assert [f.evidence for f in long.inspect(text, Context())] == ["词3"]
