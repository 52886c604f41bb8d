"""The prompt model's training weights (scripts/train_guard_models.py, `prompt_weights`), on made-up rows.

The weights decide what the shipped model learns: "none" and "harmful" each carry half; inside a harmful
class each source shares the class by the square root of its size (so thousands of offensive comments do
not drown a few hundred discriminatory prompts); inside "none" each source by the square root of its size.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trainer() -> ModuleType:
    pytest.importorskip("scipy", reason="the trainer needs scipy (a development tool)")
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import train_guard_models
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return train_guard_models


def _rows(trainer: ModuleType) -> list[object]:
    example = trainer.Example
    rows = []
    for source, label, risk, n in (
        ("cold", "harmful", "A.2", 900),
        ("multijail", "harmful", "A.2", 16),
        ("jade-v2", "harmful", "A.1", 25),
        ("lccc", "benign", "", 400),
        ("cvalues", "borderline", "", 100),
    ):
        for i in range(n):
            rows.append(example(f"{source}{i}", label, "prompt", risk, source, f"{source}{i}", "train"))
    return rows


def _mass(trainer: ModuleType, rows: list[object], by_source: bool) -> dict[str, float]:
    weights = trainer.prompt_weights(rows, harmful_by_source=by_source)
    out: dict[str, float] = defaultdict(float)
    for row, w in zip(rows, weights, strict=True):
        out[row.source] += float(w) / len(rows)  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize(
    ("by_source", "cold", "multijail"),
    [
        (True, 0.25 * 30 / 34, 0.25 * 4 / 34),  # sqrt(900) = 30, sqrt(16) = 4 share A.2's quarter
        (False, 0.25 * 900 / 916, 0.25 * 16 / 916),  # by size: the comments take nearly all of it
    ],
)
def test_harmful_sources_share_their_class(
    trainer: ModuleType, by_source: bool, cold: float, multijail: float
) -> None:
    mass = _mass(trainer, _rows(trainer), by_source)
    # A.2 (916 rows) and A.1 (25 rows) share the harmful half by sqrt of their size: 30.27 vs 5.
    a2 = 0.5 * 916**0.5 / (916**0.5 + 5)
    assert mass["cold"] + mass["multijail"] == pytest.approx(a2)
    assert mass["cold"] / a2 * 0.25 == pytest.approx(cold)
    assert mass["multijail"] / a2 * 0.25 == pytest.approx(multijail)
    assert mass["jade-v2"] == pytest.approx(0.5 - a2)
    # benign: sqrt(400) = 20 and sqrt(100) = 10 share the other half, whatever the harmful rule
    assert mass["lccc"] == pytest.approx(0.5 * 20 / 30)
    assert mass["cvalues"] == pytest.approx(0.5 * 10 / 30)


def test_weights_average_one(trainer: ModuleType) -> None:
    rows = _rows(trainer)
    assert float(trainer.prompt_weights(rows).sum()) == pytest.approx(len(rows))
