"""Sentence-level judging in `StreamInspector`: checks that need the whole text but may judge it at
sentence ends (``judges_at = "sentence"``), alone and with horizon checks.

Properties, for any chunking: every released character was judged by the sentence checks first; the
released text is a prefix of the whole-text verdict's text (all of it when nothing stops); a stream
stops exactly when the whole text is refused, before the refused sentence; and the final verdict equals
the whole-text verdict for checks whose judgement of a prefix stands (monotone checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hegui.errors import CheckFailed
from hegui.guard import Action, Context, Finding, Pipeline, Stage, StreamInspector
from hegui.guard.denylist import DenyListCheck
from hegui.guard.pii import PIIAnalyzer, PIICheck, recognizers_for
from hegui.guard.pipeline import apply_masks
from hegui.guard.types import judges_at

CTX = Context(prompt="问题")


@dataclass
class SentenceJudge:
    """A monotone stand-in for an answer model: refuses at the first 坏, labels at the first 药.

    Its finding on a prefix is its finding on every longer text, so streaming must reproduce the
    whole-text verdict. It records the length of every text it judged.
    """

    name: str = "judge"
    stages: frozenset[Stage] = frozenset({Stage.OUTPUT})
    horizon: int | None = None
    version: str = "t"
    judges_at: str = "sentence"
    judged: list[int] = field(default_factory=list)

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        assert ctx.prompt == "问题"
        self.judged.append(len(text))
        found = []
        for ch, action, category in (("坏", Action.REFUSE, "A.1h"), ("药", Action.LABEL, "A.5a")):
            pos = text.find(ch)
            if pos >= 0:
                found.append(Finding(self.name, category, pos, pos + 1, ch, action, 0.9, tier="model"))
        return found


def _deny() -> DenyListCheck:
    return DenyListCheck("deny", ["违禁词", "abc"], stages=[Stage.OUTPUT])


def _pii() -> PIICheck:
    return PIICheck("pii", PIIAnalyzer(recognizers_for(["mobile"])), stages=[Stage.OUTPUT])


@dataclass
class Run:
    out: str
    stopped: bool
    inspector: StreamInspector
    judge: SentenceJudge


def _stream(chunks: Sequence[str], *extra: object, max_chars: int = 200) -> Run:
    judge = SentenceJudge()
    pipeline = Pipeline([judge, *extra], policy_version="t", sentence_max_chars=max_chars)  # type: ignore[list-item]
    insp = StreamInspector(pipeline, Stage.OUTPUT, CTX)
    out: list[str] = []
    for chunk in chunks:
        step = insp.feed(chunk)
        out.append(step.release)
        # Nothing unjudged is released: every released character was in a text the judge saw.
        assert len("".join(out)) <= max(judge.judged, default=0), (chunks, out, judge.judged)
        if step.stopped:
            return Run("".join(out), True, insp, judge)
    step = insp.finish()
    out.append(step.release)
    return Run("".join(out), step.stopped, insp, judge)


def _key(f: Finding) -> tuple[str, str, int, int, str]:
    return (f.check, f.category, f.start, f.end, f.action.value)


def _assert_sound(text: str, chunks: Sequence[str], *extra: object, max_chars: int = 200) -> None:
    assert "".join(chunks) == text
    whole_pipeline = Pipeline([SentenceJudge(), *extra], policy_version="t")  # type: ignore[list-item]
    whole = whole_pipeline.run(Stage.OUTPUT, text, CTX)
    run = _stream(chunks, *extra, max_chars=max_chars)
    assert run.stopped == whole.stops, (text, chunks, run.out)
    # A refused whole text is not masked by the pipeline; what a stream released of it was.
    masked = apply_masks(text, [f for f in whole.findings if f.action == Action.MASK], "*")
    assert masked.startswith(run.out), (text, chunks, run.out, masked)
    verdict = run.inspector.verdict()
    assert verdict.text == run.out
    assert verdict.action == whole.action
    if whole.stops:
        first_stop = min(f.start for f in whole.findings if f.action.stops)
        assert len(run.out) <= first_stop, (text, chunks, run.out)
        assert {_key(f) for f in verdict.findings if f.action.stops} <= {_key(f) for f in whole.findings}
    else:
        assert run.out == whole.text
        assert sorted(map(_key, verdict.findings)) == sorted(map(_key, whole.findings))


def _sized(text: str, sizes: list[int]) -> list[str]:
    chunks, pos, i = [], 0, 0
    while pos < len(text):
        chunks.append(text[pos : pos + sizes[i % len(sizes)]])
        pos, i = pos + sizes[i % len(sizes)], i + 1
    return chunks


# -- tables -------------------------------------------------------------------------------------


def test_a_sentence_is_released_once_judged_and_not_before() -> None:
    judge = SentenceJudge()
    insp = StreamInspector(Pipeline([judge], policy_version="t"), Stage.OUTPUT, CTX)
    assert insp.feed("第一句").release == ""
    assert insp.feed("。").release == ""  # a closing quote may still follow
    assert insp.feed("第二").release == "第一句。"
    assert judge.judged == [4]
    assert insp.feed("句").release == ""
    end = insp.finish()
    assert end.release == "第二句" and not end.stopped
    assert judge.judged == [4, 7]


def test_a_refusal_at_a_later_sentence_stops_the_stream_there() -> None:
    run = _stream(["好的。这是", "说明。坏", "事的做法。后面"])
    assert run.stopped
    assert run.out == "好的。这是说明。"  # released before the refusal: stays released
    assert run.inspector.verdict().action == Action.REFUSE
    assert [f.start for f in run.inspector.verdict().findings] == [8]


def test_horizon_checks_and_sentence_checks_hold_back_together() -> None:
    judge = SentenceJudge()
    pipeline = Pipeline([judge, _deny()], policy_version="t")
    insp = StreamInspector(pipeline, Stage.OUTPUT, CTX)
    # The sentence has ended, but the deny-list's horizon (3) holds back the last two characters.
    assert insp.feed("一句。二句。x违").release == "一句。二句。"
    assert insp.feed("禁词").release == ""
    assert insp.finish().stopped  # the match is settled at the end (nothing may extend it)
    assert insp.verdict().action == Action.REFUSE


def test_sentence_judging_needs_every_other_check_to_have_a_horizon() -> None:
    whole_text = DenyListCheck("whole", ["x"], stages=[Stage.OUTPUT])
    whole_text.horizon = None
    judge = SentenceJudge()
    insp = StreamInspector(Pipeline([judge, whole_text], policy_version="t"), Stage.OUTPUT, CTX)
    assert insp.feed("一句。二句。三").release == ""
    assert judge.judged == []  # no sentence judging while everything waits for the end anyway
    assert insp.finish().release == "一句。二句。三"
    assert judge.judged == [7]


def test_a_long_sentence_is_judged_at_the_maximum_length() -> None:
    run = _stream(["x" * 15, "y" * 10], max_chars=10)
    assert run.judge.judged == [15, 25]
    assert run.out == "x" * 15 + "y" * 10


def test_masks_inside_a_judged_sentence_are_applied() -> None:
    run = _stream(["电话13812", "345678。药", "品说明"], _pii())
    assert not run.stopped
    assert run.out == "电话138****5678。药品说明"
    assert {f.category for f in run.inspector.verdict().findings} == {"A.5a", "A.4f"}


def test_a_failing_sentence_check_fails_the_stream_closed() -> None:
    class Broken(SentenceJudge):
        def inspect(self, text: str, ctx: Context) -> list[Finding]:
            raise RuntimeError("model gone")

    insp = StreamInspector(Pipeline([Broken()], policy_version="t"), Stage.OUTPUT, CTX)
    assert insp.feed("半句").release == ""
    with pytest.raises(CheckFailed):
        insp.feed("话。下一句")


def test_judges_at_default_and_validation() -> None:
    assert judges_at(_deny()) == "end"
    assert judges_at(SentenceJudge()) == "sentence"
    with_horizon = SentenceJudge()
    with_horizon.horizon = 5
    assert judges_at(with_horizon) == "end"  # a horizon is finer than sentences
    wrong = SentenceJudge()
    wrong.judges_at = "paragraph"
    with pytest.raises(ValueError, match="judges_at"):
        judges_at(wrong)


# -- properties ---------------------------------------------------------------------------------

PARTS = st.sampled_from(
    [*"。！？；…\n.,好的说明坏药x ", "3.14", "...", "违禁词", "abc", "13812345678", "好。"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(PARTS, max_size=30), st.lists(st.integers(1, 7), min_size=1, max_size=8))
@example(["好。", "坏"], [1])
@example(["说明", "药", "。", "x"], [2])
def test_sentence_judge_alone(parts: list[str], sizes: list[int]) -> None:
    text = "".join(parts)
    for i in range(len(text) + 1):
        _assert_sound(text, [text[:i], text[i:]])
    _assert_sound(text, _sized(text, sizes))
    _assert_sound(text, _sized(text, sizes), max_chars=5)


@settings(max_examples=100, deadline=None)
@given(st.lists(PARTS, max_size=24), st.lists(st.integers(1, 7), min_size=1, max_size=8))
@example(["好。", "违禁词", "坏"], [2])
@example(["138123", "45678", "。"], [3])
def test_sentence_judge_with_horizon_checks(parts: list[str], sizes: list[int]) -> None:
    text = "".join(parts)
    for i in range(len(text) + 1):
        _assert_sound(text, [text[:i], text[i:]], _deny(), _pii())
    _assert_sound(text, _sized(text, sizes), _deny(), _pii())
    _assert_sound(text, _sized(text, sizes), _deny(), _pii(), max_chars=4)


# -- span checks only when text could go ------------------------------------------------------------


@dataclass
class Counted:
    """A horizon check that finds nothing and counts the texts it was given."""

    name: str = "counted"
    stages: frozenset[Stage] = frozenset({Stage.OUTPUT})
    horizon: int | None = 4
    version: str = "t"
    calls: list[str] = field(default_factory=list)

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        self.calls.append(text)
        return []


def test_span_checks_wait_until_a_sentence_could_be_released() -> None:
    counted = Counted()
    insp = StreamInspector(Pipeline([SentenceJudge(), counted], policy_version="t"), Stage.OUTPUT, CTX)
    for piece in ["这", "是", "第一", "句话", "。", "第二"]:
        insp.feed(piece)
    # Not once per chunk: only when 。 was seen to end a sentence (the horizon then holds back "。第二").
    assert counted.calls == ["这是第一句话。第二"]
    assert insp.finish().release == "。第二"
    assert len(counted.calls) == 2  # and at the end


def _steps(insp: StreamInspector, chunks: Sequence[str]) -> tuple[list[str], bool, list[tuple[str, ...]]]:
    """What each chunk released (the end's release last), whether the stream stopped, its findings."""
    out: list[str] = []
    for chunk in chunks:
        step = insp.feed(chunk)
        if step.stopped:
            break
        out.append(step.release)
    else:
        out.append(insp.finish().release)
    verdict = insp.verdict()
    return out, insp.stopped, sorted(_key(f) for f in verdict.findings)  # type: ignore[misc]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"好的说明。！\n", "坏", "药", "违禁词", "13812345678", "abc", "x"]), max_size=24
    ),
    st.lists(st.integers(1, 5), min_size=1, max_size=6),
)
@example(["好的", "。", "138", "1234", "5678", "。"], [2])
def test_skipping_span_checks_releases_what_running_them_every_chunk_releases(
    parts: list[str], sizes: list[int]
) -> None:
    text = "".join(parts)
    chunks = _sized(text, sizes)
    pipeline = Pipeline([SentenceJudge(), _deny(), _pii()], policy_version="t")
    skipping = _steps(StreamInspector(pipeline, Stage.OUTPUT, CTX), chunks)
    always = StreamInspector._releasable
    try:
        StreamInspector._releasable = lambda self, cut: True  # type: ignore[method-assign]
        every_chunk = _steps(StreamInspector(pipeline, Stage.OUTPUT, CTX), chunks)
    finally:
        StreamInspector._releasable = always  # type: ignore[method-assign]
    released, stopped, findings = skipping
    ref_released, ref_stopped, ref_findings = every_chunk
    assert stopped == ref_stopped and "".join(released) == "".join(ref_released), (
        chunks,
        skipping,
        every_chunk,
    )
    if not stopped:  # chunk by chunk the same text went out (a stop may come a chunk later when skipped)
        assert released == ref_released and findings == ref_findings, (chunks, skipping, every_chunk)


