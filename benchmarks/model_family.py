"""Benchmark: which model family should the harmful-request model (`prompt_model`) be? Issue 10, item 3.

    PYTHONPATH=src .venv/bin/python benchmarks/model_family.py [--sample 0.3] [--families a,b,c,d]
        [--no-write]

Every family is trained on the SAME fitting rows and judged on the calibration part of train only, both
exactly as ``scripts/train_guard_models.py`` defines them (its functions are imported: `is_calibration`,
`build` for labels and weights, `design` for the windows, `fit_softmax`, `threshold_for`); the dev split
is never read. The families:

* **a** -- the shipped family, retrained the same way: softmax regression over hashed character 1-4-grams
  of the normalized text (2^18 buckets, frames dropped, windows of 128 moving by 64 plus sentence
  windows), L2 1e-5, L-BFGS.
* **b** -- the same plus word features: the normalized text cut by rjieba (dictionary words, no HMM, as
  `hegui.guard.lexicon.segment`), word unigrams of two or more characters and word bigrams hashed (their
  own seeds) into the same 2^18 table, each counted at its first character's position (so the
  cumulative-sum window scheme is unchanged); words that touch a frame are dropped like n-grams.
* **c** -- fastText-style: an embedding of ``--dim`` numbers per bucket of the same character n-grams,
  summed over a window (scaled by 1/sqrt(n-grams), as the linear model's features), a ReLU, then a
  softmax layer. Trained here with numpy: mini-batch Adam with sparse (lazy) updates of the embedding
  rows a batch touches, the rows start at zero (an untouched bucket adds nothing), the same per-window
  weights as the linear model. The number of epochs is chosen on the calibration part by the script's
  criterion (as the script chooses its L2). Inference: the embedding sum is linear, so a window's sum is
  a difference of two cumulative sums, as for the linear model.
* **d** -- the mean of the window probabilities of a and c (an ensemble: the cost of both).

Each family's *balanced* refusal threshold is set by the script's rule (mean over the benign prompt and
dialogue sources of the calibration part: at most 3 % refused); at it the table gives should-refuse
recall (harmful prompt sources, comments apart) overall and per risk A.1-A.5, each benign source's
refusal rate, COLD / SWSR offensive and safe comments refused, the script's calibration criterion, the
training time, the artifact size (float16 weights, zip-compressed) and the mean and p99 CPU time
(``time.thread_time``) of scoring one 2,000-character prompt (calibration texts joined; the families
interleaved prompt by prompt, so a busy moment weighs on all alike). The table also gives slices of the
curves that do not depend on the rule's point: recall at 1 % and 2 % of the pooled benign prompts and
dialogue refused, offensive comments refused at 10 % of the safe ones. **Noise**: a paired cluster bootstrap over the calibration groups (the
threshold set again by the rule in every resample) of each family's difference to a in recall and in
mean benign refusal, and the count of harmful prompts only one of the two refuses.

Scores on the calibration part are computed from the design matrices (window logits = X @ W) with the
weights rounded to float16, as the artifact stores them: the same numbers the run-time scorer gives.
Writes benchmarks/RESULTS.md, section "model_family" (``--no-write``: print only).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(Path(__file__).parent))

from guard_data import DEFAULT_ROOT, Example, load_inputs  # noqa: E402
from train_guard_models import (  # noqa: E402
    COMMENT_SOURCES,
    PROMPT_TARGETS,
    Design,
    build,
    design,
    fit_softmax,
    in_threshold_rule,
    is_calibration,
    threshold_for,
)

from hegui.guard.judge.features import (  # noqa: E402
    _GOLDEN,
    FeatureConfig,
    Features,
    codes_of,
    featurize,
    frame_mask,
)
from hegui.guard.judge.linear import LinearModel  # noqa: E402
from hegui.guard.judge.prompt import PROMPT_CLASSES, PROMPT_CONFIG  # noqa: E402

F32 = npt.NDArray[np.float32]
CONFIG = replace(PROMPT_CONFIG, frames=1)
L2 = 1e-5
RISKS = ("A.1", "A.2", "A.3", "A.4", "A.5")


# --- word features (family b) -------------------------------------------------------------------------

_B = np.uint64(0x100000001B3)
_WORD_SEED = np.uint64(0x51ED270B27A2D5C1)
_BIGRAM_SEED = np.uint64(0x2545F4914F6CDD1D)
_POW_CACHE: dict[int, tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]] = {}


def _powers(n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """B^k and B^-k modulo 2^64 for k < n (B is odd, so it has an inverse)."""
    size = 1 << max(12, (n - 1).bit_length())
    if size not in _POW_CACHE:
        inv = pow(int(_B), -1, 1 << 64)
        # uint64 throughout (a Python int list concatenated with uint64 would give float64), wrapping
        # modulo 2^64 as the hash needs.
        fwd = np.full(size, int(_B), np.uint64)
        back = np.full(size, inv, np.uint64)
        fwd[0] = back[0] = 1
        _POW_CACHE[size] = (np.cumprod(fwd, dtype=np.uint64), np.cumprod(back, dtype=np.uint64))
    return _POW_CACHE[size]


def _mix(h: npt.NDArray[np.uint64], seed: np.uint64, shift: np.uint64) -> npt.NDArray[np.int64]:
    return (((h ^ seed) * _GOLDEN) >> shift).astype(np.int64)


def with_words(feats: Features, config: FeatureConfig) -> Features:
    """``feats`` with two more columns: the word unigram (2+ characters) and the word bigram that start at
    each position (hashed with their own seeds into the same buckets); invalid elsewhere."""
    import rjieba

    text = feats.normalized.text
    length = feats.buckets.shape[0]
    extra = np.zeros((length, 2), np.int64)
    ok = np.zeros((length, 2), bool)
    if length:
        words = list(rjieba.cut(text[:length], False))
        sizes = np.fromiter((len(w) for w in words), np.intp, len(words))
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        ends = starts + sizes
        codes = codes_of(text[:length])
        fwd, back = _powers(length + 1)
        g = np.zeros(length + 1, np.uint64)
        np.cumsum(codes * back[:length], out=g[1:])
        # hash(l..r) = sum c[k] B^(r-1-k) = B^(r-1) * (G[r] - G[l]) (mod 2^64)
        wh = (g[ends] - g[starts]) * fwd[ends - 1]
        covered = np.zeros(length + 1, np.int64)
        np.cumsum(frame_mask(text[:length]), out=covered[1:])
        free = covered[ends] == covered[starts]
        shift = np.uint64(64 - config.buckets_log2)
        uni = (sizes >= 2) & free
        extra[starts[uni], 0] = _mix(wh[uni], _WORD_SEED, shift)
        ok[starts[uni], 0] = True
        if len(words) > 1:
            pair = free[:-1] & free[1:] & (sizes[:-1] + sizes[1:] >= 3)
            bh = wh[:-1] * _B + wh[1:]
            extra[starts[:-1][pair], 1] = _mix(bh[pair], _BIGRAM_SEED, shift)
            ok[starts[:-1][pair], 1] = True
    return Features(
        feats.normalized,
        np.concatenate([feats.buckets, extra], axis=1),
        np.concatenate([feats.valid, ok], axis=1),
        feats.starts,
        feats.ends,
    )


def featurize_words(text: str, config: FeatureConfig) -> Features:
    return with_words(featurize(text, config), config)


# --- the families as window scorers --------------------------------------------------------------------


@dataclass
class Family:
    """A trained family: window logits from a window design matrix, and a run-time scorer of one text."""

    key: str
    name: str
    #: ``X`` (windows x buckets, rows scaled by 1/sqrt(n)) -> window class probabilities.
    window_probs: Callable[[sparse.csr_matrix], F32]
    #: one text -> P(harmful) (the run-time path: featurize, gather, cumulative sums, windows).
    score_text: Callable[[str], float]
    arrays: dict[str, npt.NDArray[np.float16] | npt.NDArray[np.float32]]
    train_seconds: float
    featurizer: str = "char"
    notes: str = ""
    log: dict[str, float] = field(default_factory=dict)


def softmax(z: npt.NDArray[np.float64]) -> F32:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def window_sums(table: F32, feats: Features) -> tuple[npt.NDArray[np.float64], bool]:
    """Per window: the sum of the table rows of its valid n-grams / sqrt(their number) (as
    `LinearModel.score`); the bool says the text was empty."""
    if len(feats.ends) == 1 and feats.ends[0] == 0:
        return np.zeros((1, table.shape[1])), True
    zero = len(table) - 1  # the padded zero row
    index = np.where(feats.valid, feats.buckets, zero)
    per_pos = np.take(table, index[:, 0], axis=0)
    for j in range(1, index.shape[1]):
        per_pos += np.take(table, index[:, j], axis=0)
    # Cumulative sums over the window boundaries only: the segment sums between consecutive boundaries
    # (np.add.reduceat, one contiguous pass), then a cumulative sum over the few segments. A cumulative
    # sum over every position along axis 0 costs 0.4 ms for 2,000 x 32 (strided); this about 0.03 ms.
    bounds = np.unique(np.concatenate([feats.starts, feats.ends]))  # 0 ... length
    seg = np.add.reduceat(per_pos, bounds[:-1], axis=0)
    sums = np.zeros((len(bounds), table.shape[1]))
    np.cumsum(seg, axis=0, dtype=np.float64, out=sums[1:])
    a, b = np.searchsorted(bounds, feats.starts), np.searchsorted(bounds, feats.ends)
    width = feats.valid.shape[1]
    counts = np.zeros(len(per_pos) + 1, dtype=np.int64)
    counts[1:] = np.cumsum(feats.valid.reshape(-1), dtype=np.int64)[width - 1 :: width]
    n = np.maximum(counts[feats.ends] - counts[feats.starts], 1).astype(np.float64)
    return (sums[b] - sums[a]) / np.sqrt(n)[:, None], False


def padded(w: npt.NDArray[np.float32]) -> F32:
    w16 = w.astype(np.float16).astype(np.float32)
    return np.vstack([w16, np.zeros((1, w.shape[1]), np.float32)])


def linear_family(
    key: str, name: str, w: F32, b: F32, seconds: float, fn: Callable[[str, FeatureConfig], Features]
) -> Family:
    table = padded(w)
    w16 = table[:-1]
    bias = b.astype(np.float32)

    def probs(x: sparse.csr_matrix) -> F32:
        return softmax(np.asarray(x @ w16, dtype=np.float64) + bias)

    def score(text: str) -> float:
        s, _ = window_sums(table, fn(text, CONFIG))
        return float((1.0 - softmax(s + bias)[:, 0]).max())

    return Family(key, name, probs, score, {"weights": w.astype(np.float16), "bias": bias}, seconds)


@dataclass
class FastText:
    emb: F32  # [buckets x dim]
    b1: F32
    w2: F32  # [dim x classes]
    b2: F32

    def logits(self, s: npt.NDArray[np.float64] | F32) -> npt.NDArray[np.float64]:
        return np.maximum(s + self.b1, 0.0) @ self.w2 + self.b2


def train_fasttext(
    x: sparse.csr_matrix,
    y: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float64],
    *,
    dim: int,
    epochs: int,
    lr: float,
    l2: float,
    seed: int,
    on_epoch: Callable[[int, FastText], None],
    batch: int = 256,
) -> FastText:
    """Mini-batch Adam; the embedding rows with lazy (sparse) Adam: only the rows a batch touches move,
    their L2 penalty applied when touched. ``weight`` is the per-window weight (mean 1)."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    k = len(PROMPT_CLASSES)
    emb = np.zeros((d, dim), np.float32)
    b1 = np.full(dim, 0.1, np.float32)
    w2 = (rng.standard_normal((dim, k)) * np.sqrt(2.0 / (dim + k))).astype(np.float32)
    b2 = np.zeros(k, np.float32)
    m_e, v_e = np.zeros_like(emb), np.zeros_like(emb)
    dense = [b1, w2, b2]
    m_d = [np.zeros_like(p) for p in dense]
    v_d = [np.zeros_like(p) for p in dense]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step = 0
    onehot = np.eye(k, dtype=np.float32)[y]
    weight = (weight / weight.mean()).astype(np.float32)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        for lo in range(0, n, batch):
            rows = order[lo : lo + batch]
            xb = x[rows]
            cols, inv = np.unique(xb.indices, return_inverse=True)
            xc = sparse.csr_matrix((xb.data, inv.reshape(-1), xb.indptr), shape=(len(rows), len(cols)))
            e = emb[cols]
            s = xc @ e
            pre = s + b1
            h = np.maximum(pre, 0.0)
            z = h @ w2 + b2
            p = softmax(z.astype(np.float64))
            wb = weight[rows][:, None] / len(rows)
            dz = (p - onehot[rows]) * wb
            g_w2 = h.T @ dz
            g_b2 = dz.sum(axis=0)
            dh = (dz @ w2.T) * (pre > 0)
            g_b1 = dh.sum(axis=0)
            g_e = np.asarray(xc.T @ dh, dtype=np.float32) + l2 * e
            step += 1
            c1, c2 = 1 - beta1**step, 1 - beta2**step
            for i, g in enumerate((g_b1, g_w2, g_b2)):
                m_d[i] = beta1 * m_d[i] + (1 - beta1) * g
                v_d[i] = beta2 * v_d[i] + (1 - beta2) * g * g
                dense[i] -= (lr * (m_d[i] / c1) / (np.sqrt(v_d[i] / c2) + eps)).astype(np.float32)
            me = beta1 * m_e[cols] + (1 - beta1) * g_e
            ve = beta2 * v_e[cols] + (1 - beta2) * g_e * g_e
            m_e[cols], v_e[cols] = me, ve
            emb[cols] = e - lr * (me / c1) / (np.sqrt(ve / c2) + eps)
        on_epoch(epoch, FastText(emb.copy(), b1.copy(), w2.copy(), b2.copy()))
    return FastText(emb, b1, w2, b2)


