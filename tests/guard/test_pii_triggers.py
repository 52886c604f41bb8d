"""A recognizer's trigger only skips texts that cannot hold a match, and its anchors only narrow the scan
to windows that can: results are the same as a scan of the whole text without either."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.pii.analyzer import BUILTIN
from hegui.guard.pii.heuristics import ADDRESS
from hegui.guard.pii.recognizers import PatternRecognizer

PIECES = st.sampled_from(
    [
        "13800138000",
        "１３８００１３８０００",
        "110105199003071234",
        "a@b.cn",
        "fe80::1",
        "192.168.0.1",
        "京A12345",
        "我叫王小明",
        "姓名：李四",
        "北京市朝阳区建国路88号",
        "路",
        "号",
        "你好",
        "，",
        " ",
        "E12345678",
        "::",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=8).map("".join))
def test_triggers_change_no_result(text: str) -> None:
    for r in BUILTIN:
        assert isinstance(r, PatternRecognizer)
        assert r.trigger is not None or r.anchors, r.entity
        plain = dataclasses.replace(r, trigger=None, anchors=())
        assert r.find(text) == plain.find(text), (r.entity, text)


#: Long stretches without digits or cues between the pieces: windows that do not cover the whole text,
#: matches at window edges, and runs of digits that touch across a gap.
FILLER = st.text(alphabet="的一是在不了有和人这中大为上个国号路", max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(PIECES, FILLER, st.text(alphabet="0123456789 -.:@E", max_size=30)), max_size=12).map(
        "".join
    )
)
def test_anchor_windows_find_what_a_whole_scan_finds(text: str) -> None:
    for r in BUILTIN:
        assert isinstance(r, PatternRecognizer)
        assert r.find(text) == r.find_unwindowed(text), (r.entity, text)


def test_a_run_recognizer_scans_only_the_run_of_its_anchor() -> None:
    """An address lies in one run of its class: the window around a house number stops at the clause
    word before it and takes the one character after it (a look-ahead may read it), not 120 either side."""
    text = "我们下周在公司开会，" * 12 + "我住在北京市朝阳区建国路88号，" + "欢迎你们来玩。" * 12
    start = text.index("8号")
    lo, hi = ADDRESS._window(text, start, start + 2)
    assert text[lo:hi] == "北京市朝阳区建国路88号，"
    assert ADDRESS.find(text) == ADDRESS.find_unwindowed(text)
    assert [m.text for m in ADDRESS.find(text)] == ["北京市朝阳区建国路88号"]
