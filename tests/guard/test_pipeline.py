"""Pipeline: merging findings, action order, masking, fail-closed."""

from __future__ import annotations

import pytest

from hegui.errors import CheckFailed
from hegui.guard import Action, Context, Finding, Pipeline, Stage
from hegui.guard.denylist import DenyListCheck
from hegui.guard.pipeline import apply_masks

CTX = Context()


def test_action_order() -> None:
    order = [Action.ALLOW, Action.LABEL, Action.MASK, Action.REFUSE, Action.BLOCK_USER]
    shuffled = [Action.REFUSE, Action.ALLOW, Action.BLOCK_USER, Action.LABEL, Action.MASK]
    assert sorted(shuffled) == order
    assert max(Action.MASK, Action.REFUSE) is Action.REFUSE
    assert [a.stops for a in order] == [False, False, False, True, True]


def make() -> Pipeline:
    return Pipeline(
        [
            DenyListCheck("refuse", ["坏词"]),
            DenyListCheck("mask", ["13800138000"], action=Action.MASK, category="A.4f"),
            DenyListCheck("out-only", ["outword"], stages=[Stage.OUTPUT]),
        ],
        policy_version="v1",
    )


@pytest.mark.parametrize(
    ("stage", "text", "action", "released"),
    [
        (Stage.INPUT, "你好", Action.ALLOW, "你好"),
        (Stage.INPUT, "电话13800138000", Action.MASK, "电话***********"),
        (Stage.INPUT, "电话13800138000和坏词", Action.REFUSE, "电话13800138000和坏词"),
        (Stage.INPUT, "outword", Action.ALLOW, "outword"),
        (Stage.OUTPUT, "OUTWORD", Action.REFUSE, "OUTWORD"),
    ],
)
def test_run(stage: Stage, text: str, action: Action, released: str) -> None:
    verdict = make().run(stage, text, CTX)
    assert (verdict.action, verdict.text) == (action, released)
    assert verdict.policy_version == "v1"
    for f in verdict.findings:
        assert text[f.start : f.end].lower() == f.evidence.lower()


def test_versions_name_every_check_of_the_stage() -> None:
    assert set(make().versions(Stage.INPUT)) == {"refuse", "mask"}


def test_duplicate_check_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        Pipeline([DenyListCheck("a", ["x"]), DenyListCheck("a", ["y"])], policy_version="v")


class Exploding:
    name = "exploding"
    stages = frozenset({Stage.INPUT})
    horizon: int | None = 1
    version = "1"

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        raise ValueError("model file missing")


def test_a_failing_check_raises_check_failed() -> None:
    observed: list[str] = []
    pipeline = Pipeline([Exploding()], policy_version="v", observer=lambda n, s, t: observed.append(n))
    with pytest.raises(CheckFailed, match="exploding"):
        pipeline.run(Stage.INPUT, "text", CTX)
    assert observed == ["exploding"]


def f(start: int, end: int, replacement: str | None = None, action: Action = Action.MASK) -> Finding:
    return Finding("c", "A.4f", start, end, "", action, replacement=replacement)


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        ([], "abcdefgh"),
        ([f(1, 3)], "a**defgh"),
        ([f(1, 4), f(2, 6)], "a*****gh"),
        ([f(0, 2, "<P1>")], "<P1>cdefgh"),
        ([f(1, 3, action=Action.REFUSE)], "abcdefgh"),
        ([f(6, 8), f(0, 1)], "*bcdef**"),
    ],
)
def test_apply_masks(findings: list[Finding], expected: str) -> None:
    assert apply_masks("abcdefgh", findings) == expected


def test_horizon_is_the_longest_term() -> None:
    assert make().horizon(Stage.INPUT) == 11
    assert Pipeline([], policy_version="v").horizon(Stage.INPUT) == 1