def fasttext_family(key: str, ft: FastText, seconds: float, epochs: int) -> Family:
    table = padded(ft.emb)
    e16 = table[:-1]
    model = FastText(e16, ft.b1, ft.w2, ft.b2)

    def probs(x: sparse.csr_matrix) -> F32:
        return softmax(model.logits(np.asarray(x @ e16, dtype=np.float64)))

    def score(text: str) -> float:
        s, _ = window_sums(table, featurize(text, CONFIG))
        return float((1.0 - softmax(model.logits(s))[:, 0]).max())

    dim = ft.emb.shape[1]
    return Family(
        key,
        f"fastText-style: char 1-4-gram embeddings dim {dim}, ReLU, softmax ({epochs} epochs)",
        probs,
        score,
        {"emb": ft.emb.astype(np.float16), "b1": ft.b1, "w2": ft.w2, "b2": ft.b2},
        seconds,
    )


# --- judging on the calibration part ----------------------------------------------------------------------


@dataclass
class Calib:
    examples: list[Example]
    #: window design of each featurizer, and each window's text
    owner: npt.NDArray[np.intp]
    groups: npt.NDArray[np.intp]
    harmful_prompt: npt.NDArray[np.bool_]
    benign_sources: dict[str, npt.NDArray[np.intp]]


