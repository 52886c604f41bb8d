"""Normalization: one table per evasion class, and the offset map back to the original."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hegui.text import Normalizer, default_normalizer


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return default_normalizer()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width
        ("𝐁𝐨𝐥𝐝", "bold"),  # mathematical alphabet
        ("①②③", "123"),  # circled digits
        ("²", "2"),  # superscript
        ("⾔", "言"),  # Kangxi radical
    ],
)
def test_nfkc_and_full_width(norm: Normalizer, text: str, expected: str) -> None:
    assert norm.normalize(text).text == expected


@pytest.mark.parametrize(("text", "expected"), [("HeLLo", "helo"), ("ÉCOLE", "école"), ("ΚΑΦΕ", "kaφe")])
def test_case(norm: Normalizer, text: str, expected: str) -> None:
    assert norm.normalize(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("違禁詞", "违禁词"),
        ("臺灣", "台湾"),
        ("發財", "发财"),
        ("简体不变", "简体不变"),
    ],
)
def test_traditional_to_simplified(norm: Normalizer, text: str, expected: str) -> None:
    assert norm.normalize(text).text == expected


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b",
        "\u200c",
        "\u200d",
        "\u2060",
        "\ufeff",
        "\u00ad",
        "\u202e",
        "\U000e0041",
        "\ufe0f",
        "\u3164",
        "\u034f",
    ],
)
def test_invisible_characters(norm: Normalizer, invisible: str) -> None:
    assert norm.normalize(f"违{invisible}禁{invisible}词").text == "违禁词"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ѕех", "sex"),  # Cyrillic
        ("ΒΑΚΕ", "bake"),  # Greek capitals
        ("рауpal", "paypal"),  # mixed Cyrillic/Latin
        ("ᴀʙᴄ", "abc"),  # small capitals
        ("❶❷", "12"),  # dingbat digits
        ("〇", "0"),
    ],
)
def test_homoglyphs_and_digit_styles(norm: Normalizer, text: str, expected: str) -> None:
    assert norm.normalize(text).text == expected


@pytest.mark.parametrize(
    "sep", [" ", "*", ".", "-", "_", "|", "，", "。", "·", "★", "😀", "\t", "\u3000", "/"]
)
def test_separators(norm: Normalizer, sep: str) -> None:
    assert norm.normalize(sep.join("违禁词")).text == "违禁词"


@pytest.mark.parametrize(
    ("text", "expected", "runs"),
    [
        ("违违禁禁词词", "违禁词", [2, 2, 2]),
        ("违禁禁禁词", "违禁词", [1, 3, 1]),
        ("违 违禁词", "违禁词", [2, 1, 1]),
        ("abc", "abc", [1, 1, 1]),
    ],
)
def test_repeated_characters(norm: Normalizer, text: str, expected: str, runs: list[int]) -> None:
    nt = norm.normalize(text)
    assert (nt.text, [int(r) for r in nt.runs]) == (expected, runs)


@pytest.mark.parametrize(
    ("text", "start", "end", "need_first", "need_last", "span"),
    [
        ("前违*禁*词后", 1, 4, 1, 1, (1, 6)),
        ("前违违违禁词", 1, 4, 1, 1, (3, 6)),  # extra repeats outside the match are not in the span
        ("违禁词词词后", 0, 3, 1, 1, (0, 3)),
        ("违禁词词词后", 0, 3, 1, 2, (0, 4)),
        ("\u200b違\u200b禁\u200b詞", 0, 3, 1, 1, (1, 6)),
    ],
)
def test_span_maps_back_to_original(
    norm: Normalizer, text: str, start: int, end: int, need_first: int, need_last: int, span: tuple[int, int]
) -> None:
    nt = norm.normalize(text)
    assert nt.span(start, end, need_first, need_last) == span


@given(st.text(max_size=60))
def test_every_normalized_character_comes_from_one_original(text: str) -> None:
    norm = default_normalizer()
    nt = norm.normalize(text)
    assert len(nt.text) == len(nt.first) == len(nt.runs)
    for i, ch in enumerate(nt.text):
        first, last = nt.run_bounds(i)
        assert 0 <= first <= last < len(text)
        assert norm.fold(text[first]) == ch
        assert norm.fold(text[last]) == ch


def test_empty_and_only_separators(norm: Normalizer) -> None:
    assert norm.normalize("").text == ""
    assert norm.normalize(" *。\u200b").text == ""
