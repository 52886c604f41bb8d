"""Benchmark: how the harmful-request model does on a data set it has never seen. Issue 10, 2026-12-02.

    PYTHONPATH=src .venv/bin/python benchmarks/source_holdout.py [--l2 1e-5,1e-4,1e-3]
        [--unigram-weight 100,40] [--team-harmful 0,1] [--folds …] [--jobs 2] [--section NAME] [--no-write]

The team measures the guard on sets no one here has seen; the calibration part of train, which every
choice so far was made on, shares its sources (and their style and templates) with the fitting rows.
This benchmark estimates the unseen case by **leaving one source out**: for each fold, the shipped family
and training (linear softmax over hashed character 1-4-grams, frames dropped, request-form copies 0.5
keep) is fitted on the fitting rows *without* the fold's sources, the balanced threshold is set by the
unchanged rule on the calibration rows without them, and the fold's **train rows** (fitting and
calibration parts, all unseen by that model) are judged at that threshold. Rows of other sources whose
group (normalized text) is one of the fold's are dropped from fitting too, so a prompt two sets share is
not seen through the other set. Dev is never read.

The folds: the five harmful prompt families (jade-db v1-v3, JailBench, XSafety, MultiJail, AISafetyLab)
and two benign ones (ChineseSafetyQA; the team-written requests). A harmful fold reports the share
refused (recall on an unseen set); a benign fold the share refused (false refusals on an unseen set).
Fold ``none`` is the model on every source, judged on each source's calibration rows (the seen case),
for comparison. Each is fitted at every L2 of ``--l2`` and every ``--unigram-weight`` (a single
character's value in percent of a longer n-gram's, `FeatureConfig.unigram_weight`): the L2 was chosen
on the calibration part, where less regularization always looked better, and this asks whether that
holds on a set the model has not seen (2026-12-02: 3e-6 adopted, section ``source_holdout``); the
unigram weight asks whether a model that leans less on single characters, which carry a data set's
register and topic more than a request's intent, does better there (section
``source_holdout_unigram``); ``--team-harmful 0,1`` fits each fold without and with the team-written
harmful requests (`guard_data.TEAM_HARMFUL_FILES`; their calibration rows are judged by neither: section
``source_holdout_team_harmful``, 2026-12-03).

Writes benchmarks/RESULTS.md, section ``--section`` (default "source_holdout"; ``--no-write``: print
only).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(Path(__file__).parent))

from guard_data import DEFAULT_ROOT, TEAM_HARMFUL_FILES, TEAM_ROOT, Example, load_inputs  # noqa: E402
from model_family import CONFIG, judge, linear_family, rule_benign_index, text_scores  # noqa: E402
from train_guard_models import TEAM_SOURCES, Design, build, design, fit_softmax, is_calibration  # noqa: E402

from hegui.guard.judge.features import featurize  # noqa: E402
from hegui.guard.judge.prompt import PROMPT_CLASSES  # noqa: E402

#: Each fold: the sources left out together (versions of one data set go together).
FOLDS: dict[str, tuple[str, ...]] = {
    "jade-db": ("jade-v1", "jade-v2", "jade-v3"),
    "jailbench": ("jailbench",),
    "xsafety": ("xsafety",),
    "multijail": ("multijail",),
    "aisafetylab": ("aisafetylab",),
    "chinesesafetyqa": ("chinesesafetyqa",),
    "team": TEAM_SOURCES,
}
#: The source of the team-written harmful requests.
TEAM_HARMFUL = TEAM_HARMFUL_FILES[0][1]
#: The fold of no held-out source: every source seen, judged on the calibration rows.
SEEN = "none"


@dataclass(frozen=True)
class Variant:
    """One way of fitting: the L2, the single characters' weight (percent) and the longest n-gram."""

    l2: float
    unigram_weight: int = 100
    #: which team-written harmful requests (scripts/team_data/harmful_*.tsv) are fitted on: 0 none, 1 the
    #: first round (a–c), 2 with the sixth round (d, e and its harmless counterpart f)
    team_harmful: int = 0
    ngram_max: int = CONFIG.ngram_max

    def label(self, weights: bool) -> str:
        return (
            f"L2 {self.l2:g}"
            + (f", 1-grams {self.unigram_weight} %" if weights else "")
            + ("", ", team harmful", ", team harmful + sixth round")[self.team_harmful]
            + (f", n-grams 1–{self.ngram_max}" if self.ngram_max != CONFIG.ngram_max else "")
        )