def text_scores(family: Family, x: sparse.csr_matrix, owner: npt.NDArray[np.intp], n: int) -> F32:
    probs = family.window_probs(x)
    harm = 1.0 - probs[:, 0]
    out = np.zeros(n, np.float32)
    np.maximum.at(out, owner, harm)
    return out


def rule_benign_index(calib: list[Example]) -> dict[str, npt.NDArray[np.intp]]:
    """Per benign source of the threshold rule (`train_guard_models.in_threshold_rule`), the indices of its
    rows in ``calib``."""
    benign: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(calib):
        if in_threshold_rule(e):
            benign[e.source].append(i)
    return {s: np.array(v, dtype=np.intp) for s, v in benign.items()}


def balanced_threshold(scores: F32, benign: dict[str, npt.NDArray[np.intp]], target: float = 0.03) -> float:
    return threshold_for({s: scores[i] for s, i in benign.items() if len(i) >= 5}, target)


@dataclass
class Judged:
    threshold: float
    refused: npt.NDArray[np.bool_]
    rows: dict[str, tuple[int, float]]
    quality: float
    mean_benign: float


def judge(scores: F32, examples: list[Example], benign: dict[str, npt.NDArray[np.intp]]) -> Judged:
    t = balanced_threshold(scores, benign)
    refused = scores >= t
    rows: dict[str, tuple[int, float]] = {}

    def rate(mask: npt.NDArray[np.bool_]) -> tuple[int, float]:
        n = int(mask.sum())
        return n, float(refused[mask].mean()) if n else float("nan")

    src = np.array([e.source for e in examples])
    label = np.array([e.label for e in examples])
    risk = np.array([e.risk for e in examples])
    comment = np.isin(src, COMMENT_SOURCES)
    harmful = (label == "harmful") & ~comment
    rows["should-refuse"] = rate(harmful)
    for r in RISKS:
        rows[f"should-refuse {r}"] = rate(harmful & (risk == r))
    for s in sorted(set(src[harmful])):
        rows[f"harmful {s}"] = rate(harmful & (src == s))
    for s in sorted(benign):
        rows[f"benign {s}"] = rate(np.zeros(len(src), bool) | np.isin(np.arange(len(src)), benign[s]))
    for s in ("cold", "swsr"):
        rows[f"{s} offensive"] = rate((src == s) & (label == "harmful"))
        rows[f"{s} safe"] = rate((src == s) & (label != "harmful"))
    # The script's criterion: mean over harmful sources (comments included) minus mean safe comments.
    h_rates = [
        float(refused[(label == "harmful") & (src == s)].mean())
        for s in set(src[label == "harmful"])
        if ((label == "harmful") & (src == s)).sum() >= 5
    ]
    s_rates = [
        float(refused[(label != "harmful") & (src == s)].mean())
        for s in ("cold", "swsr")
        if ((label != "harmful") & (src == s)).any()
    ]
    mean_benign = float(np.mean([refused[i].mean() for i in benign.values() if len(i) >= 5]))
    # Slices of the curves, independent of the rule's point: should-refuse recall where the pooled benign
    # prompts and dialogue are refused at 1 % / 2 %, offensive comments where 10 % of the safe are.
    pooled = scores[np.concatenate(list(benign.values()))]
    for share in (0.01, 0.02):
        cut = float(np.quantile(pooled, 1 - share))
        rows[f"should-refuse at {share:.0%} pooled benign refused"] = (
            int(harmful.sum()),
            float((scores[harmful] > cut).mean()),
        )
    for s in ("cold", "swsr"):
        safe = scores[(src == s) & (label != "harmful")]
        if not len(safe):
            continue
        cut = float(np.quantile(safe, 0.9))
        off = (src == s) & (label == "harmful")
        rows[f"{s} offensive at 10 % safe refused"] = (int(off.sum()), float((scores[off] > cut).mean()))
    quality = float(np.mean(h_rates) - (np.mean(s_rates) if s_rates else 0.0))
    return Judged(t, refused, rows, quality, mean_benign)


