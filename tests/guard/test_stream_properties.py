"""Property tests of `StreamInspector`: whatever the chunking, the released text never contains a match
that the whole text contains, and equals the whole-text verdict's text when nothing stops the stream.

Each drawn text is fed split at *every* boundary (two chunks), and in the drawn chunk sizes. Checks:
a deny-list with overlapping terms (refuse), and PII recognizers with boundary look-arounds (mask).
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hegui.guard import Action, Context, Pipeline, Stage, StreamInspector
from hegui.guard.denylist import DenyListCheck
from hegui.guard.pii import PIIAnalyzer, PIICheck, recognizers_for
from hegui.guard.pipeline import apply_masks

CTX = Context()
DENY = DenyListCheck("deny", ["abc", "bcd", "cd", "违禁词", "演示违禁词", "禁词典"], stages=[Stage.OUTPUT])
PII = PIICheck(
    "pii", PIIAnalyzer(recognizers_for(["mobile", "resident_id", "bank_card", "ipv4"])), stages=[Stage.OUTPUT]
)
PIPELINES = {
    "deny": Pipeline([DENY], policy_version="t"),
    "pii": Pipeline([PII], policy_version="t"),
    "both": Pipeline([DENY, PII], policy_version="t"),
}

DENY_PARTS = st.sampled_from([*"abcdx 演示违禁词典好", "abc", "违禁词", "演示违"])
PII_PARTS = st.sampled_from(
    [
        *"0123456789 -.x",
        "13812345678",
        "138 1234 5678",
        "110101199003071233",
        "4111 1111 1111 1111",
        "192.168.1.1",
        "好",
    ]
)


def _stream(pipeline: Pipeline, chunks: Sequence[str]) -> tuple[str, bool]:
    inspector = StreamInspector(pipeline, Stage.OUTPUT, CTX)
    out = []
    for chunk in chunks:
        step = inspector.feed(chunk)
        out.append(step.release)
        if step.stopped:
            return "".join(out), True
    step = inspector.finish()
    out.append(step.release)
    return "".join(out), step.stopped or inspector.stopped


def _assert_sound(pipeline: Pipeline, text: str, chunks: Sequence[str]) -> None:
    assert "".join(chunks) == text
    whole = pipeline.run(Stage.OUTPUT, text, CTX)
    out, stopped = _stream(pipeline, chunks)
    # The masks of these checks keep lengths, so a position in `out` is the same position in `text`.
    masked = apply_masks(text, [f for f in whole.findings if f.action == Action.MASK], pipeline.mask_char)
    assert len(masked) == len(text)
    stops = [f for f in whole.findings if f.action.stops]
    assert stopped == bool(stops), (text, chunks, out)
    if stops:
        # Nothing of the first refused match, and nothing after it, was released.
        assert len(out) <= min(f.start for f in stops), (text, chunks, out)
        assert out == masked[: len(out)], (text, chunks, out)
    else:
        assert out == whole.text == masked, (text, chunks, out, whole.text)


def _every_split(pipeline: Pipeline, text: str) -> None:
    for i in range(len(text) + 1):
        _assert_sound(pipeline, text, [text[:i], text[i:]])


def _sized(text: str, sizes: list[int]) -> list[str]:
    chunks, pos, i = [], 0, 0
    while pos < len(text):
        size = sizes[i % len(sizes)]
        chunks.append(text[pos : pos + size])
        pos, i = pos + size, i + 1
    return chunks


@settings(max_examples=120, deadline=None)
@given(st.lists(DENY_PARTS, max_size=30), st.lists(st.integers(1, 6), min_size=1, max_size=8))
@example(["a", "b", "c", "d"], [1])
@example(["演示违", "禁词", "典"], [2])
def test_deny_list_never_releases_a_match(parts: list[str], sizes: list[int]) -> None:
    text = "".join(parts)
    _every_split(PIPELINES["deny"], text)
    _assert_sound(PIPELINES["deny"], text, _sized(text, sizes))


@settings(max_examples=80, deadline=None)
@given(st.lists(PII_PARTS, max_size=14), st.lists(st.integers(1, 9), min_size=1, max_size=8))
@example(["13812345678", "9"], [11])
@example(["1", "13812345678"], [1])
@example(["192.168.1.1", ".", "5"], [3])
@example(["3138 1234 5678", "5138 1234 5678", " ", "13812345678", "13812345678"], [60])
# On the prefix ending ...071, a bank-card candidate (5678 110101199003071) hides the spaced mobile; the
# next digits make a resident ID, and the mobile is masked after all: none of it may go out before.
@example(["138 1234 5678", " ", "110101199003071233"], [1])
def test_pii_masks_as_the_whole_text_would(parts: list[str], sizes: list[int]) -> None:
    text = "".join(parts)
    _every_split(PIPELINES["pii"], text)
    _assert_sound(PIPELINES["pii"], text, _sized(text, sizes))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(DENY_PARTS, PII_PARTS), max_size=16), st.lists(st.integers(1, 7), min_size=1))
def test_refusals_and_masks_together(parts: list[str], sizes: list[int]) -> None:
    text = "".join(parts)
    _every_split(PIPELINES["both"], text)
    _assert_sound(PIPELINES["both"], text, _sized(text, sizes))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.one_of(DENY_PARTS, PII_PARTS), max_size=16),
    st.lists(st.integers(1, 3), min_size=1, max_size=6),
    st.integers(2, 9),
)
def test_a_release_step_delays_text_and_changes_nothing_else(
    parts: list[str], sizes: list[int], step: int
) -> None:
    """With `release_step`, the tail is rescanned only every few characters: the same text is released,
    refused or masked as on every chunk, and nothing waits longer than the step (minus one character)
    past what the horizon allows."""
    text = "".join(parts)
    pipeline = Pipeline([DENY, PII], policy_version="t", release_step=step)
    chunks = _sized(text, sizes)
    _assert_sound(pipeline, text, chunks)
    every = Pipeline([DENY, PII], policy_version="t")
    late, eager = StreamInspector(pipeline, Stage.OUTPUT, CTX), StreamInspector(every, Stage.OUTPUT, CTX)
    released_late = released_eager = length = 0
    eager_at: dict[int, int] = {0: 0}  # text length → what the every-chunk inspector had released then
    for chunk in chunks:
        a, b = late.feed(chunk), eager.feed(chunk)
        length += len(chunk)
        released_late, released_eager = released_late + len(a.release), released_eager + len(b.release)
        eager_at[length] = released_eager
        if a.stopped or b.stopped:
            break
        assert released_late <= released_eager  # never ahead of the inspector that scans every chunk
        # ... and never behind what it had released `step - 1` characters ago
        earlier = max(n for n in eager_at if n <= length - (step - 1)) if length >= step - 1 else 0
        assert released_late >= eager_at[earlier], (chunks, length, released_late, eager_at)


LABEL_PIPELINE = Pipeline(
    [
        PIICheck(
            "pii",
            PIIAnalyzer(recognizers_for(["mobile", "email", "ipv4"])),
            stages=[Stage.OUTPUT],
            mask_style="label",
        )
    ],
    policy_version="t",
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"0123456789 -.@x好", "13812345678", "a@example.com", "192.168.1.1"]), max_size=20
    )
)
def test_label_masks_that_change_length_stream_like_the_whole_text(parts: list[str]) -> None:
    text = "".join(parts)
    whole = LABEL_PIPELINE.run(Stage.OUTPUT, text, CTX)
    for i in range(len(text) + 1):
        assert _stream(LABEL_PIPELINE, [text[:i], text[i:]]) == (whole.text, False), (text, i)