@dataclass(frozen=True)
class Cell:
    """One fold fitted one way: the held-out rows' share refused, and the in-distribution figures."""

    fold: str
    variant: Variant
    held_n: int
    held_refused: float
    threshold: float
    calib_should_refuse: float
    calib_mean_benign: float
    seconds: float
    #: fold ``none`` only: each source's share refused on its calibration rows
    per_source: tuple[tuple[str, int, float], ...] = ()


#: The folds whose rows are benign; every other fold's rows are should-refuse prompts.
BENIGN_FOLDS = ("chinesesafetyqa", "team")


def fold_label(fold: str) -> str:
    return "benign" if fold in BENIGN_FOLDS else "harmful"


def held_rows(train: list[Example], fold: str) -> list[Example]:
    """The fold's train rows of its label (XSafety's few benign multiple-choice prompts are not judged, but
    are left out of fitting with the rest of the set)."""
    sources = FOLDS.get(fold, ())
    return [e for e in train if e.source in sources and e.label == fold_label(fold)]


@dataclass(frozen=True)
class FoldRows:
    """A fold's judged rows, and the fitting and calibration rows of its model."""

    held: list[Example]
    fit_part: list[Example]
    calib: list[Example]


def fold_rows(train: list[Example], fold: str) -> FoldRows:
    """Split train rows for ``fold``: its rows of its label are judged; no row of its sources, nor any row
    of another source with the same group (normalized text), is fitted or calibrated on. Raises
    ValueError on a dev row."""
    if any(e.split != "train" for e in train):
        raise ValueError("source_holdout reads train rows only; never dev")
    sources = FOLDS.get(fold, ())
    held_groups = {e.group for e in train if e.source in sources}
    rest = [e for e in train if e.source not in sources and e.group not in held_groups]
    return FoldRows(
        held_rows(train, fold),
        [e for e in rest if not is_calibration(e.group)],
        [e for e in rest if is_calibration(e.group)],
    )


@dataclass(frozen=True)
class FitRows:
    """The design matrix of the fitting rows (one row per window), their classes and weights."""

    x: sparse.csr_matrix
    y: np.ndarray
    weight: np.ndarray


def run_fold(fold: str, variants: list[Variant], data_root: Path, maxiter: int) -> list[Cell]:
    """Fit the fold's model each way and judge it."""
    cells = []
    for team_harmful in dict.fromkeys(v.team_harmful for v in variants):
        some = [v for v in variants if v.team_harmful == team_harmful]
        cells += _run_data(
            fold, some, load_inputs(data_root, team_root=TEAM_ROOT, with_team_harmful=team_harmful), maxiter
        )
    return cells


def _run_data(fold: str, variants: list[Variant], inputs: list[Example], maxiter: int) -> list[Cell]:
    """``run_fold`` for variants that fit the same rows."""
    train = [e for e in inputs if e.split == "train"]
    del inputs  # dev is never read below
    rows = fold_rows(train, fold)
    held, fit_part = rows.held, rows.fit_part
    # the team's harmful calibration rows are never fitted and never part of should-refuse here, so that
    # the variants with and without them are judged on the same calibration rows
    calib = [e for e in rows.calib if e.source != TEAM_HARMFUL]
    data = build(fit_part, form=0.5, form_mode="keep")
    cells = []
    for weight, ngram_max in dict.fromkeys((v.unigram_weight, v.ngram_max) for v in variants):
        config = replace(CONFIG, unigram_weight=weight, ngram_max=ngram_max)
        dm = design(data.texts, config)
        cm = design([e.text for e in calib], config)
        hm = design([e.text for e in held], config) if held else None
        per_text = np.bincount(dm.owner, minlength=len(data.texts))
        win_w = data.weight[dm.owner] / per_text[dm.owner]
        for variant in (v for v in variants if (v.unigram_weight, v.ngram_max) == (weight, ngram_max)):
            fitting = FitRows(dm.x, data.y[dm.owner], win_w)
            cells.append(_fit_cell(fold, variant, fitting, (cm, calib), (hm, held), maxiter))
    return cells


