"""The trainer of the judgement models (scripts/train_guard_models.py), on made-up rows: the prompt model's
weights (`prompt_weights`) and the fit (`fit_softmax`).

The weights decide what the shipped model learns: "none" and "harmful" each carry half; inside a harmful
class each source shares the class by the square root of its size (so thousands of offensive comments do
not drown a few hundred discriminatory prompts); inside "none" each source by the square root of its size.
"""

from __future__ import annotations

from collections import defaultdict
from types import ModuleType

import numpy as np
import pytest


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


def _toy(trainer: ModuleType) -> tuple[object, np.ndarray, np.ndarray]:
    from scipy import sparse

    # bucket 0 says class 1, bucket 1 says class 0, bucket 2 is in every row
    rows = np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]], dtype=np.float32)
    return sparse.csr_matrix(rows), np.array([1, 1, 0, 0]), np.ones(4)


def test_l2_may_be_one_per_bucket(trainer: ModuleType) -> None:
    x, y, w = _toy(trainer)
    scalar = trainer.fit_softmax(x, y, w, 2, 0.01, 200)
    column = trainer.fit_softmax(x, y, w, 2, np.full((3, 1), 0.01), 200)
    np.testing.assert_allclose(scalar[0], column[0], atol=1e-5)
    assert scalar[0][0, 1] - scalar[0][0, 0] > 0.5  # bucket 0 pushes towards class 1
    heavy = trainer.fit_softmax(x, y, w, 2, np.array([[1e4], [0.01], [0.01]]), 200)
    assert abs(float(heavy[0][0, 1] - heavy[0][0, 0])) < 1e-3  # a bucket with a huge penalty says nothing


def test_a_vocabulary_design_scores_as_the_model_does(trainer: ModuleType) -> None:
    """``--vocab-min-df``: the columns are the n-grams of at least two texts, most frequent first, and a
    model over them (`LinearModel` with ``vocab``) scores every window as the design row says: an n-gram
    outside the vocabulary adds nothing but still counts in the window's length scaling."""
    from hegui.guard.judge import FeatureConfig, LinearModel, featurize
    from hegui.guard.judge.prompt import PROMPT_CLASSES

    config = FeatureConfig(buckets_log2=32, window=16, stride=8)
    texts = ["今天天气很好我们去公园散步然后回家吃饭", "今天天气不错", "我们去公园吧", "完全不同的文字"]
    dm = trainer.design(texts, config, 2)
    per_text = []
    for text in texts:
        feats = featurize(text, config)
        per_text.append(set(feats.buckets[feats.valid].tolist()))
    df = {i: sum(i in ids for ids in per_text) for i in set().union(*per_text)}
    vocab = dm.vocab.tolist()
    assert set(vocab) == {i for i, d in df.items() if d >= 2} and len(vocab) == dm.x.shape[1]
    assert [df[i] for i in vocab] == sorted((df[i] for i in vocab), reverse=True)
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(len(vocab), 6)).astype(np.float32)
    presets = {p: {"refuse": 0.6, "evidence": 0.4} for p in ("strict", "balanced", "lenient")}
    model = LinearModel(PROMPT_CLASSES, weights, np.zeros(6, np.float32), config, presets, vocab=dm.vocab)
    logits = dm.x @ weights
    row = 0
    for t, text in enumerate(texts):
        probabilities = model.score(text).probabilities
        assert len(probabilities) == int((dm.owner == t).sum())
        for p in probabilities:
            expected = np.exp(logits[row] - logits[row].max())
            np.testing.assert_allclose(p, expected / expected.sum(), rtol=1e-4)
            row += 1