@dataclass
class Noise:
    recall_lo: float
    recall_hi: float
    benign_lo: float
    benign_hi: float
    only_this: int
    only_base: int


def paired_bootstrap(
    scores: F32,
    base: F32,
    examples: list[Example],
    benign: dict[str, npt.NDArray[np.intp]],
    reps: int,
    seed: int = 11,
) -> Noise:
    """Cluster bootstrap over groups: recall and mean-benign differences (this - base), thresholds refit."""
    rng = np.random.default_rng(seed)
    groups = sorted({e.group for e in examples})
    gid = {g: i for i, g in enumerate(groups)}
    owner = np.array([gid[e.group] for e in examples])
    members: list[list[int]] = [[] for _ in groups]
    for i, o in enumerate(owner):
        members[o].append(i)
    harmful = np.array([e.label == "harmful" and e.source not in COMMENT_SOURCES for e in examples])
    src_of = {i: s for s, idx in benign.items() for i in idx}
    d_rec, d_ben = [], []
    for _ in range(reps):
        pick = np.concatenate([members[g] for g in rng.integers(0, len(groups), len(groups))]).astype(np.intp)
        by_src: dict[str, list[int]] = defaultdict(list)
        for i in pick:
            if int(i) in src_of:
                by_src[src_of[int(i)]].append(int(i))
        bsrc = {s: np.array(v) for s, v in by_src.items()}
        hp = pick[harmful[pick]]
        out = []
        for sc in (scores, base):
            t = threshold_for({s: sc[i] for s, i in bsrc.items() if len(i) >= 5}, 0.03)
            out.append(
                (
                    float((sc[hp] >= t).mean()),
                    float(np.mean([(sc[i] >= t).mean() for i in bsrc.values() if len(i) >= 5])),
                )
            )
        d_rec.append(out[0][0] - out[1][0])
        d_ben.append(out[0][1] - out[1][1])
    t_this = balanced_threshold(scores, benign)
    t_base = balanced_threshold(base, benign)
    a, b = scores[harmful] >= t_this, base[harmful] >= t_base
    return Noise(
        float(np.percentile(d_rec, 2.5)),
        float(np.percentile(d_rec, 97.5)),
        float(np.percentile(d_ben, 2.5)),
        float(np.percentile(d_ben, 97.5)),
        int((a & ~b).sum()),
        int((b & ~a).sum()),
    )