def _fit_cell(
    fold: str,
    variant: Variant,
    fitting: FitRows,
    calibration: tuple[Design, list[Example]],
    held_out: tuple[Design | None, list[Example]],
    maxiter: int,
) -> Cell:
    """Fit one variant on the fold's fitting rows; its threshold by the rule on the calibration rows; the
    held-out rows judged at it."""
    (cm, calib), (hm, held) = calibration, held_out
    t0 = time.time()
    w, b = fit_softmax(fitting.x, fitting.y, fitting.weight, len(PROMPT_CLASSES), variant.l2, maxiter)
    seconds = time.time() - t0
    fam = linear_family(fold, fold, w, b, seconds, featurize)
    j = judge(text_scores(fam, cm.x, cm.owner, len(calib)), calib, rule_benign_index(calib))
    held_refused = float("nan")
    if hm is not None:
        scores = text_scores(fam, hm.x, hm.owner, len(held))
        held_refused = float((scores >= j.threshold).mean())
    per_source: tuple[tuple[str, int, float], ...] = ()
    if fold == SEEN:
        per_source = tuple(
            (s, *_source_rate(j.refused, calib, s, fold_label(f))) for f, ss in FOLDS.items() for s in ss
        )
    print(
        f"{fold} {variant.label(True)}: held-out {len(held)} refused {held_refused:.3f}, threshold "
        f"{j.threshold:.4f}, calibration should-refuse {j.rows['should-refuse'][1]:.3f} ({seconds:.0f} s)",
        flush=True,
    )
    return Cell(
        fold,
        variant,
        len(held),
        held_refused,
        j.threshold,
        j.rows["should-refuse"][1],
        j.mean_benign,
        seconds,
        per_source,
    )


def _source_rate(refused: np.ndarray, calib: list[Example], source: str, label: str) -> tuple[int, float]:
    idx = [i for i, e in enumerate(calib) if e.source == source and e.label == label]
    return len(idx), float(refused[idx].mean()) if idx else float("nan")


def fold_rate(fold: str, seen: Cell) -> tuple[int, float]:
    """For fold ``fold``'s sources, the seen model's calibration rows: n and share refused (pooled)."""
    pairs = [(n, r) for s, n, r in seen.per_source if s in FOLDS[fold] and n]
    n = sum(p[0] for p in pairs)
    return n, (sum(p[0] * p[1] for p in pairs) / n if n else float("nan"))


