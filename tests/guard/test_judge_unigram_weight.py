"""`FeatureConfig.unigram_weight`: a single character's value in percent of a longer n-gram's, the same
in training (`Features.window_values`, which `train_guard_models.design` fits on) and at run time
(`LinearModel`), and 100 (every older artifact) changes nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hegui.guard.judge.features import FeatureConfig, featurize
from hegui.guard.judge.linear import LinearModel
from hegui.guard.judge.prompt import PROMPT_CLASSES

PRESET_TABLE = {p: {"refuse": 0.6, "evidence": 0.4} for p in ("strict", "balanced", "lenient")}
TEXT = "抢劫和抢夺的区别是什么"


def _model(config: FeatureConfig, seed: int = 0) -> LinearModel:
    rng = np.random.default_rng(seed)
    weights = rng.normal(scale=2.0, size=(config.buckets, 2)).astype(np.float32)
    return LinearModel(PROMPT_CLASSES[:2], weights, np.zeros(2, np.float32), config, PRESET_TABLE)


def _logits_by_hand(model: LinearModel, text: str, unigram: float) -> np.ndarray:
    """The one window's logits written out: every valid n-gram's weights times its value."""
    feats = featurize(text, model.config)
    pos, col = np.nonzero(feats.valid)
    total = np.zeros(model.weights.shape[1], np.float64)
    for p, c in zip(pos, col, strict=True):
        factor = unigram if model.config.ngram_min + c == 1 else 1.0
        total += factor * model.weights[feats.buckets[p, c]].astype(np.float64)
    return total / math.sqrt(len(pos)) + model.bias


@pytest.mark.parametrize("weight", [100, 40, 0])
def test_a_single_character_counts_its_share(weight: int) -> None:
    config = FeatureConfig(buckets_log2=12, unigram_weight=weight)
    model = _model(config)
    feats = featurize(TEXT, config)
    got = model._one_window_logits(feats, model.rows_of(feats))
    np.testing.assert_allclose(got, _logits_by_hand(model, TEXT, weight / 100), rtol=1e-5, atol=1e-5)


def test_training_values_carry_the_same_factor() -> None:
    config = FeatureConfig(buckets_log2=12, unigram_weight=40)
    feats = featurize(TEXT, config)
    window = feats.windows[0]
    idx, values = feats.window_values(window, config)
    same, value = feats.window_rows(window)
    assert idx.tolist() == same.tolist()
    columns = np.nonzero(feats.valid[window.start : window.end])[1]
    assert np.allclose(values[columns == 0], 0.4 * value)  # the single characters
    assert np.allclose(values[columns > 0], value)
    assert (columns == 0).sum() == len(feats.normalized.text)


def test_full_weight_is_the_model_without_the_setting() -> None:
    plain, full = FeatureConfig(buckets_log2=12), FeatureConfig(buckets_log2=12, unigram_weight=100)
    assert full.order_scale() is None
    assert (
        _model(plain).score(TEXT).probabilities.tobytes() == _model(full).score(TEXT).probabilities.tobytes()
    )


def test_a_lighter_character_changes_the_score() -> None:
    light = FeatureConfig(buckets_log2=12, unigram_weight=40)
    assert (
        _model(FeatureConfig(buckets_log2=12)).score(TEXT).probabilities.tobytes()
        != _model(light).score(TEXT).probabilities.tobytes()
    )


@pytest.mark.parametrize("weight", [-1, 101])
def test_a_weight_out_of_range_is_refused(weight: int) -> None:
    with pytest.raises(ValueError, match="unigram_weight"):
        FeatureConfig(unigram_weight=weight)


def test_the_setting_is_stored_and_read_back() -> None:
    config = FeatureConfig(buckets_log2=12, unigram_weight=40)
    assert FeatureConfig.from_json(config.to_json()) == config
    assert FeatureConfig.from_json({k: v for k, v in config.to_json().items() if k != "unigram_weight"}) == (
        FeatureConfig(buckets_log2=12)
    )
