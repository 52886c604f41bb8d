"""StreamInspector table tests (property tests live in test_stream_properties.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hegui.guard import Action, Context, Finding, Pipeline, Stage, StreamInspector
from hegui.guard.denylist import DenyListCheck


def pipeline(*checks: DenyListCheck) -> Pipeline:
    return Pipeline(list(checks) or [DenyListCheck("d", ["违禁词"])], policy_version="v")


def run(chunks: list[str], p: Pipeline | None = None) -> tuple[list[str], bool, StreamInspector]:
    insp = StreamInspector(p or pipeline(), Stage.OUTPUT, Context())
    released = []
    for c in chunks:
        step = insp.feed(c)
        released.append(step.release)
        if step.stopped:
            return released, True, insp
    end = insp.finish()
    released.append(end.release)
    return released, end.stopped, insp


def test_holds_back_exactly_horizon_minus_one() -> None:
    released, stopped, _ = run(["abcdef", "gh"])
    assert released == ["abcd", "ef", "gh"] and not stopped


@pytest.mark.parametrize(
    "chunks", [["前文违", "禁词"], ["前文违禁", "词后"], ["前", "文", "违", "禁", "词"], ["前文违禁词"]]
)
def test_term_is_never_released(chunks: list[str]) -> None:
    released, stopped, insp = run(chunks)
    assert stopped
    assert "".join(released) in ("", "前", "前文")
    assert insp.verdict().action == Action.REFUSE
    assert [(f.start, f.end) for f in insp.verdict().findings] == [(2, 5)]


def test_stream_mask_spanning_chunks() -> None:
    p = pipeline(DenyListCheck("m", ["13800138000"], action=Action.MASK))
    released, stopped, insp = run(["call 1380", "0138", "000 now"], p)
    assert not stopped
    assert "".join(released) == "call *********** now"
    assert insp.verdict().text == "call *********** now"


def test_nothing_after_stop() -> None:
    insp = StreamInspector(pipeline(), Stage.OUTPUT, Context())
    insp.feed("违禁词")
    assert insp.finish().stopped
    after = insp.feed("more text")
    assert (after.release, after.stopped) == ("", True)
    assert insp.finish().release == ""


class WholeText:
    name = "whole"
    stages = frozenset({Stage.OUTPUT})
    horizon: int | None = None
    version = "1"

    def inspect(self, text: str, ctx: Context) -> list:  # type: ignore[type-arg]
        return []


def test_a_whole_text_check_holds_everything_until_the_end() -> None:
    released, stopped, _ = run(["abc", "def"], Pipeline([WholeText()], policy_version="v"))
    assert released == ["", "", "abcdef"] and not stopped


class Scripted:
    """A masking check with a short horizon whose finding depends on text the horizon does not cover:
    the test stands in for a check that breaks its contract, or for a regex whose matches depend on
    where its scan begins."""

    stages = frozenset({Stage.OUTPUT})
    version = "1"

    def __init__(self, horizon: int, found: Callable[[str], list[tuple[int, int]]]) -> None:
        self.name, self.horizon, self._found = "scripted", horizon, found

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        return [
            Finding(self.name, "A.4f", s, e, text[s:e], Action.MASK, replacement=text[s:e].lower())
            for s, e in self._found(text)
        ]


def test_a_match_only_a_later_window_sees_is_not_acted_on() -> None:
    """ "ABCD" counts only when no "Q" stands in the three characters before it. The first scan sees the
    Q and releases the text up to the hold-back, into "ABCD"; the next window starts after the Q and sees
    a match that the whole text does not hold."""

    def found(text: str) -> list[tuple[int, int]]:
        i = text.find("ABCD")
        return [(i, i + 4)] if i >= 0 and "Q" not in text[max(0, i - 3) : i] else []

    p = Pipeline([Scripted(4, found)], policy_version="v")
    released, stopped, insp = run(["QxxABCDyz"], p)
    assert not stopped
    assert released[0] == "QxxABC"
    assert "".join(released) == "QxxABCDyz" == p.run(Stage.OUTPUT, "QxxABCDyz", Context()).text
    assert insp.verdict().findings == ()


def test_a_mask_found_after_its_start_was_released_drops_no_character() -> None:
    """A match that its right context decides, past the check's horizon: its start is released before
    the match is found. The rest of the span is replaced (its replacement has the span's length), and
    nothing of the text is lost."""

    def found(text: str) -> list[tuple[int, int]]:
        i = text.find("ABCD!")
        return [(i, i + 4)] if i >= 0 else []

    p = Pipeline([Scripted(2, found)], policy_version="v")
    released, stopped, _ = run(["ABC", "D!"], p)
    assert not stopped
    assert released[0] == "AB"
    assert "".join(released) == "ABcd!"
