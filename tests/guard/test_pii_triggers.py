"""A recognizer's trigger only skips texts that cannot hold a match: results are the same without it."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.pii.analyzer import BUILTIN
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
        assert r.trigger is not None, r.entity
        assert r.find(text) == dataclasses.replace(r, trigger=None).find(text), (r.entity, text)
