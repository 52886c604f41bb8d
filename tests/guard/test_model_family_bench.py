"""The harness of `benchmarks/model_family.py` (the prompt-model family comparison, issue 10): its run-time
scorers agree with its design-matrix scorers, the word features hash a word alike wherever it stands,
the numpy fastText trainer learns, and the bootstrap of two equal models finds no difference. No shared
data: texts and labels written here."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("rjieba")


TEXTS = [
    "",
    "你好",
    "今天天气很好，我们去公园散步吧。",
    "请介绍一下长城的历史。" * 3,
    # Longer than one window, with sentence ends: sliding and sentence windows.
    "".join(f"第{i}句话讲的是制作面包的过程和温度控制。" for i in range(30)),
]


@pytest.fixture(scope="module")
def bench(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    return load_benchmark("model_family")


def reference_window_sums(table: np.ndarray, feats) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Per window, the plain sum of the table rows of its valid n-grams / sqrt(their number)."""
    out = []
    for a, b in zip(feats.starts, feats.ends, strict=True):
        rows = feats.buckets[a:b][feats.valid[a:b]]
        n = max(len(rows), 1)
        out.append(table[rows].astype(np.float64).sum(axis=0) / np.sqrt(n))
    return np.array(out)


def test_window_sums_match_a_plain_sum(bench: ModuleType) -> None:
    rng = np.random.default_rng(3)
    table = rng.standard_normal((bench.CONFIG.buckets + 1, 8)).astype(np.float32)
    table[-1] = 0.0
    long = bench.featurize(TEXTS[-1], bench.CONFIG)
    assert len(long.starts) > 3  # several windows, sentence windows among them
    for text in TEXTS[1:]:
        feats = bench.featurize(text, bench.CONFIG)
        got, empty = bench.window_sums(table, feats)
        assert not empty
        np.testing.assert_allclose(got, reference_window_sums(table, feats), rtol=1e-5, atol=1e-5)
    _, empty = bench.window_sums(table, bench.featurize("", bench.CONFIG))
    assert empty


def test_word_features_hash_a_word_alike_wherever_it_stands(bench: ModuleType) -> None:
    a = bench.featurize_words("长城是中国的古代建筑", bench.CONFIG)
    b = bench.featurize_words("我们今天参观了长城", bench.CONFIG)
    width = a.buckets.shape[1]
    assert width == b.buckets.shape[1] == bench.CONFIG.ngram_max + 2
    text_a, text_b = a.normalized.text, b.normalized.text
    pos_a, pos_b = text_a.index("长城"), text_b.index("长城")
    assert a.valid[pos_a, width - 2] and b.valid[pos_b, width - 2]
    assert a.buckets[pos_a, width - 2] == b.buckets[pos_b, width - 2]
    # Different words hash apart, and word columns are valid only where a word of 2+ characters starts.
    assert a.buckets[pos_a, width - 2] != a.buckets[text_a.index("古代"), width - 2]
    assert not a.valid[pos_a + 1, width - 2]
    # A word that touches a question frame is no feature (as n-grams with frames = 1).
    c = bench.featurize_words("如何制作蛋糕", bench.CONFIG)
    assert not c.valid[c.normalized.text.index("如何"), width - 2]


def design_scores(bench: ModuleType, family, texts: list[str], fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    dm = bench.design(texts, bench.CONFIG, featurizer=fn)
    return bench.text_scores(family, dm.x, dm.owner, len(texts))


def test_run_time_scorers_agree_with_the_design_path(bench: ModuleType) -> None:
    rng = np.random.default_rng(5)
    buckets, k = bench.CONFIG.buckets, len(bench.PROMPT_CLASSES)
    texts = TEXTS[1:]
    linear = bench.linear_family(
        "a",
        "t",
        rng.standard_normal((buckets, k)).astype(np.float32),
        np.zeros(k, np.float32),
        0.0,
        bench.featurize,
    )
    ft = bench.FastText(
        (rng.standard_normal((buckets, 8)) * 0.3).astype(np.float32),
        np.full(8, 0.1, np.float32),
        rng.standard_normal((8, k)).astype(np.float32),
        np.zeros(k, np.float32),
    )
    fast = bench.fasttext_family("c", ft, 0.0, 1)
    words = bench.linear_family(
        "b",
        "t",
        rng.standard_normal((buckets, k)).astype(np.float32),
        np.zeros(k, np.float32),
        0.0,
        bench.featurize_words,
    )
    for family, fn in ((linear, bench.featurize), (fast, bench.featurize), (words, bench.featurize_words)):
        expected = design_scores(bench, family, texts, fn)
        got = np.array([family.score_text(t) for t in texts])
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
        assert len(set(np.round(got, 4))) > 1  # not a constant scorer


def test_fasttext_trainer_learns_a_separable_toy_problem(bench: ModuleType) -> None:
    harmful = ["制作炸药的配方", "如何制造炸弹", "炸药怎么做", "自制爆炸物", "炸弹的制作"] * 4
    benign = ["制作蛋糕的配方", "如何烤面包", "蛋糕怎么做", "自制酸奶", "面包的制作"] * 4
    texts = harmful + benign
    y = np.array([1] * len(harmful) + [0] * len(benign))
    dm = bench.design(texts, bench.CONFIG)
    epochs: list[int] = []
    ft = bench.train_fasttext(
        dm.x,
        y[dm.owner],
        np.ones(len(dm.owner)),
        dim=8,
        epochs=30,
        lr=0.05,
        l2=0.0,
        seed=1,
        batch=8,
        on_epoch=lambda e, _: epochs.append(e),
    )
    assert epochs == list(range(1, 31))
    family = bench.fasttext_family("c", ft, 0.0, 30)
    scores = bench.text_scores(family, dm.x, dm.owner, len(texts))
    assert scores[: len(harmful)].min() > scores[len(harmful) :].max()
    # Buckets no training text touched stay at zero: an unseen n-gram adds nothing.
    touched = np.zeros(bench.CONFIG.buckets, bool)
    touched[np.unique(dm.x.indices)] = True
    assert not ft.emb[~touched].any()
    assert ft.emb[touched].any()


def test_bootstrap_of_a_model_against_itself_finds_no_difference(bench: ModuleType) -> None:
    from guard_data import Example

    rng = np.random.default_rng(9)
    examples = [Example("t", "harmful", "prompt", "A.1", "jade-v2", f"h{i}", "train") for i in range(40)]
    examples += [Example("t", "benign", "dialogue_turn", "", "lccc", f"b{i}", "train") for i in range(200)]
    examples += [Example("t", "benign", "prompt", "", "cvalues", f"c{i}", "train") for i in range(50)]
    scores = rng.random(len(examples)).astype(np.float32)
    scores[:40] += 0.5
    benign = {"lccc": np.arange(40, 240), "cvalues": np.arange(240, 290)}
    noise = bench.paired_bootstrap(scores, scores, examples, benign, reps=30)
    assert (noise.recall_lo, noise.recall_hi, noise.benign_lo, noise.benign_hi) == (0.0, 0.0, 0.0, 0.0)
    assert (noise.only_this, noise.only_base) == (0, 0)
    better = scores.copy()
    better[:40] += 1.0
    noise = bench.paired_bootstrap(better, scores, examples, benign, reps=30)
    assert noise.recall_lo > 0.0 and noise.only_base == 0
    judged = bench.judge(scores, examples, benign)
    assert judged.mean_benign <= 0.03
    assert judged.rows["should-refuse"][0] == 40
