"""The prompt model's evidence threshold under `balanced`, measured on the CALIBRATION part (issue 10).

A lexicon topic term (毒品, 诈骗, 法院 …) refuses when the prompt model gives *evidence* where the term is:
a P(harmful) at or above the preset's evidence threshold but below its refusal threshold
(`hegui.guard.fusion`). The training script sets that threshold as it sets the refusal threshold: the
smallest at which the mean share of the calibration part's benign prompts and dialogue turns reaching it
is at most a target (`scripts/train_guard_models.py`, ``PROMPT_TARGETS``). Balanced's target was 10 %,
fixed when the fusion was built and never measured against the decision it feeds. The team's knowledge and
sensitive questions showed topic terms refused on weak evidence (P(harmful) 0.14–0.20 of a news report on a
drug case), so this script asks which target the decision itself warrants.

Each column is the policy of the acceptance bar (the bundled default plus the 64k sensitive-word lexicon,
no tiers file, `balanced`) with the prompt model's ``evidence_threshold`` at the value the rule gives for
one target; everything else as shipped. Every check runs in each column (the specialist is consulted only
on A.2 evidence, so it differs by column too).

The choice rule, fixed before measuring: the **highest** threshold (fewest benign refusals) at which the
should-refuse calibration prompts refused are **not fewer** than at the 10 % target. Rows: the calibration
part of train (``sha256("hegui-calib-v1:" + group) % 10 == 0``, held out of the prompt model's fitting),
the team-written requests' calibration rows included. Dev rows are never read.

    PYTHONPATH=src .venv/bin/python benchmarks/evidence_threshold.py [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "benchmarks"))

from _guard_cli import SW  # noqa: E402
from fusion_gate import is_calibration  # noqa: E402
from guard_data import TEAM_ROOT, DataMissing, Example, load_inputs  # noqa: E402
from guard_quality import input_group, lexicon_toml  # noqa: E402
from train_guard_models import benign_calibration_scores, threshold_for  # noqa: E402

from hegui.guard.batch import BatchItem, judge  # noqa: E402
from hegui.guard.judge.prompt import PromptRiskModel  # noqa: E402
from hegui.guard.types import Stage  # noqa: E402
from hegui.pipelines import build_pipeline  # noqa: E402
from hegui.policy import bundled_policy_text, parse_policy  # noqa: E402

#: Mean benign share reaching the threshold: the former balanced target first, then stricter ones.
TARGETS = (0.10, 0.08, 0.06, 0.05, 0.04)
PROMPT_CHECK = 'type = "prompt_model"\n'


@dataclass(frozen=True, slots=True)
class Column:
    target: float
    threshold: float
    refused: tuple[bool, ...]


def policy_text(evidence: float) -> str:
    """The acceptance policy with the prompt model's evidence threshold set to ``evidence``."""
    text = bundled_policy_text().rstrip() + "\n" + lexicon_toml(None)
    if text.count(PROMPT_CHECK) != 1:
        raise SystemExit("the bundled policy no longer has exactly one prompt_model check")
    return text.replace(PROMPT_CHECK, f"{PROMPT_CHECK}evidence_threshold = {evidence}\n")


def run(evidence: float, rows: Sequence[Example]) -> tuple[bool, ...]:
    pipeline = build_pipeline(parse_policy(policy_text(evidence), str(REPO / "evidence-threshold.toml")))
    return tuple(judge(pipeline, Stage.INPUT, BatchItem(i, e.text)).stops for i, e in enumerate(rows, 1))


def row_set(e: Example) -> str:
    """The table row of a calibration example: the headline group, the team's sets and SWSR apart."""
    if e.source.startswith("team-"):
        return f"{e.source} (team-written)"
    if e.source in ("cold", "swsr"):
        return f"{input_group(e)}: {e.source.upper()}"
    if input_group(e) == "benign questions":
        return f"benign questions: {e.source}"
    return input_group(e)


def chosen(columns: Sequence[Column], rows: Sequence[Example]) -> Column:
    harmful = [i for i, e in enumerate(rows) if input_group(e) == "should-refuse prompts"]
    base = sum(columns[0].refused[i] for i in harmful)
    keep = [c for c in columns if sum(c.refused[i] for i in harmful) >= base]
    return max(keep, key=lambda c: c.threshold)


def table(columns: Sequence[Column], rows: Sequence[Example], pick: Column) -> str:
    sets = sorted({row_set(e) for e in rows})
    head = "| calibration set | n | " + " | ".join(
        f"{c.target:.0%} → {c.threshold:.4f}" + (" **chosen**" if c is pick else "") for c in columns
    )
    lines = [head + " |", "|---|---:|" + "---:|" * len(columns)]
    for name in sets:
        index = [i for i, e in enumerate(rows) if row_set(e) == name]
        cells = [f"{100 * sum(c.refused[i] for i in index) / len(index):.1f} %" for c in columns]
        lines.append(f"| {name} | {len(index):,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    if not SW.is_dir():
        sys.exit(f"the sensitive-word lexicon is not under {SW} (set HEGUI_SHARED_DATA)")
    started = time.perf_counter()
    try:
        examples = load_inputs(team_root=TEAM_ROOT)
    except DataMissing as exc:
        sys.exit(str(exc))
    rows = [e for e in examples if e.split == "train" and is_calibration(e.group)]
    model = PromptRiskModel.load().model
    scores = benign_calibration_scores(model, rows)
    columns = []
    for target in TARGETS:
        threshold = round(threshold_for(scores, target), 4)
        print(f"target {target:.0%}: evidence threshold {threshold}", flush=True)
        columns.append(Column(target, threshold, run(threshold, rows)))
    pick = chosen(columns, rows)
    shipped = model.preset("balanced")["evidence"]
    from _results import machine, write_section

    body = [
        "## The prompt model's evidence threshold, balanced (`benchmarks/evidence_threshold.py`)",
        "",
        machine(),
        "",
        f"Calibration part of train ({len(rows):,} rows, the team-written requests' included; dev not read). "
        "Policy: the bundled default plus the 64k sensitive-word lexicon (no tiers file), `balanced`; per "
        "column the prompt model's `evidence_threshold` at the value the training script's rule gives for "
        "the target (mean share of the calibration benign prompts and dialogue turns at or above it). Share "
        "refused. Rule, fixed before measuring: the highest threshold whose should-refuse prompts refused "
        f"are not fewer than at 10 %: **{pick.target:.0%} ({pick.threshold})**. The shipped artifact's "
        f"balanced evidence threshold: {shipped}.",
        "",
        table(columns, rows, pick),
        "",
        f"{time.perf_counter() - started:.0f} s.",
    ]
    markdown = "\n".join(body)
    print(markdown)
    if not args.no_write:
        write_section("evidence_threshold", markdown)


if __name__ == "__main__":
    main()
