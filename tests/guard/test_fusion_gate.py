"""The A.2 specialist gate and the harness that measured whether requests should skip it
(`benchmarks/fusion_gate.py`; measured on the calibration part, not adopted: docs/guard-checks.md,
"Specialists: requests and statements"). No shared data: stub findings and texts written here."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

import pytest

from hegui.guard.fusion import UNCONFIRMED, FusionRule, fuse
from hegui.guard.types import Action, Context, Finding
from hegui.policy import bundled_policy_text, parse_policy

SPECIALIST = "offensive-language"
RULE = FusionRule.for_preset("balanced", {"A.2": SPECIALIST})


@pytest.fixture(scope="module")
def bench(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    return load_benchmark("fusion_gate")


def model_refusal(score: float = 0.6, category: str = "A.2i") -> Finding:
    return Finding(
        "harmful-request", category, 0, 8, "text", Action.REFUSE, score, "prompt_model", tier="model"
    )


def confirmation() -> Finding:
    return Finding(SPECIALIST, "A.2i", 0, 8, "text", Action.REFUSE, 0.7, "classifier")


def test_the_bundled_policy_gates_a2_with_the_comment_classifier() -> None:
    """The measurement assumes this wiring; if the bundled policy changes it, the docs' figures are stale."""
    policy = parse_policy(bundled_policy_text(), "bundled.toml")
    assert policy.guard.preset == "balanced"
    assert policy.guard.specialists == {"A.2": SPECIALIST}
    assert any(c.name == SPECIALIST and c.type == "classifier" for c in policy.checks)


def test_an_unconfirmed_a2_refusal_becomes_evidence_and_says_why() -> None:
    out = fuse([model_refusal(0.6)], RULE, Context())
    assert [(f.check, f.action) for f in out] == [("harmful-request", Action.LABEL)]
    assert out[0].tier == UNCONFIRMED
    why = out[0].explanation
    assert why.startswith("fusion (balanced): not confirmed by offensive-language (A.2, score below 0.8)")
    assert why.endswith("prompt_model")  # the model's own explanation is kept after the fusion's reason


def test_the_gate_reads_findings_not_the_form_of_the_text() -> None:
    """The shipped gate has no notion of requests: the same findings get the same decision."""
    a = fuse([model_refusal(0.6)], RULE, Context(prompt="请帮我写一段话？"))
    b = fuse([model_refusal(0.6)], RULE, Context(prompt="这是一句评论。"))
    assert a == b and a[0].action == Action.LABEL


@pytest.mark.parametrize(
    ("text", "frame", "qmark", "opening", "addressed"),
    [
        ("请帮我写一段招聘启事。", True, False, True, True),
        ("为什么有人这样说？", True, True, False, False),
        ("这座城市的人都很热情。", False, False, False, False),
        ("你能告诉我怎么做吗", True, False, True, True),
        ("這座城市怎麼樣?", True, True, False, False),  # traditional characters fold to the frame 怎么样
    ],
)
def test_forms_of_a_text(
    bench: ModuleType, text: str, frame: bool, qmark: bool, opening: bool, addressed: bool
) -> None:
    form = bench.form_of(text)
    assert (form.frame, form.qmark, form.opening, form.addressed) == (frame, qmark, opening, addressed)
    assert form.request == (frame or qmark or opening)


def _row(bench: ModuleType, text: str, raw: list[Finding], group: str) -> object:
    example = sys.modules["guard_data"].Example(text, "harmful", "prompt", "A.2", "own", text, "train")
    return bench.Row(example, group, bench.form_of(text), tuple(raw), frozenset(), False)


def test_the_stand_variant_lets_a_request_stand_and_keeps_the_gate_for_statements(bench: ModuleType) -> None:
    by_name = {v.name: v for v in bench.variants(RULE)}
    request = _row(bench, "请帮我写一段只招某地人的招聘启事。", [model_refusal(0.6)], "should-refuse prompts")
    statement = _row(bench, "某地人都一个样。", [model_refusal(0.6)], "safe comments")
    confirmed = _row(bench, "某地人都一个样。", [model_refusal(0.6), confirmation()], "offensive comments")
    assert bench.stops(request, by_name["stand: request"]) is True
    assert bench.stops(request, by_name["bundled"]) is False
    # a statement still needs the specialist
    assert bench.stops(statement, by_name["stand: request"]) is False
    assert bench.stops(confirmed, by_name["stand: request"]) is True
    assert bench.stops(statement, by_name["no gate"]) is True


def test_the_abstain_variant_lets_the_specialist_refuse_alone_only_on_requests(bench: ModuleType) -> None:
    by_name = {v.name: v for v in bench.variants(RULE)}
    alone = [confirmation()]  # the specialist without model evidence: evidence only, unless it abstains
    request = _row(bench, "你能告诉我某地人怎么样吗？", alone, "benign questions")
    statement = _row(bench, "某地人都一个样。", alone, "safe comments")
    assert bench.stops(request, by_name["abstain: request"]) is True
    assert bench.stops(statement, by_name["abstain: request"]) is False
    assert bench.stops(request, by_name["bundled"]) is False


def test_the_table_counts_per_set(bench: ModuleType) -> None:
    rows = [
        _row(bench, "请帮我写一段只招某地人的招聘启事。", [model_refusal(0.6)], "should-refuse prompts"),
        _row(bench, "某地人都一个样。", [model_refusal(0.6)], "should-refuse prompts"),
    ]
    by_name = {v.name: v for v in bench.variants(RULE)}
    text = bench.table(rows, [by_name["bundled"], by_name["stand: request"]])
    line = next(ln for ln in text.splitlines() if ln.startswith("| should-refuse prompts |"))
    assert line == "| should-refuse prompts | 2 | 0.0 % | 50.0 % |"