# -- refusals that settle only with a longer prefix (settles_at) -------------------------------------------


@dataclass
class Hesitant:
    """Refuses any text that contains 坏 but no 不 (a refusal's "不能" clears it), the way an answer model
    reads a refusal's opening sentence as help about its topic; settles from ``settles_at`` characters."""

    settles_at: int = 20
    name: str = "hesitant"
    stages: frozenset[Stage] = frozenset({Stage.OUTPUT})
    horizon: int | None = None
    version: str = "t"
    judges_at: str = "sentence"
    judged: list[str] = field(default_factory=list)

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        self.judged.append(text)
        if "坏" in text and "不" not in text:
            return [Finding(self.name, "A.1h", 0, len(text), text, Action.REFUSE, 0.9, tier="model")]
        return []


def _feed_all(insp: StreamInspector, chunks: Sequence[str]) -> tuple[str, bool]:
    released, stopped, _ = _steps(insp, chunks)
    return "".join(released), stopped


def test_an_unsettled_refusal_holds_the_stream_until_more_of_the_answer_clears_it() -> None:
    judge = Hesitant()
    insp = StreamInspector(Pipeline([judge], policy_version="t"), Stage.OUTPUT, CTX)
    assert insp.feed("关于坏事。").release == ""  # a sentence end is certain only once the next char comes
    step = insp.feed("我")
    assert (step.release, step.stopped) == ("", False)  # refused at 5 characters (< 20): held, not stopped
    assert judge.judged == ["关于坏事。"]
    assert insp.feed("不能帮助").release == ""  # no new sentence end: not judged again
    assert judge.judged == ["关于坏事。"]
    step = insp.feed("。好")
    assert (step.release, step.stopped) == ("关于坏事。我不能帮助。", False)  # the longer prefix is cleared
    assert _feed_all(insp, ["的"]) == ("好的", False)