def artifact_mb(arrays: dict[str, npt.NDArray[np.float16] | npt.NDArray[np.float32]]) -> float:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    return len(buf.getvalue()) / 1e6


def long_prompts(examples: list[Example], count: int, length: int = 2000) -> list[str]:
    rng = np.random.default_rng(5)
    texts = [e.text for e in examples]
    out = []
    for _ in range(count):
        parts: list[str] = []
        total = 0
        while total < length:
            t = texts[int(rng.integers(len(texts)))]
            parts.append(t + "。")
            total += len(t) + 1
        out.append("".join(parts)[:length])
    return out


def timing(families: Sequence[Family], prompts: list[str], runs: int) -> dict[str, tuple[float, float]]:
    """Mean and p99 CPU time per family, interleaved (each prompt scored by every family in turn), so
    that a busy moment on this shared machine weighs on all of them alike."""
    for fam in families:
        for p in prompts[:10]:
            fam.score_text(p)
    samples: dict[str, list[float]] = {f.key: [] for f in families}
    for i in range(runs):
        p = prompts[i % len(prompts)]
        for fam in families:
            t0 = time.thread_time()
            fam.score_text(p)
            samples[fam.key].append(time.thread_time() - t0)
    out = {}
    for key, values in samples.items():
        ordered = sorted(values)
        out[key] = (float(np.mean(values)) * 1e3, ordered[int(0.99 * (len(ordered) - 1))] * 1e3)
    return out


