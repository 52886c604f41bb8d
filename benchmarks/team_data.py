"""Benchmark: do the team-written training requests help the harmful-request model? Issue 10, 2026-12-01.

    PYTHONPATH=src .venv/bin/python benchmarks/team_data.py [--variants none,first,two-rounds,three-rounds,four-rounds,benign,all]
        [--l2 3e-6] [--no-write]

`scripts/team_data/` holds requests the team wrote as benign training prompts (everyday requests to an
assistant; questions about harmful subjects asked for protection, help or knowledge; document tasks on
news material). Here the shipped family and training (linear softmax over hashed character 1-4-grams,
frames dropped, L2 ``--l2`` (default 1e-5, the runs before 2026-12-02; the shipped model's is 3e-6),
request-form copies 0.5 keep) is fitted once per variant, each with the team
files of that variant among its fitting rows and the same other rows:

* ``none``: no team-written request (the model before 2026-12-01, retrained the same way);
* ``first``: the three files written first (everyday A and B, sensitive questions);
* ``two-rounds``: the six files of 2026-12-01 (the shipped model of that day);
* ``three-rounds``: with the third round of 2026-12-02: knowledge questions on health, law, history and
  science, ``KNOWLEDGE``;
* ``four-rounds``: with the fourth round of 2026-12-02: document tasks on reports of harm, people's legal
  questions, encyclopedia questions, ``FOURTH``;
* ``benign``: every file of ``guard_data.TEAM_FILES`` (with the fifth round of 2026-12-02: requests in the
  formal written register, exam and textbook questions, document tasks on ordinary formal material,
  ``FIFTH``);
* ``all``: with the team's harmful requests too (``guard_data.TEAM_HARMFUL_FILES``, 2026-12-03), whose
  calibration rows are measured apart (never part of should-refuse, so every variant is judged on the
  same rows), like the harmful requests of the safe-answers probe (`benchmarks/answer_probe.py`).

Every variant is judged on the same **calibration part of train** (dev is never read) with the
functions of ``benchmarks/model_family.py``: the balanced threshold by the unchanged rule (the six
benign prompt and dialogue sources; team rows never set it), should-refuse and each source's rate,
COLD / SWSR, the script's criterion, recall at 1 % / 2 % pooled benign refused, a paired bootstrap
against the first variant named. The calibration rows of *every* team file are judged by every variant (a variant
without a file has not seen its calibration rows either). And the team's probes, never trained on
(`benchmarks/data`: everyday requests, sensitive questions, request forms), at each variant's own
threshold, scored by `LinearModel.score` with float16 weights as the artifact stores them.

Writes benchmarks/RESULTS.md, section "team_data" (``--no-write``: print only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(Path(__file__).parent))

from form_augment import (  # noqa: E402
    comparison_rows,
    criterion_bootstrap,
    p_harmful,
    probe_texts,
    recall_rows,
    row,
)
from guard_data import (  # noqa: E402
    DEFAULT_ROOT,
    TEAM_FILES,
    TEAM_HARMFUL_FILES,
    TEAM_ROOT,
    Example,
    load_inputs,
    team_harmful,
    team_requests,
)
from model_family import (  # noqa: E402
    CONFIG,
    L2,
    Judged,
    Noise,
    fmt,
    judge,
    linear_family,
    paired_bootstrap,
    rule_benign_index,
    text_scores,
)
from train_guard_models import (  # noqa: E402
    PROMPT_TARGETS,
    TEAM_SOURCES,
    Design,
    PromptData,
    build,
    design,
    fit_softmax,
    is_calibration,
)

from hegui.guard.judge.features import featurize  # noqa: E402
from hegui.guard.judge.linear import LinearModel  # noqa: E402
from hegui.guard.judge.prompt import PROMPT_CLASSES  # noqa: E402

DATA = REPO / "benchmarks" / "data"
#: The files written first (2026-12-01, first round).
FIRST = ("everyday_a_zh.txt", "everyday_b_zh.txt", "sensitive_legit_zh.txt")
#: The files of the third round (2026-12-02): knowledge questions on health, law, history and science.
KNOWLEDGE = ("knowledge_health_zh.txt", "knowledge_society_zh.txt")
#: The files of the fourth round (2026-12-02, later): document tasks on reports of harm, people's legal
#: questions, encyclopedia questions.
FOURTH = ("documents_b_zh.txt", "law_cases_zh.txt", "encyclopedia_zh.txt")
#: The files of the fifth round (2026-12-02, last): the formal written register on ordinary subjects, exam
#: and textbook questions, document tasks on ordinary formal material.
FIFTH = ("formal_requests_zh.txt", "exam_questions_zh.txt", "documents_c_zh.txt")
VARIANTS: dict[str, tuple[str, ...]] = {
    "none": (),
    "first": FIRST,
    "two-rounds": tuple(name for name, _ in TEAM_FILES if name not in KNOWLEDGE + FOURTH + FIFTH),
    "three-rounds": tuple(name for name, _ in TEAM_FILES if name not in FOURTH + FIFTH),
    "four-rounds": tuple(name for name, _ in TEAM_FILES if name not in FIFTH),
    "benign": tuple(name for name, _ in TEAM_FILES),
    "all": tuple(name for name, _ in TEAM_FILES + TEAM_HARMFUL_FILES),
}


@dataclass
class Result:
    name: str
    judged: Judged
    scores: npt.NDArray[np.float32]
    probes: dict[str, npt.NDArray[np.float64]]
    seconds: float


def probes() -> dict[str, list[str]]:
    sensitive = [
        json.loads(line)["prompt"]
        for line in (DATA / "sensitive_qa_zh.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return {
        "everyday probe": probe_texts(DATA / "everyday_zh.txt"),
        "sensitive probe": sensitive,
        "form probe": probe_texts(DATA / "requests_form_zh.txt"),
        "harmful requests of the safe-answers probe (should be refused)": [
            json.loads(line)["prompt"]
            for line in (DATA / "safe_answers_zh.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ],
    }


def variant_args(
    description: str, variants: Sequence[str], default: str
) -> tuple[argparse.Namespace, list[str]]:
    """The command line of a variant benchmark (this one, ``answer_negatives.py``): the arguments and the
    variant names asked for, each one of ``variants``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--variants", default=default, help=f"of {', '.join(variants)}")
    parser.add_argument("--maxiter", type=int, default=400)
    parser.add_argument("--l2", type=float, default=L2, help=f"the L2 of every fit (default {L2:g})")
    parser.add_argument("--reps", type=int, default=300, help="bootstrap resamples")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    names = [v.strip() for v in args.variants.split(",")]
    unknown = [v for v in names if v not in variants]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}; choose from {', '.join(variants)}")
    return args, names


