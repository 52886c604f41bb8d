#!/usr/bin/env python3
"""Train the bundled Chinese offensive-language classifier from the COLDataset train split.

    .venv/bin/python scripts/train_classifier.py [--data ../shared/data/COLDataset/COLDataset]
        [--out src/hegui/guard/classifier/cold_char_ngram_lr.json.gz]

Character 1..3-grams, binary and L2-scaled (the features of `hegui.guard.classifier.model`), logistic
regression with an L2 penalty fitted by L-BFGS (numpy + scipy, development tools only; inference needs
neither). The penalty is chosen on a 10 % hold-out of the train split, the decision threshold too; the
dev split is touched only once, at the end, for the reported precision and recall. Weights below a
small magnitude are pruned so that the artifact stays small. The data is not copied into the repository:
only the learned weights are.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import optimize, sparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from hegui.guard.classifier.model import FORMAT, NgramModel, ngrams  # noqa: E402

LOW, HIGH = 1, 3
MIN_DF = 2


def read_split(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["TEXT"] for r in rows], np.array([int(r["label"]) for r in rows], dtype=np.float64)


def vectorize(texts: list[str], vocab: dict[str, int]) -> sparse.csr_matrix:
    indptr, indices, values = [0], [], []
    for t in texts:
        grams = ngrams(t, LOW, HIGH)
        scale = 1.0 / np.sqrt(len(grams)) if grams else 0.0
        cols = [vocab[g] for g in grams if g in vocab]
        indices.extend(cols)
        values.extend([scale] * len(cols))
        indptr.append(len(indices))
    return sparse.csr_matrix((values, indices, indptr), shape=(len(texts), len(vocab)))


def fit(x: sparse.csr_matrix, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    n, d = x.shape

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:d], params[d]
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
        ll = np.logaddexp(0, z) - y * z
        g = p - y
        grad_w = x.T @ g / n + l2 * w
        return float(ll.mean() + 0.5 * l2 * w @ w), np.append(grad_w, g.mean())

    res = optimize.minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 400})
    return res.x[:d], float(res.x[d])


def prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    tp = float(((pred == 1) & (y == 1)).sum())
    fp = float(((pred == 1) & (y == 0)).sum())
    fn = float(((pred == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "accuracy": round(float((pred == y).mean()), 4),
        "n": len(y),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/data/COLDataset/COLDataset")
    ap.add_argument(
        "--out", type=Path, default=REPO / "src/hegui/guard/classifier/cold_char_ngram_lr.json.gz"
    )
    ap.add_argument("--prune", type=float, default=0.05, help="drop weights with smaller magnitude")
    args = ap.parse_args()
    started = time.perf_counter()

    texts, y = read_split(args.data / "train.csv")
    rng = np.random.default_rng(20250901)
    order = rng.permutation(len(texts))
    cut = len(texts) // 10
    hold, fit_idx = order[:cut], order[cut:]

    df: dict[str, int] = {}
    for i in fit_idx:
        for g in ngrams(texts[i], LOW, HIGH):
            df[g] = df.get(g, 0) + 1
    vocab = {g: j for j, g in enumerate(sorted(g for g, c in df.items() if c >= MIN_DF))}
    x_all = vectorize(texts, vocab)
    x_fit, y_fit, x_hold, y_hold = x_all[fit_idx], y[fit_idx], x_all[hold], y[hold]
    print(f"vocabulary {len(vocab):,} n-grams; fit {len(fit_idx):,}, hold-out {len(hold):,}")

    best: tuple[float, float, float] = (-1.0, 0.0, 0.5)
    for l2 in (1e-4, 3e-5, 1e-5, 3e-6):
        w, b = fit(x_fit, y_fit, l2)
        z = x_hold @ w + b
        for thr in np.linspace(0.3, 0.7, 41):
            f1 = prf(y_hold, (1 / (1 + np.exp(-z)) >= thr).astype(float))["f1"]
            if f1 > best[0]:
                best = (f1, l2, float(thr))
        print(f"  l2={l2:g}: best hold-out F1 so far {best[0]:.4f} (l2={best[1]:g}, threshold={best[2]:.2f})")

    _, l2, threshold = best
    # Refit on the whole train split with the chosen penalty (vocabulary from the whole split too).
    df = {}
    for t in texts:
        for g in ngrams(t, LOW, HIGH):
            df[g] = df.get(g, 0) + 1
    vocab = {g: j for j, g in enumerate(sorted(g for g, c in df.items() if c >= MIN_DF))}
    w, b = fit(vectorize(texts, vocab), y, l2)
    kept = {g: round(float(w[j]), 4) for g, j in vocab.items() if abs(w[j]) >= args.prune}

    artifact = {
        "format": FORMAT,
        "ngram_range": [LOW, HIGH],
        "bias": round(b, 6),
        "threshold": round(threshold, 4),
        "weights": dict(sorted(kept.items())),
        "trained_on": "COLDataset train split (thu-coai/COLDataset a0c55a9, Apache-2.0)",
        "hyperparameters": {"l2": l2, "min_df": MIN_DF, "prune": args.prune},
        "metrics": {},
    }
    # Dev metrics with the pruned weights, through the same pure-Python inference the check uses.
    model = NgramModel(artifact, source="<training>")
    dev_texts, dev_y = read_split(args.data / "dev.csv")
    probs = np.array([model.score(t).probability for t in dev_texts])
    seen = set(texts)
    unseen = np.array([t not in seen for t in dev_texts])
    pred = (probs >= threshold).astype(float)
    artifact["metrics"] = {
        "dev": prf(dev_y, pred),
        # The 30-odd dev rows whose exact text is also in train are left out here.
        "dev_unseen": prf(dev_y[unseen], pred[unseen]),
        "dev_at_0.5": prf(dev_y, (probs >= 0.5).astype(float)),
    }
    args.out.write_bytes(gzip.compress(json.dumps(artifact, ensure_ascii=False).encode(), mtime=0))
    print(f"kept {len(kept):,} of {len(vocab):,} weights; artifact {args.out.stat().st_size / 1e6:.2f} MB")
    for name, m in artifact["metrics"].items():
        print(f"{name}: {m}")
    print(f"trained in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