# --- main ----------------------------------------------------------------------------------------------


def train_c(
    key: str,
    dim: int,
    dm: Design,
    win_y: npt.NDArray[np.int64],
    win_w: npt.NDArray[np.float64],
    cm: Design,
    calib: list[Example],
    benign_idx: dict[str, npt.NDArray[np.intp]],
    args: argparse.Namespace,
) -> Family:
    """Family c at one embedding size; the epoch is chosen on the calibration part by the script's
    criterion (as the script chooses its L2)."""
    best: dict[str, object] = {"q": -1.0}
    log: dict[str, float] = {}
    t0 = time.time()

    def on_epoch(epoch: int, ft: FastText) -> None:
        fam = fasttext_family(key, ft, 0.0, epoch)
        sc = text_scores(fam, cm.x, cm.owner, len(calib))
        q = judge(sc, calib, benign_idx).quality
        log[str(epoch)] = round(q, 4)
        print(f"  {key} epoch {epoch}: calibration criterion {q:.4f} ({time.time() - t0:.0f} s)", flush=True)
        if q > float(best["q"]):  # type: ignore[arg-type]
            best.update(q=q, ft=ft, epoch=epoch, seconds=time.time() - t0)

    train_fasttext(
        dm.x, win_y, win_w, dim=dim, epochs=args.epochs, lr=args.lr, l2=args.ft_l2, seed=1, on_epoch=on_epoch
    )
    fam = fasttext_family(key, best["ft"], float(best["seconds"]), int(best["epoch"]))  # type: ignore[arg-type]
    fam.log = log
    fam.notes = f"epochs chosen on calibration (criterion per epoch): {log}"
    return fam


def subsample(examples: list[Example], share: float) -> list[Example]:
    if share >= 1.0:
        return examples

    def bucket(g: str) -> float:
        return int(hashlib.sha256(("hegui-family-sample:" + g).encode()).hexdigest()[:8], 16) / 2**32

    keep = {g for g in {e.group for e in examples} if bucket(g) < share}
    return [e for e in examples if e.group in keep]


