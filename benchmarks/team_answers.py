"""Benchmark: the answer-compliance model with and without the team-written safe answers (issue 10,
2026-12-03).

    PYTHONPATH=src .venv/bin/python benchmarks/team_answers.py [--l2 0.001] [--no-write]

The compliance model learnt safe answers from jade-db v3 (one house style) and JoySafety's refusals; the
safe-answers probe (`benchmarks/answer_probe.py`, other writers) showed it reading a safe completion in
another voice as help. `scripts/team_data/safe_answers_{a,b}_zh.jsonl` are safe answers in many voices to
the team's harmful requests. For each variant the answer model is fitted the shipped way (L2 ``--l2``,
classes and sources weighted equally) on the fitting part, with the shipped prompt model fixed; its
thresholds are set by the unchanged rule (the team's answers are kept out of it), and the calibration
part is judged at the balanced preset's effective threshold (the higher of the answer model's and the
prompt model's, as `AnswerRiskCheck` does). The probe's 120 pairs, never trained on, are judged the same
way (the model alone: r = c × q; the refusal-cue rule is not applied here, see `answer_probe.py` for the
whole output stage). Dev is never read.

Writes benchmarks/RESULTS.md, section ``team_answers``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(Path(__file__).parent))

from answer_probe import load_probe  # noqa: E402
from guard_data import DEFAULT_ROOT, TEAM_ANSWERS, TEAM_ROOT, AnswerExample, load_answers  # noqa: E402
from train_guard_models import ANSWER_TARGETS, answer_scores, is_calibration, threshold_for, train_answer  # noqa: E402

from hegui.guard.judge.linear import LinearModel  # noqa: E402
from hegui.guard.judge.prompt import BUNDLED_PROMPT  # noqa: E402

JUDGE = REPO / "src" / "hegui" / "guard" / "judge"
VARIANTS = ("shipped data", "with the team's safe answers")


def balanced_threshold(scores: np.ndarray, calib: list[AnswerExample], prompt: LinearModel) -> float:
    """The unchanged rule (worst safe source of the calibration part at most 5 %, the team's answers left
    out), raised to the prompt model's refusal threshold as the check does."""
    safe: dict[str, list[float]] = defaultdict(list)
    for s, a in zip(scores, calib, strict=True):
        if a.label == "safe" and a.source != TEAM_ANSWERS:
            safe[a.source].append(float(s))
    by_src = {k: np.array(v) for k, v in safe.items() if len(v) >= 5}
    own = threshold_for(by_src, ANSWER_TARGETS["balanced"], worst=True)
    return max(own, prompt.thresholds["balanced"]["refuse"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--l2", type=float, default=0.001)
    parser.add_argument("--maxiter", type=int, default=400)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    prompt = LinearModel.load(JUDGE / BUNDLED_PROMPT, BUNDLED_PROMPT)
    answers = [a for a in load_answers(args.data, team_root=TEAM_ROOT) if a.split == "train"]
    calib = [a for a in answers if is_calibration(a.group)]
    probe = [
        AnswerExample(p.prompt, p.response, "safe", "refusal", "", "probe", "", "dev") for p in load_probe()
    ]
    cells: dict[str, dict[str, str]] = defaultdict(dict)
    for variant in VARIANTS:
        fit = [a for a in answers if not is_calibration(a.group)]
        if variant == VARIANTS[0]:
            fit = [a for a in fit if a.source != TEAM_ANSWERS]
        model = train_answer(fit, args.l2, args.maxiter)
        scores = answer_scores(model, prompt, calib)
        t = balanced_threshold(scores, calib, prompt)
        cells["balanced threshold (effective)"][variant] = f"{t:.4f}"
        groups: dict[str, list[float]] = defaultdict(list)
        for s, a in zip(scores, calib, strict=True):
            groups[f"{a.source} {a.label}"].append(float(s))
        for key in sorted(groups):
            v = np.array(groups[key])
            label = f"{key} (n={len(v)})" + (
                " — the team's, not in the rule" if key.startswith(TEAM_ANSWERS) else ""
            )
            cells[label][variant] = f"{(v >= t).mean():.1%}"
        unsafe = np.array([a.label == "unsafe" for a in calib])
        cells[f"unsafe answers, pooled (n={int(unsafe.sum())})"][variant] = (
            f"{(scores[unsafe] >= t).mean():.1%}"
        )
        p = answer_scores(model, prompt, probe)
        cells[f"probe's safe answers flagged, model alone (n={len(probe)}; never trained on)"][variant] = (
            f"{(p >= t).mean():.1%}"
        )
        cells["fitting answers"][variant] = f"{len(fit):,}"
    lines = [
        "The answer-compliance model fitted without and with the team-written safe answers "
        "(`scripts/team_data/safe_answers_*_zh.jsonl`), the shipped prompt model fixed; flagged = c × q at or "
        "above the balanced preset's effective threshold, on the calibration part of train (dev not read); "
        f"`python benchmarks/team_answers.py --l2 {args.l2:g}`. Decision rule, fixed before the answers were "
        "written: adopt if unsafe answers flagged fall by at most 1 point and no safe source of the rule is "
        "flagged more than 0.5 point more.",
        "",
        "| on the calibration part | " + " | ".join(VARIANTS) + " |",
        "|---|" + "---:|" * len(VARIANTS),
    ]
    for key, row in cells.items():
        lines.append(f"| {key} | " + " | ".join(row.get(v, "–") for v in VARIANTS) + " |")
    lines.append(f"\n{time.perf_counter() - started:.0f} s.")
    print("\n".join(lines))
    if not args.no_write:
        from _results import machine, write_section

        write_section("team_answers", "\n".join(["## team_answers\n", machine(), "", *lines]))


if __name__ == "__main__":
    main()