def report(cells: list[Cell], variants: list[Variant], folds: list[str]) -> list[str]:
    by = {(c.fold, c.variant): c for c in cells}
    weights = len({v.unigram_weight for v in variants}) > 1 or any(v.unigram_weight != 100 for v in variants)
    head = " | ".join(v.label(weights) for v in variants)
    lines = [
        "Fitted on train without the fold's sources (and without any row of the same normalized text), the "
        "balanced threshold set by the rule on the rest of the calibration part, the fold's train rows judged "
        "(never seen by that model). *Seen*: the model fitted on every source, on the fold's calibration "
        "rows. Dev is never read.",
        "",
        f"| fold | label | held-out rows | {head} | seen (calibration rows), {head} |",
        "|---|---|---:|" + "---:|" * (2 * len(variants)),
    ]
    for fold in folds:
        if fold == SEEN:
            continue
        label = fold_label(fold)
        held = [by.get((fold, x)) for x in variants]
        n = next((c.held_n for c in held if c), 0)
        cells_held = [f"{c.held_refused:.1%}" if c else "–" for c in held]
        seen = []
        for x in variants:
            s = by.get((SEEN, x))
            if s is None:
                seen.append("–")
                continue
            sn, sr = fold_rate(fold, s)
            seen.append(f"{sr:.1%} (n={sn})")
        lines.append(
            f"| {fold} | {label} | {n:,} | " + " | ".join(cells_held) + " | " + " | ".join(seen) + " |"
        )
    harmful = [f for f in folds if f != SEEN and fold_label(f) == "harmful"]
    mean_cells = []
    for x in variants:
        vals = [by[(f, x)].held_refused for f in harmful if (f, x) in by]
        mean_cells.append(f"{np.mean(vals):.1%}" if vals else "–")
    lines.append(
        "| mean of the harmful folds | harmful | | " + " | ".join(mean_cells) + " |" + " |" * len(variants)
    )
    lines += [
        "",
        "Per fold and variant, in-distribution: the threshold the rule set, should-refuse on the rest of the "
        "calibration part, the mean benign share refused there (the rule's 3 %), fitting time.",
        "",
        "| fold | variant | threshold | calibration should-refuse | mean benign refused | fit |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for c in sorted(cells, key=lambda c: (folds.index(c.fold), variants.index(c.variant))):
        lines.append(
            f"| {c.fold} | {c.variant.label(weights)} | {c.threshold:.4f} | {c.calib_should_refuse:.1%} | "
            f"{c.calib_mean_benign:.1%} | {c.seconds:.0f} s |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--l2", default="1e-5,1e-4,1e-3", help="comma-separated L2 values")
    parser.add_argument(
        "--unigram-weight",
        default="100",
        help="comma-separated single-character weights, percent (FeatureConfig.unigram_weight)",
    )
    parser.add_argument(
        "--team-harmful",
        default="0",
        help="comma-separated 0/1/2: fit without (0) and with (1) the team-written harmful requests, or with "
        "the sixth round too (2: harmful_d, harmful_e and benign_f)",
    )
    parser.add_argument(
        "--ngram-max", default=str(CONFIG.ngram_max), help="comma-separated longest n-grams (FeatureConfig)"
    )
    parser.add_argument("--folds", default=",".join([SEEN, *FOLDS]), help=f"of {SEEN}, {', '.join(FOLDS)}")
    parser.add_argument("--maxiter", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=2, help="folds fitted at once (one process each)")
    parser.add_argument("--section", default="source_holdout", help="the RESULTS.md section to write")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    try:
        l2s = [float(x) for x in args.l2.split(",")]
    except ValueError:
        parser.error(f"--l2: not a comma-separated list of numbers: {args.l2!r}")
    if any(x <= 0 for x in l2s):
        parser.error("--l2: every value must be positive")
    try:
        uws = [int(x) for x in args.unigram_weight.split(",")]
    except ValueError:
        parser.error(f"--unigram-weight: not a comma-separated list of integers: {args.unigram_weight!r}")
    if any(not 0 <= x <= 100 for x in uws):
        parser.error("--unigram-weight: every value must be 0..100 (percent)")
    values = [x.strip() for x in args.team_harmful.split(",")]
    if not set(values) <= {"0", "1", "2"}:
        parser.error(f"--team-harmful: not a comma-separated list of 0, 1 and 2: {args.team_harmful!r}")
    teams = [int(x) for x in values]
    try:
        ngram_maxes = [int(x) for x in args.ngram_max.split(",")]
    except ValueError:
        parser.error(f"--ngram-max: not a comma-separated list of integers: {args.ngram_max!r}")
    if any(not CONFIG.ngram_min <= x <= 8 for x in ngram_maxes):
        parser.error(f"--ngram-max: every value must be {CONFIG.ngram_min}..8")
    variants = [Variant(l2, uw, th, n) for th in teams for uw in uws for n in ngram_maxes for l2 in l2s]
    folds = [f.strip() for f in args.folds.split(",")]
    unknown = [f for f in folds if f != SEEN and f not in FOLDS]
    if unknown:
        parser.error(f"unknown fold {unknown[0]!r}; choose from {SEEN}, {', '.join(FOLDS)}")

    t0 = time.time()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_fold, f, variants, args.data, args.maxiter) for f in folds]
        cells = [c for fut in futures for c in fut.result()]
    lines = report(cells, variants, folds)
    lines.append(
        f"\n{len(folds)} folds × {len(variants)} variants, {args.jobs} at once: {time.time() - t0:.0f} s."
    )
    print("\n".join(lines))
    if not args.no_write:
        from _results import machine, write_section

        write_section(args.section, "\n".join([f"## {args.section}\n", machine(), "", *lines]))


if __name__ == "__main__":
    main()
