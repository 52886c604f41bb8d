#!/usr/bin/env python3
"""Train the guard's judgement models: the harmful-request model and the answer-compliance model.

    PYTHONPATH=src .venv/bin/python scripts/train_guard_models.py [--data ../shared/data]
        [--out src/hegui/guard/judge] [--l2 3e-6 1e-5 …]

Data: `scripts/guard_data.py` only (the sets of ../shared/data/SOURCES.md), with its fixed train/dev split.

* **Fitting** uses the train split minus a fixed **calibration part**: the rows whose group has
  ``sha256("hegui-calib-v1:" + group) % 10 == 0`` (about 10 % of train, whole groups).
* **Choosing** (the L2 penalty among several ``--l2`` values, and every preset threshold) uses the
  calibration part only; the default L2 was chosen by `benchmarks/source_holdout.py` (train rows only).
* **dev** is scored once, at the end, for the report; nothing is chosen on it.

Prompt model: 6 classes (none, A.1 … A.5), softmax regression over the hashed character n-grams of
`hegui.guard.judge.features` (windows of 128 normalized characters), fitted by L-BFGS (numpy + scipy, dev
tools only: inference needs numpy alone). Weights: "none" and "harmful" each carry half of the total weight;
inside "harmful", the five classes share it by the square root of their size (A.3 and A.5 come from 20
seed questions each: full balance would make their jailbreak templates dominate), and inside a class
each source by the square root of its size (``--harmful-by-source``); inside "none", each
source counts by the square root of its size, so that small hard-negative sets (ChineseSafetyQA, CValues,
xsafety commonsense) weigh more than their row count (``--hard-negative-weight`` multiplies them further;
3 was tried: +1 point of harmful prompts refused, +12 points of safe comments refused on the calibration
part, so the default stays 1).

Request-form copies (``--form-augment 0.5 --form-mode keep``, the defaults since 2026-12-01): the fitting
prompts of both classes are also shown inside the team's generic request wrappers
(`scripts/request_forms.py`), each wrapper at equal weight in "none" and "harmful", so that the form of a
request to an assistant ("你能…", "帮我写一…", "请总结…") carries no class signal; calibration and dev rows
are never wrapped. ``--form-augment 0`` trains as before (docs/guard-models.md, "Issue 10: request-form
augmentation").

Features: dense hashed buckets (2^18, the shipped model), or with ``--vocab-min-df N`` an explicit
vocabulary: only the n-grams (32-bit ids) of at least N fitting texts get a weight, looked up at run time
with `hegui.guard.judge.idtable`; measured with N = 2 on 2026-11-30 and not adopted (about as good on the
calibration part, 0.1 ms slower per 2,000-character prompt: docs/guard-models.md).

Model choice (the L2 penalty, the options above): on the calibration part, at the balanced threshold, the
mean share refused over the harmful sources minus the mean share refused of the safe COLD / SWSR comments. Benign = benign + borderline (CValues: those
questions deserve an answer). COLD and SWSR offensive comments are A.2.

Threshold rule (prompt model), on the calibration part: the benign sources that are prompts or dialogue
(not comments) each give a refusal rate; their mean must not exceed the target: refuse at 1.5 % (lenient),
3 % (balanced), 6 % (strict); evidence (label only, for the fusion) at 6 %, 10 %, 15 %.

Answer model: 2 classes (refusal, compliance) over the first 512 normalized characters of the answer;
compliance = jade-db v3 unsafe answers, AISafetyLab unsafe answers and CrossWOZ system turns (answers that
help), refusal = jade-db v3 safe answers and JoySafety refusals. Answer risk = c * max(q, r) with c =
P(compliance), q = the prompt model's P(harmful) of the question, r = the prompt model's P(harmful) of the
answer itself (c * r when the question is unknown): an answer that refuses or redirects is safe whatever
was asked; an answer that helps is as risky as the question or its own content. Its threshold: the worst
flag rate of the safe calibration answers over the sources at 2.5 % (lenient), 5 % (balanced), 10 % (strict).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import optimize, sparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from guard_data import (  # noqa: E402
    DEFAULT_ROOT,
    TEAM_ANSWERS,
    TEAM_FILES,
    TEAM_ROOT,
    AnswerExample,
    Example,
    load_answers,
    load_inputs,
)
from request_forms import FORM_MODES, form_copies  # noqa: E402

from hegui.guard.judge.answer import ANSWER_CLASSES, ANSWER_CONFIG, BUNDLED_ANSWER, answer_risk  # noqa: E402
from hegui.guard.judge.features import FeatureConfig, Features, featurize  # noqa: E402
from hegui.guard.judge.idtable import IdTable  # noqa: E402
from hegui.guard.judge.linear import LinearModel  # noqa: E402
from hegui.guard.judge.prompt import BUNDLED_PROMPT, PROMPT_CLASSES, PROMPT_CONFIG  # noqa: E402

CALIB_SALT = "hegui-calib-v1:"
#: Per preset, the mean share of the calibration part's benign prompts and dialogue turns that may reach
#: each threshold. Balanced's evidence target was 10 % until 2026-12-02: a topic term with a score that
#: weak refused benign questions and no harmful prompt more (`benchmarks/evidence_threshold.py`).
PROMPT_TARGETS = {
    "lenient": {"refuse": 0.015, "evidence": 0.06},
    "balanced": {"refuse": 0.03, "evidence": 0.06},
    "strict": {"refuse": 0.06, "evidence": 0.15},
}
ANSWER_TARGETS = {"lenient": 0.025, "balanced": 0.05, "strict": 0.10}
#: Comment-like sets (SafetyBench's items come from COLD / CDial-Bias): measured apart, not used for the
#: prompt thresholds.
COMMENT_SOURCES = ("cold", "swsr", "safetybench")
#: The team-written requests (scripts/team_data): fitted on, measured apart, not used for the prompt
#: thresholds. The rule's benign sources stay the six it was decided with, so that adding training data
#: shows in the model, not in a moved operating point (2026-12-01: with the team's sensitive questions
#: among them the balanced threshold rose from 0.41 to 0.50 and the harmful calibration prompts refused
#: fell from 93 to 91 %; docs/guard-models.md, "Issue 10: team-written requests").
TEAM_SOURCES = tuple(dict.fromkeys(source for _, source in TEAM_FILES))
SOURCES = [
    "JailBench (STAIR-BUPT/JailBench @ 5f474072db52, MIT)",
    "AISafetyLab (thu-coai/AISafetyLab @ 3fd15737dee5, MIT)",
    "MultiJail (DAMO-NLP-SG/multilingual-safety-for-LLMs @ 577ac511437e, MIT)",
    "XSafety (Jarviswang94/Multilingual_safety_benchmark @ 8c55b6a6cda5, Apache-2.0)",
    "SWSR (aggiejiang/SWSR @ 7b320184da8f, MIT)",
    "SafetyBench (thu-coai/SafetyBench @ 960833692a1e, MIT)",
    "JoySafety (jd-opensource/JoySafety @ 27f972e694e2, Apache-2.0)",
    "CValues (X-PLUG/CValues @ 3018d3886890, Apache-2.0)",
    "ChineseSafetyQA (OpenStellarTeam/ChineseSafetyQA @ 5be00913f99e, MIT)",
    "CrossWOZ (thu-coai/CrossWOZ @ df82c9fdff91, Apache-2.0)",
    "KdConv (thu-coai/KdConv @ 653db76432de, Apache-2.0)",
    "CDial-GPT LCCC sample (thu-coai/CDial-GPT @ 81064865221d, MIT)",
    "jade-db v1.0, v2.0 easy, v3.0 medium (whitzard-ai/jade-db @ 812de63691d1, MIT)",
    "COLDataset train split (thu-coai/COLDataset @ a0c55a945497, Apache-2.0)",
    "hegui team-written requests and safe answers (scripts/team_data, this project's licence, Apache-2.0)",
]


def is_calibration(group: str) -> bool:
    return int(hashlib.sha256((CALIB_SALT + group).encode("utf-8")).hexdigest()[:16], 16) % 10 == 0


# --- features and fitting ----------------------------------------------------------------------------


@dataclass
class Design:
    """The design matrix: one row per window of every text."""

    x: sparse.csr_matrix
    #: The index of the text of each row.
    owner: np.ndarray
    #: The explicit vocabulary (uint32 hash ids, one per column, most frequent first), or None when the
    #: columns are the hash buckets themselves (a dense model).
    vocab: np.ndarray | None = None


def vocabulary(per_text: list[np.ndarray], min_df: int) -> np.ndarray:
    """The ids that occur in at least ``min_df`` texts (``per_text``: each text's distinct ids), the most
    frequent first (ties by id): the look-up table finds the frequent ones at their home slot."""
    every = np.sort(np.concatenate(per_text)) if per_text else np.zeros(0, np.int64)
    if not len(every):
        raise ValueError("no n-grams to build a vocabulary from")
    starts = np.flatnonzero(np.concatenate([[True], every[1:] != every[:-1]]))
    ids = every[starts]
    df = np.diff(np.append(starts, len(every)))
    keep = df >= min_df
    ids, df = ids[keep], df[keep]
    return ids[np.lexsort((ids, -df))].astype(np.uint32)


def design(
    texts: Sequence[str],
    config: FeatureConfig,
    min_df: int = 0,
    featurizer: Callable[[str, FeatureConfig], Features] = featurize,
) -> Design:
    """One row per window of every text. With ``min_df`` > 0 the columns are an explicit vocabulary of
    the n-grams of at least ``min_df`` of these texts; an n-gram outside it is dropped, but still counts
    in its window's 1/sqrt(number of valid n-grams), as at run time. ``featurizer``: another featurizer
    of the same form (benchmarks/model_family.py adds word features)."""
    lengths, indices, values, owner, per_text = [], [], [], [], []
    for t, text in enumerate(texts):
        feats = featurizer(text, config)
        for window in feats.windows:
            idx, value = feats.window_values(window, config)
            indices.append(idx)
            values.append(value)
            lengths.append(len(idx))
            owner.append(t)
        if min_df:
            per_text.append(np.unique(feats.buckets[feats.valid]))
    cols = np.concatenate(indices) if indices else np.zeros(0, np.int64)
    vals = np.concatenate(values) if values else np.zeros(0, np.float32)
    row_of = np.repeat(np.arange(len(owner)), lengths)
    vocab = None
    width = config.buckets
    if min_df:
        vocab = vocabulary(per_text, min_df)
        table = IdTable(vocab)
        cols = table.lookup(cols.astype(np.uint32))
        known = cols != table.missing
        cols, vals, row_of = cols[known], vals[known], row_of[known]
        width = len(vocab)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=len(owner)))])
    x = sparse.csr_matrix((vals, cols, indptr), shape=(len(owner), width))
    x.sum_duplicates()
    return Design(x, np.array(owner), vocab)


def fit_softmax(
    x: sparse.csr_matrix, y: np.ndarray, weight: np.ndarray, n_classes: int, l2: float, maxiter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted multinomial logistic regression with an L2 penalty on the weights (not the bias)."""
    n, d = x.shape
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    w_norm = weight / weight.sum()
    xt = x.T.tocsr()

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w = params[: d * n_classes].reshape(d, n_classes)
        b = params[d * n_classes :]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -float((w_norm * (onehot * logp).sum(axis=1)).sum()) + 0.5 * float((l2 * w * w).sum())
        g = (np.exp(logp) - onehot) * w_norm[:, None]
        grad_w = xt @ g + l2 * w
        return value, np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    start = np.zeros(d * n_classes + n_classes)
    res = optimize.minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": maxiter})
    return (
        res.x[: d * n_classes].reshape(d, n_classes).astype(np.float32),
        res.x[d * n_classes :].astype(np.float32),
    )


def threshold_for(scores_by_source: dict[str, np.ndarray], target: float, worst: bool = False) -> float:
    """The smallest threshold at which the mean (``worst``: the maximum) over sources of the share scored
    at or above it is at most ``target``."""
    grid = np.unique(np.concatenate(list(scores_by_source.values())))
    grid = np.concatenate([grid, [1.0]])
    lo, hi = 0, len(grid) - 1
    while lo < hi:  # the mean rate falls as the threshold rises
        mid = (lo + hi) // 2
        rates = [float((s >= grid[mid]).mean()) for s in scores_by_source.values()]
        rate = max(rates) if worst else float(np.mean(rates))
        if rate <= target:
            hi = mid
        else:
            lo = mid + 1
    return float(min(max(grid[lo], 0.01), 0.99))


# --- prompt model ------------------------------------------------------------------------------------


@dataclass
class PromptData:
    texts: list[str]
    y: np.ndarray
    weight: np.ndarray
    examples: list[Example]


def prompt_label(e: Example) -> int:
    return PROMPT_CLASSES.index(e.risk) if e.label == "harmful" else 0


#: Benign sets closest to harmful prompts (legitimate questions about sensitive matters).
HARD_NEGATIVES = ("cvalues", "chinesesafetyqa", "xsafety")


def prompt_weights(
    examples: Sequence[Example], hard: float = 1.0, jailbreak: float = 1.0, harmful_by_source: bool = True
) -> np.ndarray:
    labels = [prompt_label(e) for e in examples]
    # Inside a harmful class a jailbreak-wrapped prompt weighs ``jailbreak`` times a direct one (JailBench
    # wraps 108 seeds in the same 20 templates). 0.25 was tried on 2026-11-30: calibration quality 0.569
    # against 0.545 at 1, but requests addressed to an assistant ("你能做什么", P(harmful) 0.74 -> 0.75)
    # kept their scores, the failure it was meant to fix; the shipped model keeps 1 (docs/guard-models.md).
    row_w = [jailbreak if e.kind == "prompt_jailbreak" else 1.0 for e in examples]
    class_n = Counter(labels)
    harmful_classes = [c for c in class_n if c != 0]
    root = {c: np.sqrt(class_n[c]) for c in harmful_classes}
    class_share = {0: 0.5} | {c: 0.5 * root[c] / sum(root.values()) for c in harmful_classes}
    # Inside a harmful class, ``harmful_by_source``: each source shares the class by the square root of its
    # size, as the benign sources do; otherwise by its size. A.2 holds 11,465 COLD and 2,236 SWSR comments
    # against a few hundred discriminatory *prompts* (MultiJail, XSafety, jade-db, JailBench): by size the
    # comments took 94 % of the class and the model learnt A.2 as comment wording (2026-11-30, calibration:
    # harmful sources minus safe comments 0.596 -> 0.625, MultiJail 0.56 -> 0.59, safe COLD comments
    # refused 21 % -> 18 %).
    mass: Counter[tuple[int, str]] = Counter()
    src_n: Counter[tuple[int, str]] = Counter()
    for e, lab, rw in zip(examples, labels, row_w, strict=True):
        mass[(lab, e.source)] += rw
        src_n[(lab, e.source)] += 1
    src_w: dict[tuple[int, str], float] = {}
    for (lab, source), n in src_n.items():
        if lab == 0:  # each benign source weighs sqrt(its size), x hard for hard negatives
            src_w[(lab, source)] = np.sqrt(n) * (hard if source in HARD_NEGATIVES else 1.0)
        else:
            src_w[(lab, source)] = np.sqrt(n) if harmful_by_source else mass[(lab, source)]
    class_total: Counter[int] = Counter()
    for (lab, _), w in src_w.items():
        class_total[lab] += w
    out = np.empty(len(examples))
    for i, (e, lab) in enumerate(zip(examples, labels, strict=True)):
        key = (lab, e.source)
        out[i] = class_share[lab] * src_w[key] / class_total[lab] * row_w[i] / mass[key]
    return out * len(examples)


def build(
    examples: list[Example],
    hard: float = 1.0,
    jailbreak: float = 1.0,
    harmful_by_source: bool = True,
    form: float = 0.0,
    form_mode: str = "add",
) -> PromptData:
    """Texts, labels and weights of the fitting rows; with ``form`` > 0, plus wrapped copies of them
    (`request_forms.form_copies`: each request wrapper at equal weight in "none" and "harmful", the copies
    of the smaller side weighing ``form`` times their originals). Never pass calibration or dev rows."""
    texts = [e.text for e in examples]
    y = np.array([prompt_label(e) for e in examples])
    weight = prompt_weights(examples, hard, jailbreak, harmful_by_source)
    if form <= 0:
        return PromptData(texts, y, weight, examples)
    copies = form_copies(
        [e.label for e in examples],
        [e.kind for e in examples],
        [e.source for e in examples],
        texts,
        weight,
        form,
        mode=form_mode,
    )
    extra = [
        replace(examples[i], text=t, kind=examples[i].kind + "+form")
        for i, t in zip(copies.source_row, copies.texts, strict=True)
    ]
    return PromptData(
        texts + copies.texts,
        np.concatenate([y, y[copies.source_row]]),
        np.concatenate([weight * copies.original_scale, copies.weight]),
        examples + extra,
    )


def train_prompt(data: PromptData, config: FeatureConfig, l2: float, maxiter: int, dm: Design) -> LinearModel:
    """Fit on ``dm`` (the design of ``data.texts``, made once for every L2 candidate)."""
    owner = dm.owner
    per_text = np.bincount(owner, minlength=len(data.texts))
    weight = data.weight[owner] / per_text[owner]
    w, b = fit_softmax(dm.x, data.y[owner], weight, len(PROMPT_CLASSES), l2, maxiter)
    placeholder = {p: {"refuse": 0.5, "evidence": 0.3} for p in PROMPT_TARGETS}
    return LinearModel(PROMPT_CLASSES, w, b, config, placeholder, vocab=dm.vocab)


def p_harmful(model: LinearModel, texts: Sequence[str]) -> np.ndarray:
    return np.array([float((1.0 - model.score(t).probabilities[:, 0]).max()) for t in texts])


def in_threshold_rule(e: Example) -> bool:
    """Whether a calibration row is one of the benign prompts and dialogue turns that set the thresholds."""
    return e.label != "harmful" and e.source not in COMMENT_SOURCES + TEAM_SOURCES


def benign_calibration_scores(model: LinearModel, calib: list[Example]) -> dict[str, np.ndarray]:
    by_source: dict[str, list[str]] = defaultdict(list)
    for e in calib:
        if in_threshold_rule(e):
            by_source[e.source].append(e.text)
    return {s: p_harmful(model, t) for s, t in by_source.items() if len(t) >= 5}


def prompt_thresholds(model: LinearModel, calib: list[Example]) -> dict[str, dict[str, float]]:
    scores = benign_calibration_scores(model, calib)
    return {
        preset: {key: round(threshold_for(scores, rate), 4) for key, rate in targets.items()}
        for preset, targets in PROMPT_TARGETS.items()
    }


def report_inputs(model: LinearModel, examples: list[Example], refuse: float) -> dict[str, dict[str, float]]:
    """Per source and label: the share refused at ``refuse``."""
    groups: dict[str, list[str]] = defaultdict(list)
    for e in examples:
        groups[f"{e.source}/{e.label}"].append(e.text)
    out = {}
    for key in sorted(groups):
        s = p_harmful(model, groups[key])
        out[key] = {"n": len(s), "refused": round(float((s >= refuse).mean()), 4)}
    return out


def summary(table: dict[str, dict[str, float]]) -> dict[str, float]:
    """Pooled rates: should-refuse prompts, benign prompts/dialogue, COLD safe/offensive."""

    def pooled(keys: list[str]) -> float:
        n = sum(table[k]["n"] for k in keys)
        return round(sum(table[k]["n"] * table[k]["refused"] for k in keys) / n, 4) if n else float("nan")

    harmful = [k for k in table if k.endswith("/harmful") and k.split("/")[0] not in COMMENT_SOURCES]
    harmful = [k for k in harmful if not k.startswith(("safetybench", "team-"))]  # the team's apart, below
    benign = [k for k in table if not k.endswith("/harmful") and k.split("/")[0] not in COMMENT_SOURCES]
    benign = [k for k in benign if not k.startswith("safetybench") and k.split("/")[0] not in TEAM_SOURCES]
    return {
        "should_refuse_refused": pooled(harmful),
        "benign_refused": pooled(benign),
        "cold_offensive_refused": pooled(["cold/harmful"]),
        "cold_safe_refused": pooled(["cold/benign"]),
        "swsr_offensive_refused": pooled(["swsr/harmful"]),
        "swsr_safe_refused": pooled(["swsr/benign"]),
        **{
            f"{t.replace('-', '_')}_refused": pooled([f"{t}/benign"])
            for t in TEAM_SOURCES
            if f"{t}/benign" in table
        },
        **(
            {"team_harmful_refused": pooled(["team-harmful/harmful"])}
            if "team-harmful/harmful" in table
            else {}
        ),
    }


# --- answer model ------------------------------------------------------------------------------------


def answer_label(a: AnswerExample) -> int:
    return ANSWER_CLASSES.index("refusal" if a.kind == "refusal" else "compliance")


def answer_weights(answers: Sequence[AnswerExample]) -> np.ndarray:
    """Each class half the weight; inside a class each source equally."""
    labels = [answer_label(a) for a in answers]
    n_src: Counter[tuple[int, str]] = Counter((lab, a.source) for a, lab in zip(answers, labels, strict=True))
    per_class = Counter(lab for lab, _ in n_src)
    out = np.array(
        [0.5 / per_class[lab] / n_src[(lab, a.source)] for a, lab in zip(answers, labels, strict=True)]
    )
    return out * len(answers)


def train_answer(answers: list[AnswerExample], l2: float, maxiter: int) -> LinearModel:
    dm = design([a.response for a in answers], ANSWER_CONFIG)
    x, owner = dm.x, dm.owner
    per_text = np.bincount(owner, minlength=len(answers))
    y = np.array([answer_label(a) for a in answers])
    weight = answer_weights(answers)[owner] / per_text[owner]
    w, b = fit_softmax(x, y[owner], weight, len(ANSWER_CLASSES), l2, maxiter)
    return LinearModel(ANSWER_CLASSES, w, b, ANSWER_CONFIG, {p: {"refuse": 0.5} for p in ANSWER_TARGETS})


def answer_scores(
    answer_model: LinearModel, prompt_model: LinearModel, answers: Sequence[AnswerExample]
) -> np.ndarray:
    out = []
    for a in answers:
        c = float(answer_model.score(a.response).probabilities[:, 1].max())
        q = float(p_harmful(prompt_model, [a.prompt])[0])
        out.append(answer_risk(c, q, None))  # every calibration answer has its question
    return np.array(out)


def answer_report(
    scores: np.ndarray, answers: Sequence[AnswerExample], threshold: float
) -> dict[str, dict[str, float]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for s, a in zip(scores, answers, strict=True):
        groups[f"{a.source}/{a.label}"].append(float(s))
    return {
        k: {"n": len(v), "flagged": round(float((np.array(v) >= threshold).mean()), 4)}
        for k, v in sorted(groups.items())
    }


# --- main --------------------------------------------------------------------------------------------


def choose(
    label: str,
    candidates: Sequence[float],
    train: Callable[[float], LinearModel],
    quality: Callable[[LinearModel], float],
) -> tuple[LinearModel, float, dict[str, float]]:
    best: tuple[float, float, LinearModel] | None = None
    log: dict[str, float] = {}
    for l2 in sorted(candidates):
        t0 = time.time()
        model = train(l2)
        q = quality(model)
        log[f"{l2:g}"] = round(q, 4)
        print(f"  {label} l2={l2:g}: calibration quality {q:.4f} ({time.time() - t0:.0f} s)", flush=True)
        if best is None or q >= best[0]:  # a tie goes to the larger penalty (candidates ascend)
            best = (q, l2, model)
    assert best is not None
    return best[2], best[1], log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--out", type=Path, default=REPO / "src/hegui/guard/judge")
    # 3e-6 since 2026-12-02, chosen by benchmarks/source_holdout.py (each harmful data set left out in turn:
    # more refused at the same false refusals of an unseen benign set than 1e-5); the calibration criterion
    # below, which charges the model with the safe comments the fusion's A.2 specialist decides, prefers
    # 1e-5 narrowly (0.5762 vs 0.5735). Give several values to choose among them by the criterion (docs/guard-models.md).
    parser.add_argument("--l2", type=float, nargs="+", default=[3e-6])
    parser.add_argument("--answer-l2", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3])
    parser.add_argument("--maxiter", type=int, default=400)
    parser.add_argument("--buckets-log2", type=int, default=PROMPT_CONFIG.buckets_log2)
    parser.add_argument("--window", type=int, default=PROMPT_CONFIG.window)
    parser.add_argument("--ngram-max", type=int, default=PROMPT_CONFIG.ngram_max)
    parser.add_argument("--hard-negative-weight", type=float, default=1.0)
    parser.add_argument(
        "--jailbreak-weight",
        type=float,
        default=1.0,
        help="weight of a jailbreak-wrapped prompt relative to a direct one inside its class",
    )
    parser.add_argument(
        "--harmful-by-source",
        type=int,
        choices=(0, 1),
        default=1,
        help="1: inside a harmful class each source weighs sqrt(its size); 0: its size (older artifacts)",
    )
    parser.add_argument(
        "--form-augment",
        type=float,
        default=0.5,
        help="add copies of the fitting prompts of both classes inside team-written request wrappers "
        "(scripts/request_forms.py), each wrapper at equal weight in none and harmful, the copies of the "
        "smaller side weighing this share of their originals; 0: off (the artifacts before 2026-12-01)",
    )
    parser.add_argument(
        "--form-mode",
        choices=FORM_MODES,
        default="keep",
        help="keep: the copies are added and the comments scaled up to keep their share of the weight; "
        "add: added on top; move: their weight taken from their originals (docs/guard-models.md)",
    )
    parser.add_argument(
        "--frames", type=int, choices=(0, 1), default=1, help="1: question/request frames are not features"
    )
    parser.add_argument(
        "--team-harmful",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="1 (the shipped model, since 2026-12-03): fit the team-written harmful requests too "
        "(scripts/team_data/harmful_{a,b,c}_zh.tsv); 2: and the sixth round (harmful_d, harmful_e and their "
        "harmless counterpart benign_f); 0: without them (docs/guard-models.md)",
    )
    parser.add_argument(
        "--team-answers",
        type=int,
        choices=(0, 1),
        default=1,
        help="1 (the shipped model, since 2026-12-03): fit the answer model on the team-written safe "
        "answers too (scripts/team_data/safe_answers_*_zh.jsonl; kept out of the threshold rule); 0: without",
    )
    parser.add_argument(
        "--unigram-weight",
        type=int,
        default=100,
        help="prompt model: a single character's value in percent of a longer n-gram's (FeatureConfig."
        "unigram_weight); 100, the shipped model. 40 was measured on data sets left out on 2026-12-02 and "
        "not adopted (docs/guard-models.md)",
    )
    parser.add_argument(
        "--vocab-min-df",
        type=int,
        default=0,
        help="prompt model: only n-grams of at least this many fitting texts get a weight (an explicit "
        "vocabulary; unseen n-grams count nothing); 0 (the shipped model): dense hashed buckets. 2 was "
        "tried on 2026-11-30 and not adopted: +0.1 ms per 2,000-character prompt (docs/guard-models.md)",
    )
    parser.add_argument(
        "--ids-log2",
        type=int,
        default=32,
        help="bits of the n-gram hash ids with a vocabulary (--buckets-log2 is the dense model's)",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        help="take the weights of the artifacts in this folder; only recalibrate and report",
    )
    parser.add_argument(
        "--reuse-prompt",
        type=Path,
        help="take the prompt model's weights from this folder (recalibrated); fit the answer model",
    )
    args = parser.parse_args()

    inputs = load_inputs(args.data, team_root=TEAM_ROOT, with_team_harmful=args.team_harmful)
    train_all = [e for e in inputs if e.split == "train"]
    fit_part = [e for e in train_all if not is_calibration(e.group)]
    calib = [e for e in train_all if is_calibration(e.group)]
    dev = [e for e in inputs if e.split == "dev"]
    print(f"prompt model: {len(fit_part)} fit, {len(calib)} calibration, {len(dev)} dev", flush=True)
    data = build(
        fit_part,
        args.hard_negative_weight,
        args.jailbreak_weight,
        args.harmful_by_source == 1,
        args.form_augment,
        args.form_mode,
    )
    if args.form_augment > 0:
        print(
            f"request-form copies: {len(data.texts) - len(fit_part)} "
            f"(share {args.form_augment:g}, {args.form_mode})",
            flush=True,
        )

    def prompt_quality(model: LinearModel) -> float:
        """At the balanced threshold: the mean share refused over the harmful calibration sources, minus
        the mean share refused of the safe comments (COLD, SWSR), which the threshold rule ignores."""
        t = prompt_thresholds(model, calib)["balanced"]["refuse"]
        by_source: dict[str, list[str]] = defaultdict(list)
        for e in calib:
            if e.label == "harmful":
                by_source[e.source].append(e.text)
            elif e.source in ("cold", "swsr"):
                by_source["safe-comments:" + e.source].append(e.text)
        rates = {k: float((p_harmful(model, v) >= t).mean()) for k, v in by_source.items() if len(v) >= 5}
        harmful = [r for k, r in rates.items() if not k.startswith("safe-comments:")]
        safe = [r for k, r in rates.items() if k.startswith("safe-comments:")]
        return float(np.mean(harmful) - np.mean(safe))

    config = replace(
        PROMPT_CONFIG,
        buckets_log2=args.ids_log2 if args.vocab_min_df else args.buckets_log2,
        window=args.window,
        stride=max(1, args.window // 2),
        frames=args.frames,
        ngram_max=args.ngram_max,
        unigram_weight=args.unigram_weight,
    )
    if args.reuse or args.reuse_prompt:
        prompt_model = LinearModel.load((args.reuse or args.reuse_prompt) / BUNDLED_PROMPT, BUNDLED_PROMPT)
        l2, l2_log = prompt_model.metrics["l2"], prompt_model.metrics["l2_calibration_quality"]
    else:
        t0 = time.time()
        dm = design(data.texts, config, args.vocab_min_df)
        size = (
            f"vocabulary {len(dm.vocab):,} n-grams" if dm.vocab is not None else f"{config.buckets:,} buckets"
        )
        print(f"prompt design: {dm.x.shape[0]:,} windows, {size} ({time.time() - t0:.0f} s)", flush=True)
        prompt_model, l2, l2_log = choose(
            "prompt", args.l2, lambda l2: train_prompt(data, config, l2, args.maxiter, dm), prompt_quality
        )
    prompt_model.thresholds = prompt_thresholds(prompt_model, calib)
    print("prompt thresholds:", prompt_model.thresholds, flush=True)

    answers = load_answers(args.data, team_root=TEAM_ROOT if args.team_answers else None)
    a_train = [a for a in answers if a.split == "train"]
    a_fit = [a for a in a_train if not is_calibration(a.group)]
    a_calib = [a for a in a_train if is_calibration(a.group)]
    a_dev = [a for a in answers if a.split == "dev"]
    print(f"answer model: {len(a_fit)} fit, {len(a_calib)} calibration, {len(a_dev)} dev", flush=True)

    def answer_thresholds(model: LinearModel) -> tuple[dict[str, dict[str, float]], np.ndarray]:
        scores = answer_scores(model, prompt_model, a_calib)
        safe: dict[str, list[float]] = defaultdict(list)
        for s, a in zip(scores, a_calib, strict=True):
            if a.label == "safe" and a.source != TEAM_ANSWERS:  # the team's: measured, not in the rule
                safe[a.source].append(float(s))
        by_src = {k: np.array(v) for k, v in safe.items() if len(v) >= 5}
        table = {
            p: {"refuse": round(threshold_for(by_src, r, worst=True), 4)} for p, r in ANSWER_TARGETS.items()
        }
        return table, scores

    def answer_quality(model: LinearModel) -> float:
        table, scores = answer_thresholds(model)
        unsafe = np.array([a.label == "unsafe" for a in a_calib])
        return float((scores[unsafe] >= table["balanced"]["refuse"]).mean())

    if args.reuse:
        answer_model = LinearModel.load(args.reuse / BUNDLED_ANSWER, BUNDLED_ANSWER)
        a_l2, a_l2_log = answer_model.metrics["l2"], answer_model.metrics["l2_calibration_quality"]
    else:
        answer_model, a_l2, a_l2_log = choose(
            "answer", args.answer_l2, lambda l2: train_answer(a_fit, l2, args.maxiter), answer_quality
        )
    answer_model.thresholds = answer_thresholds(answer_model)[0]
    print("answer thresholds:", answer_model.thresholds, flush=True)

    # --- dev, once, for the report -------------------------------------------------------------------
    prompt_dev = {
        preset: report_inputs(prompt_model, dev, t["refuse"]) for preset, t in prompt_model.thresholds.items()
    }
    prompt_model.metrics = {
        "l2": l2,
        "l2_calibration_quality": l2_log,
        "calibration_rule": "mean benign refusal rate over benign prompt/dialogue sources of the calibration part",
        "dev_summary": {p: summary(t) for p, t in prompt_dev.items()},
        "dev_by_source_balanced": prompt_dev["balanced"],
        "counts": {"fit": len(fit_part), "calibration": len(calib), "dev": len(dev)},
        "vocab_min_df": args.vocab_min_df,
        "form_augment": args.form_augment,
        "form_mode": args.form_mode,
        "vocab_size": 0 if prompt_model.vocab is None else len(prompt_model.vocab),
    }
    prompt_model.sources = SOURCES
    prompt_model.extra = {"calibration_salt": CALIB_SALT, "split_salt": "hegui-split-v1:"}
    dev_scores = answer_scores(answer_model, prompt_model, a_dev)
    # The check refuses at the higher of the calibrated threshold and the prompt model's (the input
    # stage's bar: hegui.guard.judge.answer.AnswerRiskCheck); dev is reported at that threshold.
    effective = {
        p: max(t["refuse"], prompt_model.thresholds[p]["refuse"]) for p, t in answer_model.thresholds.items()
    }
    answer_model.metrics = {
        "l2": a_l2,
        "l2_calibration_quality": a_l2_log,
        "effective_thresholds": effective,
        "dev_by_source": {p: answer_report(dev_scores, a_dev, t) for p, t in effective.items()},
        "counts": {"fit": len(a_fit), "calibration": len(a_calib), "dev": len(a_dev)},
    }
    answer_model.sources = [
        s
        for s in SOURCES
        if s.split(" ")[0] in ("AISafetyLab", "JoySafety", "CrossWOZ", "jade-db")
        or (args.team_answers and s.startswith("hegui team-written"))
    ]
    answer_model.extra = {
        "risk": "c * q with the question known, c * r without it; c = P(compliance), q = P(harmful) of the "
        "question, r = P(harmful) of the answer; refused at max(threshold, the prompt model's refuse threshold)",
        "calibrated_with_prompt_model": "see prompt_risk.npz",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    prompt_model.save(args.out / BUNDLED_PROMPT)
    answer_model.save(args.out / BUNDLED_ANSWER)
    print(
        json.dumps(
            {"prompt": prompt_model.metrics, "answer": answer_model.metrics}, indent=1, ensure_ascii=False
        )
    )


if __name__ == "__main__":
    main()
