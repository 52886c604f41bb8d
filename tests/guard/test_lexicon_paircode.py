"""The two-byte search alphabet finds what a search of the strings finds."""

from __future__ import annotations

import ahocorasick_rs
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.lexicon.paircode import LIMIT, PairAutomaton, PairCode

#: Pattern characters from several scripts and planes (CJK, an astral ideograph, Latin, a digit), and
#: text characters that no pattern holds, the highest code point among them.
PATTERN_CHARS = "毒品代开发票ab7𠀀"
OTHER_CHARS = "的是xyz9\U0010ffff\x00 "


def codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.text(st.sampled_from(PATTERN_CHARS), min_size=1, max_size=4), min_size=1, max_size=8),
    st.text(st.sampled_from(PATTERN_CHARS + OTHER_CHARS), max_size=40),
)
def test_the_pair_code_finds_what_the_string_search_finds(patterns: list[str], text: str) -> None:
    patterns = list(dict.fromkeys(patterns))
    paired = PairAutomaton.of(patterns)
    assert paired is not None
    strings = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
    expected = sorted(strings.find_matches_as_indexes(text, overlapping=True))
    assert sorted(paired.find_overlapping(codes(text))) == expected


def test_each_character_is_two_bytes_whose_first_alone_is_high() -> None:
    code = PairCode.of(["毒品", "ab"])
    assert code is not None
    encoded = code.encode_text("毒的ab")
    assert len(encoded) == 8
    assert [b >= 0x80 for b in encoded] == [True, False] * 4
    assert encoded[2:4] == code.encode_text("是")  # every character no pattern holds is one code


def test_a_lone_surrogate_is_a_character_no_pattern_holds() -> None:
    """A string search cannot read it (UTF-8 has no lone surrogates); the code reads it as any other."""
    paired = PairAutomaton.of(["毒品"])
    assert paired is not None
    assert paired.find_overlapping(codes("\ud800毒品\udfff")) == [(0, 1, 3)]


def test_too_many_distinct_characters_fall_back_to_strings() -> None:
    many = [chr(0x4E00 + i) for i in range(LIMIT)]
    assert PairCode.of(many) is None
    assert PairCode.of(many[:-1]) is not None
