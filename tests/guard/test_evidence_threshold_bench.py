"""The harness that chose the balanced evidence threshold (`benchmarks/evidence_threshold.py`): its policy
text and its choice rule. No shared data: the policy is parsed, the rows are written here."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from hegui.policy import parse_policy


@pytest.fixture(scope="module")
def bench(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    pytest.importorskip(
        "scipy", reason="the benchmark imports the trainer's threshold rule, which needs scipy"
    )
    return load_benchmark("evidence_threshold")


def test_the_policy_sets_the_evidence_threshold_of_the_prompt_model_only(bench: ModuleType) -> None:
    policy = parse_policy(bench.policy_text(0.2345), "evidence.toml")
    extra = {c.name: c.model_extra or {} for c in policy.checks}
    prompt = [c.name for c in policy.checks if c.type == "prompt_model"]
    assert len(prompt) == 1 and extra[prompt[0]].get("evidence_threshold") == 0.2345
    assert "lexicon-64k" in extra  # the acceptance policy: the bundled one plus the 64k lexicon
    assert sum("evidence_threshold" in o for o in extra.values()) == 1


def _rows(labels: list[str]) -> list[object]:
    from guard_data import Example

    return [
        Example(
            f"t{i}",
            "harmful" if label == "harmful" else "benign",
            "prompt",
            "A.1" if label == "harmful" else "",
            "jailbench" if label == "harmful" else "crosswoz",
            f"g{i}",
            "train",
        )
        for i, label in enumerate(labels)
    ]


def test_the_rule_takes_the_highest_threshold_that_keeps_every_harmful_refusal(bench: ModuleType) -> None:
    rows = _rows(["harmful", "harmful", "benign", "benign"])
    col = bench.Column
    columns = [
        col(0.10, 0.14, (True, True, True, True)),  # the former target: the baseline
        col(0.08, 0.18, (True, True, False, True)),
        col(0.06, 0.22, (True, True, False, False)),  # the last that keeps both harmful refusals
        col(0.05, 0.24, (True, False, False, False)),  # loses one: not eligible, however few benign
    ]
    assert bench.chosen(columns, rows) is columns[2]


def test_a_column_that_refuses_more_harmful_prompts_than_the_baseline_is_eligible(bench: ModuleType) -> None:
    rows = _rows(["harmful", "benign"])
    col = bench.Column
    columns = [col(0.10, 0.14, (False, True)), col(0.06, 0.22, (True, False))]
    assert bench.chosen(columns, rows) is columns[1]