def fmt(rate: float) -> str:
    return "–" if np.isnan(rate) else f"{100 * rate:.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--families", default="a,b,c,d")
    parser.add_argument("--sample", type=float, default=1.0, help="share of fitting groups (quick runs)")
    parser.add_argument("--maxiter", type=int, default=400, help="L-BFGS iterations (a, b)")
    parser.add_argument("--dim", default="32,16", help="fastText embedding sizes (c, then c<dim>)")
    parser.add_argument(
        "--epochs", type=int, default=8, help="fastText epochs (c): the best on calibration is kept"
    )
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--ft-l2", type=float, default=1e-6)
    parser.add_argument("--reps", type=int, default=300, help="bootstrap resamples")
    parser.add_argument("--runs", type=int, default=1000, help="timed 2,000-character prompts per family")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    families = set(args.families.split(","))

    inputs = load_inputs(args.data)
    train_all = [e for e in inputs if e.split == "train"]
    del inputs  # dev is never read below
    fit_part = subsample([e for e in train_all if not is_calibration(e.group)], args.sample)
    calib = [e for e in train_all if is_calibration(e.group)]
    print(f"{len(fit_part)} fitting rows, {len(calib)} calibration rows", flush=True)
    data = build(fit_part)
    benign_idx = rule_benign_index(calib)

    t0 = time.time()
    dm = design(data.texts, CONFIG)
    cm = design([e.text for e in calib], CONFIG)
    print(f"char design: {dm.x.shape[0]} windows ({time.time() - t0:.0f} s)", flush=True)
    owner = dm.owner
    per_text = np.bincount(owner, minlength=len(data.texts))
    win_w = data.weight[owner] / per_text[owner]
    win_y = data.y[owner]

    trained: list[tuple[Family, sparse.csr_matrix, npt.NDArray[np.intp]]] = []
    shipped_scorer: Family | None = None

    if families & {"a", "d"}:
        t0 = time.time()
        w, b = fit_softmax(dm.x, win_y, win_w, len(PROMPT_CLASSES), L2, args.maxiter)
        fam = linear_family("a", "linear, char 1-4-grams (shipped family)", w, b, time.time() - t0, featurize)
        trained.append((fam, cm.x, cm.owner))
        placeholder = {p: {"refuse": 0.5, "evidence": 0.3} for p in PROMPT_TARGETS}
        shipped = LinearModel(PROMPT_CLASSES, w.astype(np.float16).astype(np.float32), b, CONFIG, placeholder)

        def shipped_score(text: str) -> float:
            return float((1.0 - shipped.score(text).probabilities[:, 0]).max())

        shipped_scorer = Family(
            "a_shipped", "a with LinearModel.score", fam.window_probs, shipped_score, {}, 0.0
        )
        print(f"a trained ({fam.train_seconds:.0f} s)", flush=True)
    if "b" in families:
        t0 = time.time()
        dmw = design(data.texts, CONFIG, featurizer=featurize_words)
        cmw = design([e.text for e in calib], CONFIG, featurizer=featurize_words)
        design_s = time.time() - t0
        t0 = time.time()
        w, b = fit_softmax(dmw.x, win_y, win_w, len(PROMPT_CLASSES), L2, args.maxiter)
        fam = linear_family(
            "b", "linear, char 1-4-grams + rjieba word uni/bigrams", w, b, time.time() - t0, featurize_words
        )
        fam.notes = f"word design {design_s:.0f} s"
        trained.append((fam, cmw.x, cmw.owner))
        print(f"b trained ({fam.train_seconds:.0f} s)", flush=True)
    if families & {"c", "d"}:
        for n, dim in enumerate(int(d) for d in args.dim.split(",")):
            key = "c" if n == 0 else f"c{dim}"
            fam = train_c(key, dim, dm, win_y, win_w, cm, calib, benign_idx, args)
            trained.append((fam, cm.x, cm.owner))
    scores: dict[str, F32] = {}
    for fam, x, own in trained:
        scores[fam.key] = text_scores(fam, x, own, len(calib))
    if "d" in families and "a" in scores and "c" in scores:
        fa = next(f for f, _, _ in trained if f.key == "a")
        fc = next(f for f, _, _ in trained if f.key == "c")

        def ens_probs(x: sparse.csr_matrix) -> F32:
            return (fa.window_probs(x) + fc.window_probs(x)) / 2

        def ens_score(text: str) -> float:
            fa.score_text(text)
            return fc.score_text(text)  # timing stand-in: the cost of both (the mean is nothing)

        fam = Family(
            "d",
            "ensemble: mean of a and c",
            ens_probs,
            ens_score,
            fa.arrays | fc.arrays,
            fa.train_seconds + fc.train_seconds,
        )
        trained.append((fam, cm.x, cm.owner))
        scores["d"] = text_scores(fam, cm.x, cm.owner, len(calib))

    prompts = long_prompts(calib, 50)
    results = []
    timed = [f for f, _, _ in trained]
    if shipped_scorer is not None:
        timed.append(shipped_scorer)
    times = timing(timed, prompts, args.runs)
    for fam, _, _ in trained:
        j = judge(scores[fam.key], calib, benign_idx)
        mean_ms, p99_ms = times[fam.key]
        noise = (
            paired_bootstrap(scores[fam.key], scores["a"], calib, benign_idx, args.reps)
            if "a" in scores and fam.key != "a"
            else None
        )
        results.append((fam, j, mean_ms, p99_ms, artifact_mb(fam.arrays), noise))
        print(
            f"{fam.key}: threshold {j.threshold:.4f}, should-refuse {fmt(j.rows['should-refuse'][1])}, "
            f"mean benign {fmt(j.mean_benign)}, criterion {j.quality:.4f}, {mean_ms:.3f}/{p99_ms:.3f} ms",
            flush=True,
        )

    lines = report(results, len(fit_part), len(calib), args)
    if "a_shipped" in times:
        m, p = times["a_shipped"]
        lines.append(
            f"a scored by the shipped `LinearModel.score` (a cumulative sum over every position): {m:.3f} / "
            f"{p:.3f} ms mean / p99 CPU; the families above use a cumulative sum over the window boundaries "
            "only (`window_sums`)."
        )
    print("\n".join(lines))
    if not args.no_write:
        from _results import machine, write_section

        write_section("model_family", "\n".join([f"## model_family\n\n{machine()}\n", *lines]))