def main() -> None:
    args, names = variant_args(__doc__.split("\n\n")[0], list(VARIANTS), "benign,all")

    others = load_inputs(args.data)
    team_rows = {name: list(team_requests(TEAM_ROOT, ((name, source),))) for name, source in TEAM_FILES}
    team_rows |= {
        name: list(team_harmful(TEAM_ROOT, ((name, source),))) for name, source in TEAM_HARMFUL_FILES
    }
    team_all = [e for rows in team_rows.values() for e in rows]
    # The team's harmful calibration rows are a probe of their own (below), not part of should-refuse,
    # which stays the data sets' so that every variant is judged on the same rows.
    calib = [
        e
        for e in [*others, *team_all]
        if e.split == "train" and is_calibration(e.group) and e.source != "team-harmful"
    ]
    fit_others = [e for e in others if e.split == "train" and not is_calibration(e.group)]
    del others  # dev is never read below
    benign_idx = rule_benign_index(calib)
    cm = design([e.text for e in calib], CONFIG)
    probe_sets = probes()
    probe_sets["team-harmful calibration rows (never fitted; should be refused)"] = [
        e.text for e in team_all if e.label == "harmful" and e.split == "train" and is_calibration(e.group)
    ]
    print(f"{len(fit_others)} other fitting rows, {len(calib)} calibration rows", flush=True)

    results: list[Result] = []
    for name in names:
        team_fit = [
            e
            for f in VARIANTS[name]
            for e in team_rows[f]
            if e.split == "train" and not is_calibration(e.group)
        ]
        data = build([*fit_others, *team_fit], form=0.5, form_mode="keep")
        result = fit_variant(name, data, calib, cm, benign_idx, probe_sets, args.maxiter, args.l2)
        results.append(result)
        j = result.judged
        print(
            f"{name}: {len(team_fit)} team rows fitted, threshold {j.threshold:.4f}, should-refuse "
            f"{fmt(j.rows['should-refuse'][1])}, criterion {j.quality:.4f} ({result.seconds:.0f} s)",
            flush=True,
        )
    noises, crit = against_first(results, calib, benign_idx, args.reps)
    lines = report(results, noises, crit, team_rows, len(calib), args)
    print("\n".join(lines))
    if not args.no_write:
        from _results import machine, write_section

        write_section("team_data", "\n".join([f"## team_data\n\n{machine()}\n", *lines]))


