"""PII recognizers whose matches lie inside one run of a character class (`PatternRecognizer.run`), and
what the stream inspector makes of it: it holds back and rescans that run, not ``max_span`` characters.

The e-mail recognizer spans up to 256 characters; before the runs, every streamed answer through the
bundled policy was held back 255 characters (its first character reached the user once 256 had been
written). These tests hold the classes to the patterns, the streamed masks to the whole text's, and the
hold-back to what is needed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hegui.guard import Action, Context, Pipeline, Stage, StreamInspector
from hegui.guard.pii import PIIAnalyzer, PIICheck, recognizers_for
from hegui.guard.pii.analyzer import BUILTIN
from hegui.guard.pii.recognizers import PatternRecognizer
from hegui.guard.pipeline import apply_masks
from hegui.pipelines import build_pipeline
from hegui.policy import bundled_policy_text, parse_policy

CTX = Context()
RUNS = [r for r in BUILTIN if isinstance(r, PatternRecognizer) and r.run is not None]
PII = PIICheck(
    "pii",
    PIIAnalyzer(recognizers_for(["email", "address", "ipv6", "mobile", "bank_card", "person_name"])),
    stages=[Stage.OUTPUT],
)
PIPELINE = Pipeline([PII], policy_version="t")

#: Pieces that make e-mail addresses, IPv6 addresses, postal addresses, phone numbers and names, the
#: characters that end their runs, and long runs of each class.
PARTS = st.sampled_from(
    [
        *"a.b-_@%+:0123 ，。的在\n",
        "zhang.san@example.com",
        "x@y.cn",
        "@mail.example.org",
        "fe80::1",
        "2001:db8::8a2e:370:7334",
        "北京市海淀区中关村大街27号",
        "上海市浦东新区世纪大道100号3号楼1201室",
        "路",
        "号",
        "13812345678",
        "4111 1111 1111 1111",
        "我叫王小明",
        "a" * 70,
        "中关村" * 15,
    ]
)


def test_the_runs_are_the_ones_documented() -> None:
    assert sorted(r.entity for r in RUNS) == ["address", "email", "ipv6"]
    # The others bound what every stream holds back: the longest of them, minus one.
    assert PIIAnalyzer().short_span == max(r.max_span for r in BUILTIN if getattr(r, "run", None) is None)
    assert PIIAnalyzer().short_span < 30


@settings(max_examples=200, deadline=None)
@given(st.lists(PARTS, max_size=12))
def test_every_match_of_a_run_recognizer_lies_in_its_class(parts: list[str]) -> None:
    text = "".join(parts)
    for r in RUNS:
        assert r.run is not None
        for m in r.find_unwindowed(text):
            assert all(r.run.fullmatch(ch) for ch in text[m.start : m.end]), (r.entity, m.text)


def _stream(pipeline: Pipeline, chunks: Sequence[str]) -> str:
    inspector = StreamInspector(pipeline, Stage.OUTPUT, CTX)
    out = [inspector.feed(chunk).release for chunk in chunks]
    out.append(inspector.finish().release)
    return "".join(out)


def _sized(text: str, sizes: list[int]) -> list[str]:
    chunks, pos, i = [], 0, 0
    while pos < len(text):
        chunks.append(text[pos : pos + sizes[i % len(sizes)]])
        pos, i = pos + sizes[i % len(sizes)], i + 1
    return chunks


def _masked(text: str) -> str:
    whole = PIPELINE.run(Stage.OUTPUT, text, CTX)
    return apply_masks(text, [f for f in whole.findings if f.action == Action.MASK], PIPELINE.mask_char)


@settings(max_examples=150, deadline=None)
@given(st.lists(PARTS, max_size=14), st.lists(st.integers(1, 9), min_size=1, max_size=6))
@example(["zhang.san@example.com", "，"], [3])
@example(["a" * 70, "x@y.cn"], [1])
@example(["中关村" * 15, "北京市海淀区中关村大街27号"], [2])
@example(["fe80::1", " "], [1])
def test_streamed_masks_are_the_whole_texts(parts: list[str], sizes: list[int]) -> None:
    text = "".join(parts)
    expected = _masked(text)
    assert _stream(PIPELINE, _sized(text, sizes)) == expected
    for i in range(0, len(text) + 1, max(1, len(text) // 12)):
        assert _stream(PIPELINE, [text[:i], text[i:]]) == expected, i


def _released_while_fed(pipeline: Pipeline, text: str) -> list[int]:
    """After each character: how many characters had been released."""
    inspector = StreamInspector(pipeline, Stage.OUTPUT, Context(prompt="问题"))
    released, out = 0, []
    for ch in text:
        released += len(inspector.feed(ch).release)
        out.append(released)
    return out


def test_the_bundled_output_stage_holds_back_tens_of_characters_not_hundreds() -> None:
    pipeline = build_pipeline(parse_policy(bundled_policy_text(), "bundled"))
    prose = "今天天气很好，我们去公园散步吧。" * 20
    released = _released_while_fed(pipeline, prose)
    first = next(i for i, n in enumerate(released) if n)
    assert first < PIIAnalyzer().short_span + 4  # was 255: the e-mail recognizer's whole span
    # Behind the writer by the hold-back, the sentence being written (16 characters) and the release step.
    assert released[-1] >= len(prose) - PIIAnalyzer().short_span - 16 - pipeline.release_step


def test_an_address_being_written_is_held_until_its_run_ends() -> None:
    text = "请把发票寄给联系人，邮箱是 zhang.san.longname@example-company.com ，谢谢您的配合与支持。"
    at = text.index("zhang")
    end = text.index(" ，")
    released = _released_while_fed(PIPELINE, text)
    # While the address is being written nothing of it is released, however far it has got ...
    assert all(n <= at for n in released[at:end])
    # ... and the finished stream masks it as the whole text does.
    assert _stream(PIPELINE, list(text)) == _masked(text)
    assert "zhang.san" not in _masked(text)


class _Broken(PIICheck):
    def holdback_at(self, text: str) -> int:
        raise RuntimeError("boom")


def test_a_check_whose_narrowing_fails_gets_its_whole_horizon(caplog: pytest.LogCaptureFixture) -> None:
    broken = _Broken("pii", PIIAnalyzer(recognizers_for(["email", "mobile"])), stages=[Stage.OUTPUT])
    pipeline = Pipeline([broken], policy_version="t")
    prose = "今天天气很好，我们去公园散步吧。" * 20
    with caplog.at_level(logging.WARNING, logger="hegui.guard.stream"):
        released = _released_while_fed(pipeline, prose)
    assert next(i for i, n in enumerate(released) if n) == broken.horizon - 1
    assert any("holdback_at failed" in r.getMessage() for r in caplog.records)


def test_a_run_must_be_one_character_class() -> None:
    bad = PatternRecognizer("x", "x", "X", re.compile("x+"), max_span=5, run=re.compile("ab"))
    with pytest.raises(ValueError, match="character class"):
        PIIAnalyzer([bad])


def test_a_candidate_at_the_end_holds_back_the_one_it_hides() -> None:
    analyzer = PIIAnalyzer(recognizers_for(["mobile", "resident_id", "bank_card"]))
    prefix = "号码138 1234 5678 110101199003071"  # the card candidate hides the spaced mobile, for now
    assert [m.entity for m in analyzer.analyze(prefix)] == ["bank_card"]
    assert [m.entity for m in analyzer.analyze(prefix + "233")] == ["mobile", "resident_id"]
    assert analyzer.holdback_at(prefix) == len(prefix) - prefix.index("138")
    assert analyzer.holdback_at("号码是多少呢，请你告诉我吧") == analyzer.short_span - 1  # nothing to hide
    assert analyzer.horizon == analyzer.max_span + analyzer.short_span