def report(results: list, n_fit: int, n_cal: int, args: argparse.Namespace) -> list[str]:  # type: ignore[type-arg]
    keys = [f.key for f, *_ in results]
    out = [
        f"Harmful-request model families (issue 10, item 3), trained on the same {n_fit:,} fitting rows, "
        f"judged on the {n_cal:,} calibration rows of train (dev not read). `python "
        f"benchmarks/model_family.py --families {args.families} --sample {args.sample} --dim {args.dim} "
        f"--epochs {args.epochs}`.",
        "",
        "| family | " + " | ".join(keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    out.append("| what | " + " | ".join(f.name for f, *_ in results) + " |")
    out.append("| balanced threshold | " + " | ".join(f"{j.threshold:.4f}" for _, j, *_ in results) + " |")
    out.append(
        "| calibration criterion (script's) | "
        + " | ".join(f"{j.quality:.4f}" for _, j, *_ in results)
        + " |"
    )
    out.append(
        "| mean benign refused (rule: ≤ 3 %) | "
        + " | ".join(fmt(j.mean_benign) for _, j, *_ in results)
        + " |"
    )
    for row in results[0][1].rows:
        n = results[0][1].rows[row][0]
        out.append(f"| {row} (n={n}) | " + " | ".join(fmt(j.rows[row][1]) for _, j, *_ in results) + " |")
    out.append(
        "| Δ should-refuse vs a, 95 % bootstrap | "
        + " | ".join(
            "–" if nz is None else f"{100 * nz.recall_lo:+.1f} … {100 * nz.recall_hi:+.1f}"
            for *_, nz in results
        )
        + " |"
    )
    out.append(
        "| Δ mean benign vs a, 95 % bootstrap | "
        + " | ".join(
            "–" if nz is None else f"{100 * nz.benign_lo:+.1f} … {100 * nz.benign_hi:+.1f}"
            for *_, nz in results
        )
        + " |"
    )
    out.append(
        "| harmful refused only by this / only by a | "
        + " | ".join("–" if nz is None else f"{nz.only_this} / {nz.only_base}" for *_, nz in results)
        + " |"
    )
    out.append("| training time | " + " | ".join(f"{f.train_seconds:.0f} s" for f, *_ in results) + " |")
    out.append("| artifact (float16, zip) | " + " | ".join(f"{mb:.1f} MB" for *_, mb, _ in results) + " |")
    out.append(
        "| 2,000-char prompt, mean / p99 CPU | "
        + " | ".join(f"{m:.3f} / {p:.3f} ms" for _, _, m, p, *_ in results)
        + " |"
    )
    notes = [f"{f.key}: {f.notes}" for f, *_ in results if f.notes]
    if notes:
        out += ["", *notes]
    return out


if __name__ == "__main__":
    main()
