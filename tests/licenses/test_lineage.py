"""The lineage cases of the issue, end to end through the fixture stack (cards, aibom.yaml, lock file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hegui.licenses import scan
from hegui.licenses.evaluate import Report
from hegui.licenses.types import Profile

from .conftest import comp, rules_of, run

SAAS = Profile("saas", commercial=True, mau=5000)


@pytest.fixture(scope="module")
def stack(fixtures: Path) -> Report:
    return scan(fixtures / "stack", SAAS, excludes=())


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        # a Llama 3.1 fine-tune published without the "Llama" prefix
        (
            "model:zh-chat-8b",
            {("name-prefix", "conflict"), ("built-with", "obligation"), ("notice-file", "obligation")},
        ),
        # CC-BY-NC data in commercial use, directly and through the model trained on it
        ("dataset:nc-dialogues", {("non-commercial", "blocked")}),
        ("model:zh-chat-8b", {("non-commercial", "blocked")}),
        # an R1-Distill-Llama model: MIT label, Llama 3.1 terms inherited
        (
            "model:DeepSeek-R1-Distill-Llama-8B",
            {
                ("relabelled-model-license", "conflict"),
                ("name-prefix", "conflict"),
                ("built-with", "obligation"),
            },
        ),
        # a merge of Llama and Qwen: both parents' duties
        ("model:llama-qwen-merge", {("built-with", "obligation"), ("notice-file", "obligation")}),
        # a Gemma model behind a SaaS: restrictions flow down; no Notice file for a hosted service
        ("model:gemma-support", {("use-restrictions", "obligation"), ("gated-repo", "review")}),
        # Llama 2 outputs used to fine-tune a Qwen model
        ("model:qwen-support-7b", {("outputs-non-compete", "blocked")}),
        # a modified AGPL module in a SaaS
        ("code:pdf-render-service", {("agpl-network", "conflict")}),
        # a model card without YAML
        ("model:no-yaml", {("card-without-metadata", "review"), ("missing-license", "blocked")}),
    ],
)
def test_lineage_case(stack: Report, component: str, expected: set[tuple[str, str]]) -> None:
    assert expected <= rules_of(stack, component)


def test_merge_shows_both_built_with(stack: Report) -> None:
    messages = [
        f.message
        for f in stack.findings
        if f.component == "model:llama-qwen-merge" and f.rule == "built-with"
    ]
    assert any("Built with Llama" in m for m in messages) and any("Built with Qwen" in m for m in messages)


def test_gemma_saas_has_no_notice_but_distribution_does(fixtures: Path) -> None:
    saas = scan(fixtures / "stack", SAAS, excludes=())
    shipped = scan(fixtures / "stack", Profile("on_device", True), excludes=())
    assert ("notice-file", "obligation") not in rules_of(saas, "model:gemma-support")
    assert ("notice-file", "obligation") in rules_of(shipped, "model:gemma-support")


def test_gpl_npm_package_in_saas_front_end(fixtures: Path) -> None:
    report = scan(fixtures / "frontend-lock", SAAS)
    assert ("copyleft-conveyed", "conflict") in rules_of(report, "npm:gpl-widget")
    assert not any(f.component == "npm:typescript" for f in report.findings)  # dev dependency, not shipped
    assert ("dual-license-choice", "obligation") in rules_of(report, "npm:dompurify")


def test_r1_distill_qwen_inherits_apache_only() -> None:
    report = run([comp(name="DeepSeek-R1-Distill-Qwen-32B", license="mit")], SAAS)
    assert rules_of(report) == set()


def test_lineage_of_a_quantized_finetune_reaches_the_root() -> None:
    report = run(
        [
            comp(name="q4", license="llama3.1", base_models=("ft",), relation="quantized"),
            comp(name="ft", license="llama3.1", base_models=("meta-llama/Llama-3.1-8B",)),
        ],
        SAAS,
    )
    assert ("name-prefix", "conflict") in rules_of(report, "model:q4")


def test_lineage_cycle_terminates() -> None:
    report = run(
        [
            comp(name="a", license="MIT", base_models=("b",)),
            comp(name="b", license="MIT", base_models=("a",)),
        ],
        SAAS,
    )
    assert rules_of(report, "model:a") == set()
