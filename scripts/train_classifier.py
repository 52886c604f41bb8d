#!/usr/bin/env python3
"""Train the bundled offensive-comment classifier (the guard's A.2 specialist).

    PYTHONPATH=src .venv/bin/python scripts/train_classifier.py [--out DIR] [--l2 1e-5]

Data (``scripts/guard_data.py``, its fixed train/dev split): the train rows of COLDataset (its own
train.csv) and SWSR (group hash split), offensive = 1, safe = 0; the harmful A.2 prompts of the prompt
sets' train rows (JailBench, XSafety, MultiJail, jade-db; offensive statements and requests for them),
offensive = 1, because the fusion asks this model to confirm the prompt model's A.2 refusals; and the
train rows of the everyday dialogue sets LCCC and KdConv as hard negatives (safe), together weighing a
quarter of the safe comments, so that ordinary chat is not called offensive.

* **Fitting** uses those train rows minus the **calibration part**: the rows whose group has
  ``sha256("hegui-calib-v1:" + group) % 10 == 0`` (the rule of ``scripts/train_guard_models.py``; a
  COLD row's group is its normalized text). The shipped weights are the fitted ones: the calibration
  figures are held-out figures of the shipped model.
* **Choosing**, on the calibration part only: the threshold is the smallest at which at most 10 % of the
  safe calibration comments (COLD and SWSR pooled) are flagged; the L2 penalty is the one (of 3e-5,
  1e-5, 3e-6) that flags the largest share of the offensive calibration comments at its threshold.
* ``--team-share S`` (0, off, for the bundled model): the team-written benign requests
  (``scripts/team_data``) join the safe rows, together S of the safe comments' weight; measured on
  2026-12-02 and not adopted (docs/guard-checks.md); ``--request-weight W`` (1 for the bundled model):
  one harmful A.2 prompt weighs W comments; 5 and 20 measured the same day, not adopted.
* **dev** (COLD dev.csv, SWSR's dev groups, LCCC and KdConv dev turns) is scored once, after every
  choice, for the figures stored in the artifact.

Features: the judgement models' featurizer (`hegui.guard.judge.features`): `hegui.text.normalize`, then
character 1–4-grams hashed into 2^24 buckets, windows of 128 normalized characters moving by 64 (a
training text longer than a window is cut into windows, each weighing 1/number of windows); only the
buckets seen in at least two fitting texts get a weight (an explicit vocabulary: an unseen n-gram counts
nothing). Model: logistic regression with an L2 penalty (scipy's L-BFGS, a development tool only),
stored as `hegui.guard.classifier.hashed.HashedModel`. Only bucket ids and weights are written: no text
of the data sets enters the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import optimize, sparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from guard_data import DEFAULT_ROOT, TEAM_FILES, TEAM_ROOT, Example, load_inputs  # noqa: E402

from hegui.guard.classifier.hashed import HashedModel  # noqa: E402
from hegui.guard.classifier.model import BUNDLED_ARTIFACT  # noqa: E402
from hegui.guard.judge.features import FeatureConfig, featurize  # noqa: E402
from hegui.guard.judge.idtable import IdTable  # noqa: E402

CALIB_SALT = "hegui-calib-v1:"
CONFIG = FeatureConfig(ngram_min=1, ngram_max=4, buckets_log2=24, window=128, stride=64)
#: An n-gram has a weight only when it occurs in at least this many fitting texts.
MIN_TEXTS = 2
COMMENTS = ("cold", "swsr")
HARD_NEGATIVES = ("lccc", "kdconv")
#: The hard negatives together weigh this share of the safe comments' weight.
HARD_SHARE = 0.25
#: The team-written benign requests (scripts/team_data: everyday requests, questions about harmful
#: subjects, knowledge questions), with ``--team-share S``: together S of the safe comments' weight.
TEAM_SOURCES = tuple(dict.fromkeys(source for _, source in TEAM_FILES))
L2_GRID = (3e-5, 1e-5, 3e-6)
#: At most this share of the safe calibration comments is flagged (issue 10: safe comments ≤ 10 %).
SAFE_TARGET = 0.10
SOURCES = [
    "COLDataset train split (thu-coai/COLDataset @ a0c55a945497, Apache-2.0)",
    "SWSR train groups (aggiejiang/SWSR @ 7b320184da8f, MIT)",
    "CDial-GPT LCCC sample, train groups (thu-coai/CDial-GPT @ 81064865221d, MIT)",
    "KdConv train groups (thu-coai/KdConv @ 653db76432de, Apache-2.0)",
    "A.2 harmful prompts, train groups: JailBench (STAIR-BUPT/JailBench @ 5f474072db52, MIT), XSafety "
    "(Jarviswang94/Multilingual_safety_benchmark @ 8c55b6a6cda5, Apache-2.0), MultiJail "
    "(DAMO-NLP-SG/multilingual-safety-for-LLMs @ 577ac511437e, MIT), jade-db "
    "(whitzard-ai/jade-db @ 812de63691d1, MIT)",
]


def is_calibration(group: str) -> bool:
    return int(hashlib.sha256((CALIB_SALT + group).encode("utf-8")).hexdigest()[:16], 16) % 10 == 0


def label(e: Example) -> float:
    return 1.0 if e.label == "harmful" else 0.0


def is_request(e: Example) -> bool:
    """A harmful prompt of risk A.2 from the prompt sets (SafetyBench left out: its items come partly from
    COLD, whose dev rows must not be trained on)."""
    return e.label == "harmful" and e.risk == "A.2" and e.source not in (*COMMENTS, "safetybench")


def row_weights(rows: Sequence[Example], team_share: float = 0.0, request_weight: float = 1.0) -> np.ndarray:
    """1 per comment, ``request_weight`` per A.2 request; the hard negatives share HARD_SHARE of the safe
    comments' weight, the team's requests ``team_share`` of it."""
    safe = sum(1 for e in rows if e.source in COMMENTS and e.label != "harmful")
    hard = sum(1 for e in rows if e.source in HARD_NEGATIVES)
    team = sum(1 for e in rows if e.source in TEAM_SOURCES)
    per_hard = HARD_SHARE * safe / hard if hard else 0.0
    per_team = team_share * safe / team if team else 0.0

    def weight(e: Example) -> float:
        if e.source in HARD_NEGATIVES:
            return per_hard
        if e.source in TEAM_SOURCES:
            return per_team
        return request_weight if is_request(e) else 1.0

    return np.array([weight(e) for e in rows])


def text_buckets(texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]]:
    """Per text: the bucket ids of its valid n-grams by position (``-1`` where invalid), the number of
    valid n-grams per position, and its windows (as the model scores them)."""
    out = []
    for text in texts:
        feats = featurize(text, CONFIG)
        ids = np.where(feats.valid, feats.buckets, -1)
        windows = [(int(a), int(b)) for a, b in zip(feats.starts, feats.ends, strict=True)]
        out.append((ids, feats.valid.sum(axis=1), windows))
    return out


def vocabulary(featurized: Sequence[tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]]) -> np.ndarray:
    """The bucket ids that occur in at least MIN_TEXTS texts, sorted."""
    per_text = [np.unique(ids[ids >= 0]) for ids, _, _ in featurized]
    ids, counts = np.unique(np.concatenate(per_text), return_counts=True)
    return ids[counts >= MIN_TEXTS].astype(np.int64)


def design(
    featurized: Sequence[tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]], vocab: np.ndarray
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """One row per window of every text (columns: the vocabulary), and the index of the text of each row.
    A value is 1/sqrt(number of valid n-grams of the window), known or not, as at run time."""
    indptr, indices, values, owner = [0], [], [], []
    table = IdTable(vocab)  # the model's own look-up (`HashedModel`): one implementation
    for t, (ids, valid, windows) in enumerate(featurized):
        for start, end in windows:
            rows = ids[start:end].ravel()
            rows = rows[rows >= 0]
            pos = table.lookup(rows.astype(np.uint32))
            cols = pos[pos != table.missing]
            n = int(valid[start:end].sum())
            indices.append(cols)
            values.append(np.full(len(cols), 1.0 / np.sqrt(n) if n else 0.0, dtype=np.float32))
            indptr.append(indptr[-1] + len(cols))
            owner.append(t)
    x = sparse.csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)),
        shape=(len(owner), len(vocab)),
    )
    x.sum_duplicates()
    return x, np.array(owner)


def fit(x: sparse.csr_matrix, y: np.ndarray, weight: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Weighted logistic regression, L2 penalty on the weights (not the bias)."""
    d = x.shape[1]
    w_norm = weight / weight.sum()
    xt = x.T.tocsr()

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:d], params[d]
        z = x @ w + b
        g = (1.0 / (1.0 + np.exp(-np.clip(z, -60, 60))) - y) * w_norm
        value = float((w_norm * (np.logaddexp(0, z) - y * z)).sum() + 0.5 * l2 * w @ w)
        return value, np.append(xt @ g + l2 * w, g.sum())

    res = optimize.minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 600})
    return res.x[:d], float(res.x[d])


