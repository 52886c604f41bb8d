"""Pinyin spellings of terms."""

from __future__ import annotations

import pytest

from hegui.text import spellings


@pytest.mark.parametrize(
    ("term", "full", "initials"),
    [
        ("违禁词", "weijinci", "wjc"),
        ("发财", "facai", "fc"),
        ("QQ群", "qqqun", "qqq"),
    ],
)
def test_spellings(term: str, full: str, initials: str) -> None:
    sp = spellings(term)
    assert sp is not None
    assert (sp.full, sp.initials) == (full, initials)


@pytest.mark.parametrize("term", ["hello", "123", ""])
def test_no_chinese_no_spelling(term: str) -> None:
    assert spellings(term) is None
