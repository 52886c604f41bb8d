"""The explicit vocabulary: the id look-up table (`hegui.guard.judge.idtable`) and the linear models
that use it (an n-gram outside the vocabulary counts nothing; old dense artifacts still load)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hegui.guard.judge import FeatureConfig, LinearModel, featurize
from hegui.guard.judge.idtable import IdTable
from hegui.guard.judge.linear import FORMAT, FORMAT_VOCAB
from hegui.guard.judge.prompt import PROMPT_CLASSES

IDS32 = FeatureConfig(buckets_log2=32, window=16, stride=8)
PRESET_TABLE = {p: {"refuse": 0.6, "evidence": 0.4} for p in ("strict", "balanced", "lenient")}


# --- the look-up table -----------------------------------------------------------------------------------


def _reference(keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    rows = {int(k): i for i, k in enumerate(keys)}
    return np.array([rows.get(int(q), len(keys)) for q in queries])


@pytest.mark.parametrize(
    ("n", "slots_log2"),
    [
        (0, None),
        (1, None),
        (1000, None),  # the default load (slots >= 4 x ids)
        (50_000, None),
        (3000, 12),  # 73 % full: long probe sequences
        (4000, 12),  # 98 % full
    ],
)
def test_lookup_matches_a_dict_on_random_ids(n: int, slots_log2: int | None) -> None:
    rng = np.random.default_rng(n)
    keys = rng.permutation(np.unique(rng.integers(0, 2**32, size=n, dtype=np.uint64)).astype(np.uint32))
    table = IdTable(keys, slots_log2=slots_log2)
    absent = rng.integers(0, 2**32, size=2 * n + 100, dtype=np.uint64).astype(np.uint32)
    queries = np.concatenate([keys, keys[: n // 2], absent])
    rng.shuffle(queries)
    assert table.missing == len(keys)
    np.testing.assert_array_equal(table.lookup(queries), _reference(keys, queries))
    # Any shape: the rows come back in the shape of the ids.
    grid = queries[: (len(queries) // 4) * 4].reshape(-1, 4)
    np.testing.assert_array_equal(table.lookup(grid), _reference(keys, grid.ravel()).reshape(grid.shape))


def test_lookup_is_exact_when_ids_share_a_home_slot() -> None:
    """Ids chosen to share home slots (collisions by construction), with ids absent from the table that
    share them too, the extreme uint32 values, and a table whose probes run past the last home slot."""
    small = IdTable(np.arange(1, dtype=np.uint32), slots_log2=4)
    candidates = np.arange(0, 200_000, dtype=np.uint32)
    homes = small._home(candidates)  # the home slot of each candidate in a 16-slot table
    keys = np.concatenate([candidates[homes == 15][:6], candidates[homes == 3][:5]])  # 11 of 16 slots
    absent = np.concatenate([candidates[homes == 15][6:20], candidates[homes == 3][5:20]])
    table = IdTable(keys, slots_log2=4)
    assert table.max_probe >= 6  # the six ids of slot 15 run past the end: the tail holds them
    queries = np.concatenate([keys, absent, np.array([0, 0xFFFFFFFF, 0xFFFFFFFE], np.uint32)])
    np.testing.assert_array_equal(table.lookup(queries), _reference(keys, queries))
    extremes = np.array([0xFFFFFFFF, 0, 0xFFFFFFFE], np.uint32)  # the sentinel must not be an id
    np.testing.assert_array_equal(IdTable(extremes).lookup(extremes), [0, 1, 2])


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (np.array([1, 2, 1], np.uint32), "distinct"),
        (np.array([[1, 2]], np.uint32), "vector"),
        (np.array([-1, 2], np.int64), "uint32"),
        (np.array([2**32], np.int64), "uint32"),
    ],
)
def test_bad_ids_are_refused(ids: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IdTable(ids)


def test_a_table_too_small_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        IdTable(np.arange(20, dtype=np.uint32), slots_log2=4)


# --- a linear model with a vocabulary ---------------------------------------------------------------------


def _ids(text: str, config: FeatureConfig = IDS32) -> list[int]:
    feats = featurize(text, config)
    return sorted(set(feats.buckets[feats.valid].tolist()))


def _vocab_model(known_text: str, weight: float = 2.0) -> LinearModel:
    vocab = np.array(_ids(known_text), dtype=np.uint32)
    weights = np.zeros((len(vocab), len(PROMPT_CLASSES)), np.float32)
    weights[:, 1] = weight  # every known n-gram pushes towards A.1
    return LinearModel(
        PROMPT_CLASSES, weights, np.zeros(len(PROMPT_CLASSES), np.float32), IDS32, PRESET_TABLE, vocab=vocab
    )


def test_an_unseen_ngram_contributes_nothing() -> None:
    model = _vocab_model("制造炸药")
    unseen = "季度报告涵盖三个地区"  # shares no character with the vocabulary
    assert not set(_ids(unseen)) & set(model.vocab.tolist())  # type: ignore[union-attr]
    probabilities = model.score(unseen).probabilities
    np.testing.assert_allclose(probabilities, np.full((1, 6), 1 / 6), rtol=1e-6)  # the bias alone
    assert model.top_ngrams(model.score(unseen), 0, 1, 0) == []
    # A known n-gram among unseen ones counts with its weight, divided by the root of *all* valid
    # n-grams of the window (known or not), as the trainer's design matrix does.
    mixed = model.score("炸药报告")
    feats = featurize("炸药报告", IDS32)
    known = sum(1 for i in feats.buckets[feats.valid].tolist() if i in set(model.vocab.tolist()))  # type: ignore[union-attr]
    logit = 2.0 * known / np.sqrt(int(feats.valid.sum()))
    expected = np.exp(logit) / (np.exp(logit) + 5)
    assert mixed.probabilities[0, 1] == pytest.approx(expected, rel=1e-5)
    assert [t.text for t in model.top_ngrams(mixed, 0, 1, 0, k=10)] != []
    assert all(set(t.text) <= set("炸药") for t in model.top_ngrams(mixed, 0, 1, 0, k=10))


def test_vocab_artifact_round_trips_and_dense_ones_still_load(tmp_path: Path) -> None:
    model = _vocab_model("制造炸药的方法")
    model.save(tmp_path / "v.npz")
    loaded = LinearModel.load(tmp_path / "v.npz", "unused")
    assert loaded.version.startswith(FORMAT_VOCAB + ":")
    np.testing.assert_array_equal(loaded.vocab, model.vocab)  # type: ignore[arg-type]
    text = "如何制造炸药，今天天气很好"
    np.testing.assert_allclose(loaded.score(text).probabilities, model.score(text).probabilities, rtol=1e-3)
    dense = LinearModel(
        PROMPT_CLASSES,
        np.zeros((1 << 10, 6), np.float32),
        np.zeros(6, np.float32),
        FeatureConfig(buckets_log2=10, window=16, stride=8),
        PRESET_TABLE,
    )
    dense.save(tmp_path / "d.npz")
    again = LinearModel.load(tmp_path / "d.npz", "unused")
    assert again.vocab is None and again.version.startswith(FORMAT + ":")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vocab": np.array([1, 1, 2], np.uint32)}, "distinct"),
        ({"vocab": np.zeros(0, np.uint32)}, "non-empty"),
        ({"weights": np.zeros((2, 6), np.float32)}, "shape"),
        (
            {"config": FeatureConfig(buckets_log2=10, window=16, stride=8), "vocab": np.array([5000, 1, 2])},
            "below",
        ),
    ],
)
def test_bad_vocab_models_are_refused(changes: dict[str, object], message: str) -> None:
    kwargs: dict[str, object] = {
        "classes": PROMPT_CLASSES,
        "weights": np.zeros((3, 6), np.float32),
        "bias": np.zeros(6, np.float32),
        "config": IDS32,
        "thresholds": PRESET_TABLE,
        "vocab": np.array([7, 8, 9], np.uint32),
    }
    kwargs.update(changes)
    with pytest.raises(ValueError, match=message):
        LinearModel(**kwargs)  # type: ignore[arg-type]


def test_a_dense_model_over_24_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="dense"):
        LinearModel(
            PROMPT_CLASSES, np.zeros((1, 6), np.float32), np.zeros(6, np.float32), IDS32, PRESET_TABLE
        )


def test_a_vocab_artifact_without_its_vocab_is_malformed(tmp_path: Path) -> None:
    import io
    import json

    model = _vocab_model("制造炸药")
    buffer = io.BytesIO()
    raw = json.dumps(model.meta()).encode()
    np.savez(
        buffer, weights=model.weights.astype(np.float16), bias=model.bias, meta=np.frombuffer(raw, np.uint8)
    )
    with pytest.raises(ValueError, match="malformed"):
        LinearModel.from_bytes(buffer.getvalue(), "test")


# --- windows (made faster for the vocabulary's budget; the same windows as before) ------------------------


def _windows_by_unique(length: int, config: FeatureConfig, ends: np.ndarray) -> tuple[list[int], list[int]]:
    """The former implementation: every window, duplicates dropped with np.unique, first occurrence kept."""
    last = length - config.window
    starts = np.append(np.arange(0, last, config.stride, dtype=np.intp), last)
    stops = starts + config.window
    marks = np.minimum(np.append(ends, length), length)
    s_start = np.concatenate([np.zeros(1, dtype=np.intp), marks[:-1]])
    s_end = np.minimum(marks, s_start + config.window)
    keep = s_end - s_start >= config.sentences
    all_starts = np.concatenate([starts, s_start[keep]])
    all_stops = np.concatenate([stops, s_end[keep]])
    _, first = np.unique(all_starts * (length + 1) + all_stops, return_index=True)
    first.sort()
    return all_starts[first].tolist(), all_stops[first].tolist()


@pytest.mark.parametrize("seed", range(30))
def test_windows_are_those_of_the_former_implementation(seed: int) -> None:
    from hegui.guard.judge.features import windows_of

    rng = np.random.default_rng(seed)
    config = FeatureConfig(window=16, stride=8, sentences=4)
    length = int(rng.integers(17, 120))
    ends = np.unique(rng.integers(0, length + 1, size=int(rng.integers(1, 30))))
    if seed % 3 == 0:  # sentence ends exactly at stride steps: windows equal to sliding ones
        ends = np.unique(np.concatenate([ends, np.arange(16, length + 1, 8)]))
    starts, stops = windows_of(length, config, ends.astype(np.intp))
    assert (starts.tolist(), stops.tolist()) == _windows_by_unique(length, config, ends)