def to_model(vocab: np.ndarray, w: np.ndarray, b: float, threshold: float) -> HashedModel:
    """The model as it will be stored: float16 weights (so calibration sees the shipped scores)."""
    weights = w.astype(np.float16).astype(np.float32)
    return HashedModel(CONFIG, vocab, weights, float(np.float32(b)), threshold, sources=list(SOURCES))


def scores(model: HashedModel, rows: Sequence[Example]) -> np.ndarray:
    return np.array([model.score(e.text).probability for e in rows])


def safe_threshold(safe: np.ndarray) -> float:
    """The smallest threshold at which at most SAFE_TARGET of ``safe`` scores reach it."""
    ordered = np.sort(safe)[::-1]
    allowed = int(np.floor(SAFE_TARGET * len(ordered)))
    # Flag at most ``allowed`` rows: above the score of row ``allowed`` (0-based, descending), rounded up
    # to four decimals (the stored precision).
    return min(math.floor(float(ordered[allowed]) * 1e4 + 1) / 1e4, 0.99)


def report(p: np.ndarray, rows: Sequence[Example], threshold: float) -> dict[str, dict[str, float]]:
    """Share flagged per source/label, and pooled offensive / safe comments."""
    out: dict[str, dict[str, float]] = {}
    keys = sorted({f"{e.source}/{e.label}" for e in rows})
    keys += ["comments/harmful", "comments/benign"]
    for key in keys:
        src, lab = key.split("/")
        mask = np.array(
            [
                (e.source == src or (src == "comments" and e.source in COMMENTS)) and e.label == lab
                for e in rows
            ]
        )
        if mask.any():
            out[key] = {"n": int(mask.sum()), "flagged": round(float((p[mask] >= threshold).mean()), 4)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--out", type=Path, default=REPO / "src/hegui/guard/classifier")
    ap.add_argument("--l2", type=float, default=None, help="skip the search and use this penalty")
    ap.add_argument("--no-dev", dest="dev", action="store_false", help="do not score dev (exploring)")
    ap.add_argument(
        "--team-share",
        type=float,
        default=0.0,
        help="the team-written benign requests (scripts/team_data) as safe rows weighing together this "
        "share of the safe comments' weight; 0: not read (the bundled model)",
    )
    ap.add_argument(
        "--request-weight",
        type=float,
        default=1.0,
        help="weight of one harmful A.2 prompt of the prompt sets (a comment weighs 1)",
    )
    args = ap.parse_args()
    if args.team_share < 0 or args.request_weight <= 0:
        ap.error("--team-share must be >= 0 and --request-weight > 0")
    started = time.perf_counter()
    rows = load_inputs(args.data, team_root=TEAM_ROOT if args.team_share > 0 else None)
    keep = (*COMMENTS, *HARD_NEGATIVES, *TEAM_SOURCES)
    inputs = [e for e in rows if e.source in keep or is_request(e)]
    train = [e for e in inputs if e.split == "train"]
    fit_rows = [e for e in train if not is_calibration(e.group)]
    calib = [e for e in train if is_calibration(e.group)]
    dev = [e for e in inputs if e.split == "dev"]
    print(f"fit {len(fit_rows):,}, calibration {len(calib):,}, dev {len(dev):,} rows", flush=True)

    featurized = text_buckets([e.text for e in fit_rows])
    vocab = vocabulary(featurized)
    x, owner = design(featurized, vocab)
    del featurized
    print(f"vocabulary {len(vocab):,} n-grams", flush=True)
    per_text = np.bincount(owner, minlength=len(fit_rows))
    y = np.array([label(e) for e in fit_rows])[owner]
    weight = (row_weights(fit_rows, args.team_share, args.request_weight) / per_text)[owner]
    is_comment = np.array([e.source in COMMENTS for e in calib])
    offensive = is_comment & np.array([e.label == "harmful" for e in calib])
    safe = is_comment & ~offensive

    best: tuple[float, float, HashedModel, np.ndarray] | None = None
    log: dict[str, float] = {}
    for l2 in (args.l2,) if args.l2 else L2_GRID:
        w, b = fit(x, y, weight, l2)
        model = to_model(vocab, w, b, 0.5)
        p = scores(model, calib)
        threshold = safe_threshold(p[safe])
        quality = float((p[offensive] >= threshold).mean())
        log[f"{l2:g}"] = round(quality, 4)
        print(f"  l2={l2:g}: threshold {threshold:.4f}, offensive calibration comments flagged {quality:.4f}")
        if best is None or quality > best[0]:
            best = (quality, l2, to_model(vocab, w, b, threshold), p)
    assert best is not None
    _, l2, model, p_calib = best
    threshold = model.threshold

    p_dev = scores(model, dev) if args.dev else np.zeros(0)  # once, after every choice
    model.metrics = {
        "l2": l2,
        "l2_calibration_offensive_flagged": log,
        "threshold_rule": f"smallest threshold flagging at most {SAFE_TARGET:.0%} of safe calibration comments",
        "hard_negative_share": HARD_SHARE,
        "team_share": args.team_share,
        "request_weight": args.request_weight,
        "counts": {"fit": len(fit_rows), "calibration": len(calib), "dev": len(dev)},
        "calibration": report(p_calib, calib, threshold),
        "dev": report(p_dev, dev, threshold) if args.dev else {},
    }
    model.extra = {"calibration_salt": CALIB_SALT, "split_salt": "hegui-split-v1:"}
    out = args.out / BUNDLED_ARTIFACT
    model.save(out)
    print(f"chose l2={l2:g}, threshold {threshold:.4f}; wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    for part in ("calibration", "dev"):
        for key, row in model.metrics[part].items():
            print(f"  {part:12s} {key:20s} n={row['n']:6d} flagged {100 * row['flagged']:.1f} %")
    print(f"trained in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
