"""Sentence ends in a growing text: where `last_sentence_end` cuts, and where it must wait."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hegui.guard.sentences import last_sentence_end


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("", 0),
        ("没有句号的半句话", 0),
        ("第一句。第二", 4),
        ("第一句。", 0),  # a closing quote or a second 。 may still come
        ("第一句。第二句！第三", 8),
        ("真的吗？！好", 5),
        ("他说：“好。”然后", 7),
        ("他说：“好。”", 0),
        ("列表\n下一行", 3),
        ("空行\n\n下一段", 4),
        ("等一下……然后", 5),
        ("等一下…", 0),
        ("等一下……", 0),
        ("分号；然后", 3),
        ("Hello. World", 6),
        ("Hello.World", 0),
        ("Hello.", 0),
        ("pi is 3.14 and", 0),
        ("pi is 3.14. Next", 11),
        ("Wait... what", 7),
        ("Wait...what", 0),
        ("Really?! Yes", 8),
        ("Stop! Go", 5),
        ("版本v1.2发布了", 0),
        ("价格是3.", 0),
    ],
)
def test_cuts_only_where_a_sentence_has_certainly_ended(text: str, cut: int) -> None:
    assert last_sentence_end(text, 0) == cut


def test_the_end_of_the_stream_ends_the_last_sentence() -> None:
    assert last_sentence_end("半句话", 0, final=True) == 3
    assert last_sentence_end("第一句。", 0, final=True) == 4
    assert last_sentence_end("第一句。", 4, final=True) == 4


def test_search_starts_after_the_judged_part() -> None:
    text = "一。二。三"
    assert last_sentence_end(text, 0) == 4
    assert last_sentence_end(text, 4) == 4
    assert last_sentence_end(text, 2) == 4


@pytest.mark.parametrize(
    ("text", "max_chars", "cut"),
    [
        ("x" * 199, 200, 0),
        ("x" * 200, 200, 200),
        ("短句。" + "x" * 10, 10, 13),  # ten characters since the last sentence end: cut anyway
        ("短句。" + "x" * 9, 10, 3),
    ],
)
def test_a_long_sentence_is_cut_anyway(text: str, max_chars: int, cut: int) -> None:
    assert last_sentence_end(text, 0, max_chars=max_chars) == cut


PIECES = st.sampled_from([*"。！？；…!?;.\n ”）3a好", "...", "3.14", "……"])


@given(st.lists(PIECES, max_size=30), st.integers(0, 60))
def test_a_cut_in_a_prefix_is_a_cut_in_every_longer_text(parts: list[str], n: int) -> None:
    """What was judged as whole sentences stays whole sentences whatever comes after it."""
    text = "".join(parts)
    prefix = text[: min(n, len(text))]
    cut = last_sentence_end(prefix, 0, max_chars=10**6)
    if cut == 0:
        return
    assert cut < len(prefix)  # the character after the cut was seen
    # Judged from the same start, the whole text has a sentence end at ``cut`` (the last end of
    # text[:cut + 1] is cut: nothing before it may swallow it).
    assert last_sentence_end(text[: cut + 1], 0, max_chars=10**6) == cut


def _reference(text: str, start: int) -> int:
    """The rules of the module docstring, spelled out one character at a time."""
    terminators, closers = set("。！？；!?;\n…"), set("”’」』）)】》\"'")
    found, i = start, start
    while i < len(text):
        if text[i] in terminators or (text[i] == "." and i + 1 < len(text) and text[i + 1].isspace()):
            j = i + 1
            while j < len(text) and (text[j] in terminators or text[j] in closers or text[j] == "."):
                j += 1
            if j < len(text):
                found = j
            i = j
        else:
            i += 1
    return found


@given(st.lists(PIECES, max_size=30), st.integers(0, 20))
def test_the_scanner_follows_the_rules(parts: list[str], start: int) -> None:
    text = "".join(parts)
    start = min(start, len(text))
    assert last_sentence_end(text, start, max_chars=10**6) == _reference(text, start)