def test_a_refusal_that_stays_stops_the_stream_once_settled_and_nothing_leaves() -> None:
    insp = StreamInspector(Pipeline([Hesitant(settles_at=12)], policy_version="t"), Stage.OUTPUT, CTX)
    out, stopped = _feed_all(insp, ["做坏事。", "第一步。", "第二步。", "第三步。", "第四步。"])
    assert (out, stopped) == ("", True)
    assert insp.verdict().action == Action.REFUSE


def test_a_short_answer_refused_only_as_a_prefix_is_judged_whole_at_the_end() -> None:
    insp = StreamInspector(Pipeline([Hesitant(settles_at=100)], policy_version="t"), Stage.OUTPUT, CTX)
    assert _feed_all(insp, ["坏人的事。", "我不谈。"]) == ("坏人的事。我不谈。", False)
    insp = StreamInspector(Pipeline([Hesitant(settles_at=100)], policy_version="t"), Stage.OUTPUT, CTX)
    assert _feed_all(insp, ["坏人的事。", "就这样。"]) == ("", True)  # the whole text is refused


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from([*"好的说明。！\n", "坏", "不", "违禁词", "13812345678", "x"]), max_size=24),
    st.lists(st.integers(1, 5), min_size=1, max_size=6),
    st.integers(0, 30),
)
@example(["坏", "。", "不", "。", "好"], [1], 30)
@example(["坏", "。", "不"], [1], 0)
def test_held_refusals_release_only_text_judged_clear_and_end_as_the_whole_text(
    parts: list[str], sizes: list[int], settles_at: int
) -> None:
    text = "".join(parts)
    judge = Hesitant(settles_at=settles_at)
    pipeline = Pipeline([judge, _deny(), _pii()], policy_version="t")
    out, stopped = _feed_all(StreamInspector(pipeline, Stage.OUTPUT, CTX), _sized(text, sizes))
    judged = list(judge.judged)
    whole = pipeline.run(Stage.OUTPUT, text, CTX)
    # Every released character lies in a prefix the judge cleared (it refuses nothing it saw there).
    cleared = [t for t in judged if not ("坏" in t and "不" not in t)]
    assert len(out) <= max(map(len, cleared), default=0), (text, out, judged)
    # A refusal of a prefix at least `settles_at` long stands: it stops the stream even when the whole
    # text would have been answered (the trade-off of judging at sentence ends, module doc of stream.py).
    settled = [t for t in judged if "坏" in t and "不" not in t and settles_at <= len(t) < len(text)]
    if whole.stops or settled:
        assert stopped, (text, out, judged)
    else:
        assert not stopped and out == whole.text, (text, out, judged)