def report(
    results: list[Result],
    noises: list[Noise | None],
    crit: list[tuple[float, float] | None],
    team_rows: dict[str, list[Example]],
    n_cal: int,
    args: argparse.Namespace,
) -> list[str]:
    js = [r.judged for r in results]
    files = ", ".join(
        f"`{name}` {sum(e.split == 'train' and not is_calibration(e.group) for e in rows)}"
        for name, rows in team_rows.items()
    )
    out = [
        f"Team-written training requests (`scripts/team_data`; fitting rows per file: {files}) in the "
        f"harmful-request model's training, judged on the {n_cal:,} calibration rows of train (dev not read); "
        f"`python benchmarks/team_data.py --variants {args.variants} --l2 {args.l2:g}`. *none*: no team "
        f"file; *first*: {', '.join(FIRST)}; *two-rounds*: the six files of 2026-12-01; *three-rounds*: with "
        f"{', '.join(KNOWLEDGE)} (2026-12-02); *four-rounds*: with {', '.join(FOURTH)} (2026-12-02); *benign*: every benign file (with "
        f"{', '.join(FIFTH)}, 2026-12-02, fifth round); *all*: with the harmful requests "
        f"{', '.join(name for name, _ in TEAM_HARMFUL_FILES)} (2026-12-03), whose calibration rows are a probe row. Thresholds by the unchanged rule over the six benign prompt "
        "and dialogue sources; the team's calibration rows and the probes are measured, never part of a rule.",
        "",
        *comparison_rows([r.name for r in results], js, crit, results[0].name),
        *recall_rows(noises, results[0].name),
    ]
    return out + probe_rows(results)


def fit_variant(
    name: str,
    data: PromptData,
    calib: list[Example],
    cm: Design,
    benign_idx: dict[str, npt.NDArray[np.intp]],
    probe_sets: dict[str, list[str]],
    maxiter: int,
    l2: float = L2,
) -> Result:
    """The shipped family fitted on ``data`` (L2 ``l2``), judged on the calibration rows (``cm``: their
    design) with the threshold rule, per team source, and on the probes at its own threshold."""
    dm = design(data.texts, CONFIG)
    per_text = np.bincount(dm.owner, minlength=len(data.texts))
    win_w = data.weight[dm.owner] / per_text[dm.owner]
    t0 = time.time()
    w, b = fit_softmax(dm.x, data.y[dm.owner], win_w, len(PROMPT_CLASSES), l2, maxiter)
    seconds = time.time() - t0
    fam = linear_family(name, name, w, b, seconds, featurize)
    scores = text_scores(fam, cm.x, cm.owner, len(calib))
    j = judge(scores, calib, benign_idx)
    for source in TEAM_SOURCES:
        idx = np.array([i for i, e in enumerate(calib) if e.source == source])
        j.rows[f"{source} (calibration rows)"] = (
            len(idx),
            float(j.refused[idx].mean()) if len(idx) else np.nan,
        )
    placeholder = {p: {"refuse": 0.5, "evidence": 0.3} for p in PROMPT_TARGETS}
    model = LinearModel(PROMPT_CLASSES, w.astype(np.float16).astype(np.float32), b, CONFIG, placeholder)
    scored = {k: p_harmful(model, v) for k, v in probe_sets.items()}
    return Result(name, j, scores, scored, seconds)


def against_first(
    results: list[Result], calib: list[Example], benign_idx: dict[str, npt.NDArray[np.intp]], reps: int
) -> tuple[list[Noise | None], list[tuple[float, float] | None]]:
    """Paired bootstraps of every result against the first: recall at the rule's points, the criterion."""
    base = results[0].scores
    noises: list[Noise | None] = [None] + [
        paired_bootstrap(r.scores, base, calib, benign_idx, reps) for r in results[1:]
    ]
    crit: list[tuple[float, float] | None] = [None] + [
        criterion_bootstrap(r.scores, base, calib, benign_idx, reps) for r in results[1:]
    ]
    return noises, crit


def probe_rows(results: list[Result]) -> list[str]:
    """The probes refused at each result's own threshold, and the fit times."""
    out = []
    for key in results[0].probes:
        n = len(results[0].probes[key])
        out.append(
            row(
                f"{key} refused (n={n}; never trained on)",
                [fmt(float((r.probes[key] >= r.judged.threshold).mean())) for r in results],
            )
        )
    out.append(row("fit time", [f"{r.seconds:.0f} s" for r in results]))
    return out


if __name__ == "__main__":
    main()
