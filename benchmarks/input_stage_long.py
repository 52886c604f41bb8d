#!/usr/bin/env python3
"""The input stage on 2,000-character prompts, this tree against another one, side by side.

Issue 10 asks for the full input-stage decision (models included) in p99 ≤ 2 ms for 2,000 characters.
`guard_quality.py` measures it once per policy, which on a shared machine moves by a millisecond from one
hour to the next; a change to the guard's speed is judged here instead, against the tree before it in the
same run:

- the prompts: ``--prompts`` pieces of 2,000 characters cut from the dev texts joined in order
  (`guard_quality.cut_prompts`; dev rows only, nothing is trained or tuned here);
- the policy: the bundled default plus the 64k lexicon of ../shared/data/sensitive-word with the lexicon
  check's defaults (guard_quality's policy (f0), the one the acceptance bar names);
- each tree is measured in its own processes (``--rounds`` each, the trees alternating, so that a slower
  minute of the machine falls on both): a process builds the pipeline, freezes its heap as a served
  process does, and judges every prompt three times; a prompt's cost is the least CPU time of the three
  (as `guard_quality.long_p99`), for the whole stage and for each check alone. Each worker runs on one
  core (the last the process may use).

    python benchmarks/input_stage_long.py --baseline-src /tmp/before/src   # e.g. `git archive` of HEAD~1

The section also gives the machine's speed before and after the run (``sum(range(10**6))`` on the
workers' core), so that runs of different days can be compared. Writes the section ``input_stage_long``
of RESULTS.md (``--no-write``: print only).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

#: A worker's figures: per part (the whole stage, each check), its mean, p50 and p99 in ms.
Parts = dict[str, dict[str, float]]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ROUNDS_PER_PROMPT = 3
#: Fewer 2,000-character prompts would fit in the prompt model's memory of recent scores.
MIN_PROMPTS = 100


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def measure(count: int) -> dict[str, object]:
    """In a worker process: the whole stage's and each check's costs (ms) on ``count`` long prompts."""
    sys.path[:0] = [str(HERE), str(REPO / "scripts")]
    import guard_quality as gq
    from guard_data import TEAM_ROOT, load_inputs

    from hegui.guard.types import Context, Stage

    inputs = [e for e in load_inputs(gq.DATA, team_root=TEAM_ROOT) if e.split == "dev"]
    prompts = gq.cut_prompts(inputs, count)
    spec = next(s for s in gq.policies("no tiers file") if s.key == "f0")
    workdir = HERE / ".work" / "input_stage_long" / str(os.getpid())
    workdir.mkdir(parents=True, exist_ok=True)
    pipeline = gq.build(spec, workdir)
    if isinstance(pipeline, str):
        raise SystemExit(f"policy (f0) not available: {pipeline}")
    gc.collect()
    gc.freeze()
    clock = time.thread_time
    costs: dict[str, list[list[float]]] = {}

    def timed(name: str, judge: Callable[[str], object]) -> None:
        runs: list[list[float]] = []
        for _ in range(ROUNDS_PER_PROMPT):
            run: list[float] = []
            for prompt in prompts:
                started = clock()
                judge(prompt)
                run.append((clock() - started) * 1e3)
            runs.append(run)
        costs[name] = runs

    timed("whole stage", lambda p: pipeline.run(Stage.INPUT, p, Context()))
    for check in pipeline.checks_for(Stage.INPUT):
        timed(check.name, lambda p, c=check: c.inspect(p, Context()))
    parts: Parts = {}
    for name, runs in costs.items():
        best = [min(t) for t in zip(*runs, strict=True)]
        parts[name] = {"mean": statistics.fmean(best), "p50": statistics.median(best), "p99": _p99(best)}
    return {"prompts": len(prompts), "parts": parts}


def machine_speed() -> float:
    """`_results.yardstick_ms` on the workers' core: for comparing this section with other days."""
    from _results import yardstick_ms  # benchmarks/ is the script's folder

    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    return yardstick_ms()


def run_worker(src: Path, count: int) -> tuple[int, Parts]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, __file__, "--worker", "--prompts", str(count)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the worker for {src} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return int(result["prompts"]), {name: dict(stats) for name, stats in result["parts"].items()}


def table(results: dict[str, list[Parts]]) -> str:
    names = list(results["this tree"][0])
    lines = [
        "| tree | part | mean ms | p50 ms | p99 ms (median of the rounds) | p99 ms per round |",
        "|---|---|---:|---:|---:|---|",
    ]
    for tree, rounds in results.items():
        for name in names:
            stats = [r[name] for r in rounds]
            p99s = [s["p99"] for s in stats]
            mean = statistics.median(s["mean"] for s in stats)
            p50 = statistics.median(s["p50"] for s in stats)
            label = f"**{name}**" if name == "whole stage" else name
            lines.append(
                f"| {tree} | {label} | {mean:.2f} | {p50:.2f} | {statistics.median(p99s):.2f} | "
                + ", ".join(f"{v:.2f}" for v in p99s)
                + " |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--baseline-src", type=Path, help="another tree's src/ (e.g. the commit before a change)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="processes per tree, the trees alternating")
    parser.add_argument("--prompts", type=int, default=500, help="2,000-character prompts (at most)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})  # one core, as guard_quality
        print(json.dumps(measure(args.prompts)))
        return
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.prompts < MIN_PROMPTS:
        parser.error(
            f"--prompts must be at least {MIN_PROMPTS}: the prompt model remembers the scores of its last "
            "texts (up to 131,072 characters), so fewer prompts judged three times would measure that memory"
        )
    trees = {"this tree": REPO / "src"}
    if args.baseline_src is not None:
        if not (args.baseline_src / "hegui" / "__init__.py").exists():
            parser.error(f"--baseline-src {args.baseline_src}: no hegui package there")
        trees["baseline"] = args.baseline_src
    results: dict[str, list[Parts]] = {name: [] for name in trees}
    count = 0
    speed = [machine_speed()]
    started = time.monotonic()
    for i in range(args.rounds):
        order = list(trees.items()) if i % 2 == 0 else list(reversed(trees.items()))
        for name, src in order:
            count, parts = run_worker(src, args.prompts)
            results[name].append(parts)
            print(
                f"round {i + 1}/{args.rounds}: {name} done ({time.monotonic() - started:.0f} s)", flush=True
            )
    speed.append(machine_speed())
    sys.path.insert(0, str(HERE))
    from _results import machine, write_section

    baseline = f"; baseline: `{args.baseline_src}`" if args.baseline_src else ""
    body = (
        "## The input stage on 2,000-character prompts (`benchmarks/input_stage_long.py`)\n\n"
        f"{machine()}{baseline}\n\n"
        f"{count} prompts of 2,000 characters cut from the dev texts; the bundled policy plus the 64k lexicon "
        "with the lexicon check's defaults (guard_quality's (f0)). Each tree in "
        f"{args.rounds} processes on one core, the trees alternating; in each, every prompt judged "
        f"{ROUNDS_PER_PROMPT} times and its least CPU time kept (whole stage, then each check alone). "
        "Mean and p50: the median of the rounds. Target (issue 10): the whole stage's p99 ≤ 2 ms. "
        f"The machine's speed, for comparing with other days: `sum(range(10**6))` took {speed[0]:.1f} ms "
        f"before the run and {speed[1]:.1f} ms after (best of 5).\n\n" + table(results) + "\n"
    )
    print(body)
    if not args.no_write:
        write_section("input_stage_long", body)


if __name__ == "__main__":
    main()
