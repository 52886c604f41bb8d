"""The lexicon check under the StreamInspector: no released text completes a match.

Texts are drawn from term characters, separators, invisible and look-alike characters, so evasions
straddle chunk boundaries; each text is fed in every split of the drawn chunk sizes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.lexicon import Lexicon, LexiconCheck, ReloadableLexicon, Term
from hegui.guard.lexicon.model import Tier
from hegui.guard.lexicon.segment import WordBoundary, segmenter
from hegui.guard.pipeline import Pipeline
from hegui.guard.stream import StreamInspector
from hegui.guard.types import Context, NarrowsHorizon, Stage, narrows_horizon

CHECK = LexiconCheck(
    "kw",
    ReloadableLexicon.fixed(Lexicon.build([Term("违禁词", ("A.1h",)), Term("bad", ("A.1f",))], ["违禁词典"])),
    stages=(Stage.OUTPUT,),
)
PIPELINE = Pipeline([CHECK], policy_version="t")
ALPHABET = st.sampled_from([*"违禁词典違詞 *。\u200bbadxａ好", "bad", "违禁词"])


def _streamed(pipeline: Pipeline, text: str, sizes: list[int]) -> tuple[str, StreamInspector]:
    """The text fed in chunks of the given sizes (in turn) until it ends or is stopped: what was released."""
    inspector = StreamInspector(pipeline, Stage.OUTPUT, Context())
    released, pos, i = [], 0, 0
    while pos < len(text) and not inspector.stopped:
        size = sizes[i % len(sizes)]
        released.append(inspector.feed(text[pos : pos + size]).release)
        pos, i = pos + size, i + 1
    released.append(inspector.finish().release)  # nothing more once stopped
    return "".join(released), inspector


@settings(max_examples=150, deadline=None)
@given(st.lists(ALPHABET, max_size=40), st.lists(st.integers(1, 7), min_size=1, max_size=10))
def test_released_text_never_completes_a_match(parts: list[str], sizes: list[int]) -> None:
    text = "".join(parts)
    whole = CHECK.inspect(text, Context())
    out, _ = _streamed(PIPELINE, text, sizes)
    for f in whole:
        assert not (f.end <= len(out) and out[f.start : f.end] == text[f.start : f.end]), (text, f, out)
    if not whole:
        assert out == text


# --- the hold-back narrowed to the open tail (`CompiledLexicon.holdback_at`) ---------------------------

LONG = "这是一个非常长的违禁短语用于测试流式检查的保留长度"
WIDE = LexiconCheck(
    "kw",
    ReloadableLexicon.fixed(
        Lexicon.build(
            [
                Term("违禁词", ("A.1h",)),
                Term("bad", ("A.1f",)),
                Term("666", ("A.1f",)),
                Term(LONG, ("A.1h",)),
                Term("长的违禁", ("A.1h",)),
                Term("代开", ("A.1h",), tier=Tier.TOPIC),
                Term("发票", ("A.1h",), tier=Tier.TOPIC),
            ],
            ["违禁词典", "Essex"],
        ),
        boundary=WordBoundary(segmenter("rjieba")),
    ),
    stages=(Stage.OUTPUT,),
)
WIDE_PARTS = st.sampled_from(
    [
        *"违禁词典違 *。\u200bbadxａ好6长的",
        "bad",
        "违禁词",
        "6666",
        LONG,
        LONG[:20],
        LONG[5:],
        "朝代开始",
        "代开发票",
        "Essex",
        "这 是 一 个 非 常 长 的 违 禁",
        "好" * 40,
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(WIDE_PARTS, max_size=16),
    st.lists(st.integers(1, 9), min_size=1, max_size=5),
    st.sampled_from([1, 4]),
)
def test_a_narrowed_hold_back_releases_what_the_whole_text_allows(
    parts: list[str], sizes: list[int], step: int
) -> None:
    """Refused iff the whole text is, nothing from the first refused occurrence on is released, and an
    unrefused text is released whole: long terms, evasions, Latin boundaries, allow-listed words and the
    word-boundary rule, with the hold-back and rescans narrowed to the open tail."""
    pipeline = Pipeline([WIDE], policy_version="t", release_step=step)
    text = "".join(parts)
    whole = pipeline.run(Stage.OUTPUT, text, Context())
    out, inspector = _streamed(pipeline, text, sizes)
    stops = [f for f in whole.findings if f.action.stops]
    assert inspector.stopped == bool(stops), (text, out)
    if stops:
        assert len(out) <= min(f.start for f in stops), (text, out)
    else:
        assert out == whole.text, (text, out)


def test_prose_is_held_back_by_the_open_tail_not_the_longest_term() -> None:
    compiled = WIDE.lexicon.current
    assert compiled.horizon > 100  # the long term, its gaps and the segmenter's window
    pipeline = Pipeline([WIDE], policy_version="t")
    inspector = StreamInspector(pipeline, Stage.OUTPUT, Context())
    prose = "今天天气很好，我们去公园散步吧。" * 12
    first = next(i for i, ch in enumerate(prose) if inspector.feed(ch).release)
    assert first <= compiled.context + 2
    # A long term being written is held from its first character until it is refused.
    inspector = StreamInspector(pipeline, Stage.OUTPUT, Context())
    text = "好的。" + LONG + "。"
    out = ""
    for ch in text:
        step = inspector.feed(ch)
        out += step.release
        if step.stopped:
            break
    if not inspector.stopped:
        out += inspector.finish().release
    assert inspector.stopped and len(out) <= len("好的。")


def test_narrowing_is_what_the_protocol_says() -> None:
    """`narrows_horizon` answers as ``isinstance(c, NarrowsHorizon)`` would, without its cost."""

    class Both:
        def holdback_at(self, text: str) -> int:
            return 0

        def lookback_at(self, text: str, pos: int) -> int:
            return 0

    class One:
        def holdback_at(self, text: str) -> int:
            return 0

    class Attribute:
        holdback_at = 3
        lookback_at = 4

    lexicon = LexiconCheck("lex", ReloadableLexicon.fixed(Lexicon.build([Term("违禁词", ("A.1h",))], [])))
    for check in (Both(), One(), Attribute(), object(), lexicon):
        expected = isinstance(check, NarrowsHorizon) and callable(getattr(check, "lookback_at", None))
        assert narrows_horizon(check) is expected, type(check).__name__
    assert narrows_horizon(Both()) and narrows_horizon(lexicon)
    assert not narrows_horizon(One()) and not narrows_horizon(Attribute())
