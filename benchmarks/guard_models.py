"""Benchmark: CPU per call of the judgement models on one core, load time and artifact sizes.

The prompt check (`prompt_model`) on prompts of 60, 200 and 2,000 characters, and the answer check
(`answer_model`) on a 100-character answer with a 60-character question and on a 1,000-character answer
with a 100-character question; texts are made here (random common Chinese characters with a sentence end
every 10-40 characters), so no data is needed, and every call of a row judges a text (and a question) of
its own, so no cache (the prompt model remembers up to 1,024 texts) flatters a row. With ``--baseline REF`` (a git revision, e.g.
``e6da91d``) the same rows are measured, in the same run, on that revision's ``src`` (``git archive``
into a temporary directory, run in a subprocess with ``PYTHONPATH`` pointing at it) and on the current
tree, ``--rounds`` fresh processes each (default 3), the trees alternating, and per row the round with
the least CPU time of each is shown: before and after on the same machine and texts. With ``--vocab-model PATH`` (a prompt
model with an explicit vocabulary, trained with ``scripts/train_guard_models.py --vocab-min-df 2``), or
when the bundled prompt model has one, the look-up of a prompt's n-gram ids is timed apart three ways:
the hash table the model uses (`hegui.guard.judge.idtable`), a binary search (`np.searchsorted`) over the
sorted vocabulary, and a dense model's bucket index (no look-up), each followed by the same gather of the
weight rows. Writes its table to benchmarks/RESULTS.md (section "guard_models"). Pin it to one core with
``taskset -c 0``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import numpy as np
import numpy.typing as npt
from _results import machine, write_section

import hegui
from hegui.guard import Context
from hegui.guard.judge import AnswerRiskCheck, PromptRiskCheck, featurize
from hegui.guard.judge.linear import LinearModel

PKG = Path(__file__).resolve().parents[1] / "src/hegui/guard/judge"
RUNS = 2000
#: Calls before a row is timed (each on a text of its own, as the timed ones).
WARM = 20


def text(rng: random.Random, length: int) -> str:
    out: list[str] = []
    while len(out) < length:
        out += [chr(rng.randint(0x4E00, 0x6FFF)) for _ in range(rng.randint(10, 40))]
        out.append(rng.choice("，。！？；\n"))
    return "".join(out[:length])


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e3, ordered[int(0.99 * (len(ordered) - 1))] * 1e3


Ids = npt.NDArray[np.uint32]


def median_us(fn: Callable[[Ids], None], args: list[Ids], runs: int = 1000) -> float:
    """Median wall time of ``fn(arg)`` over the args, in microseconds."""
    samples = []
    for i in range(runs):
        arg = args[i % len(args)]
        start = time.perf_counter()
        fn(arg)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def lookup_rows(model: LinearModel, prompts: list[str]) -> list[str]:
    """Table rows: the cost of turning a 2,000-character prompt's n-gram ids into weight rows."""
    if model.vocab is None:
        return []
    feats = [featurize(p, model.config) for p in prompts[:50]]
    ids = [f.buckets.astype(np.uint32) for f in feats]
    ordered = np.argsort(model.vocab)
    sorted_ids = model.vocab[ordered]
    dense = np.zeros((1 << 18, model.weights.shape[1]), np.float32)
    weights = model._padded

    def gather(table: npt.NDArray[np.float32], rows: npt.NDArray[np.intp]) -> None:
        per_pos = np.take(table, rows[:, 0], axis=0)
        for j in range(1, rows.shape[1]):
            per_pos += np.take(table, rows[:, j], axis=0)

    def by_table(i: npt.NDArray[np.uint32]) -> None:
        assert model._table is not None
        gather(weights, model._table.lookup(i))

    def by_search(i: npt.NDArray[np.uint32]) -> None:
        pos = np.minimum(np.searchsorted(sorted_ids, i), len(sorted_ids) - 1)
        gather(weights, np.where(sorted_ids[pos] == i, ordered[pos], len(sorted_ids)))

    def by_bucket(i: npt.NDArray[np.uint32]) -> None:
        gather(dense, (i >> np.uint32(14)).astype(np.intp))

    n = sum(int(f.valid.sum()) for f in feats) / len(feats)
    rows = []
    for label, fn in (
        ("hash table (`hegui.guard.judge.idtable`)", by_table),
        ("binary search (`np.searchsorted`)", by_search),
        ("dense buckets, no vocabulary (the shipped form: no look-up)", by_bucket),
    ):
        rows.append(f"| {label} | {median_us(fn, list(ids)):.0f} µs |")
    return [
        "",
        f"Vocabulary look-up, 2,000-character prompt (about {n:,.0f} valid n-grams; a vocabulary of "
        f"{len(model.vocab):,} ids; ids to weight rows plus the gather of the rows, median wall time; "
        "random characters, so most 2- to 4-grams are unknown):",
        "",
        "| look-up | median |",
        "|---|---:|",
        *rows,
    ]


@dataclass(frozen=True, slots=True)
class Row:
    """One measured row: wall-clock p50 and p99 and the mean CPU time per call, in milliseconds."""

    p50: float
    p99: float
    cpu: float


#: (key, label, kind, prompt or answer length, question length, runs)
ROWS = (
    ("prompt60", "`prompt_model` check, 60-character prompt", "prompt", 60, 0, RUNS),
    ("prompt200", "`prompt_model` check, 200-character prompt", "prompt", 200, 0, RUNS),
    ("prompt2000", "`prompt_model` check, 2,000-character prompt", "prompt", 2000, 0, RUNS),
    (
        "answer100",
        "`answer_model` check, 100-character answer + 60-character question",
        "answer",
        100,
        60,
        RUNS,
    ),
    (
        "answer1000",
        "`answer_model` check, 1,000-character answer + 100-character question",
        "answer",
        1000,
        100,
        RUNS // 2,
    ),
)


def timed(call: Callable[[int], object], runs: int) -> Row:
    """``call(i)`` for i in range(WARM, WARM + runs), after ``WARM`` calls: wall-clock percentiles per
    call and the mean CPU time."""
    for i in range(WARM):
        call(i)
    timings: list[float] = []
    cpu = time.process_time()
    for i in range(WARM, WARM + runs):
        start = time.perf_counter()
        call(i)
        timings.append(time.perf_counter() - start)
    mean_cpu = (time.process_time() - cpu) / runs * 1e3
    p50, p99 = percentiles(timings)
    return Row(p50, p99, mean_cpu)


def measure() -> tuple[dict[str, Row], float, float]:
    """Every row of ROWS with the current ``hegui`` (whichever is first on the path), and the load times."""
    rng = random.Random(7)
    t0 = time.perf_counter()
    prompt = PromptRiskCheck("prompt")
    load_prompt = time.perf_counter() - t0
    t0 = time.perf_counter()
    answer = AnswerRiskCheck("answer")
    load_answer = time.perf_counter() - t0
    rows: dict[str, Row] = {}
    for key, _, kind, length, question, runs in ROWS:
        if kind == "prompt":
            prompts = [text(rng, length) for _ in range(runs + WARM)]
            rows[key] = timed(lambda i, ps=prompts: prompt.inspect(ps[i % len(ps)], Context()), runs)
        else:
            pairs = [(text(rng, question), text(rng, length)) for _ in range(runs + WARM)]
            rows[key] = timed(
                lambda i, ps=pairs: answer.inspect(ps[i % len(ps)][1], Context(prompt=ps[i % len(ps)][0])),
                runs,
            )
    return rows, load_prompt, load_answer


def child(src: Path) -> dict[str, Row]:
    """`measure` in a fresh process with ``src`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, check=True
    ).stdout
    raw = json.loads(out.strip().splitlines()[-1])
    return {k: Row(**v) for k, v in raw.items()}


def best(runs: list[dict[str, Row]]) -> dict[str, Row]:
    """Per row, the round with the least CPU time (a shared machine only ever adds time)."""
    return {key: min((r[key] for r in runs), key=lambda row: row.cpu) for key in runs[0]}


def compared(ref: str, rounds: int) -> tuple[dict[str, Row], dict[str, Row]]:
    """This tree's rows and revision ``ref``'s (its ``src`` by ``git archive``), each measured in
    ``rounds`` fresh processes, the two trees alternating so that load on the machine falls on both."""
    repo = Path(__file__).resolve().parents[1]
    here = Path(hegui.__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", ref, "src"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        before: list[dict[str, Row]] = []
        after: list[dict[str, Row]] = []
        for _ in range(rounds):
            before.append(child(Path(tmp) / "src"))
            after.append(child(here))
    return best(after), best(before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--vocab-model", type=Path, help="a prompt model with a vocabulary, for the look-up rows"
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure git revision REF's src, in a subprocess, for before/after",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="with --baseline: fresh processes per tree (default 3)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        rows, _, _ = measure()
        print(json.dumps({k: asdict(v) for k, v in rows.items()}))
        return
    rows, load_prompt, load_answer = measure()
    before = None
    if args.baseline:
        rows, before = compared(args.baseline, args.rounds)
    rng = random.Random(7)
    prompts = [text(rng, 2000) for _ in range(200)]
    sizes = {p.name: p.stat().st_size for p in sorted(PKG.glob("*.npz"))}
    prompt_model = PromptRiskCheck("prompt").model.model
    vocab_model = LinearModel.load(args.vocab_model, "") if args.vocab_model else prompt_model
    lookups = lookup_rows(vocab_model, prompts)
    if before is None:
        header = ["| what | p50 (wall) | p99 (wall) | mean CPU time |", "|---|---:|---:|---:|"]
        table = [
            f"| {label} | {rows[key].p50:.3f} ms | {rows[key].p99:.3f} ms | {rows[key].cpu:.3f} ms |"
            for key, label, *_ in ROWS
        ]
    else:
        header = [
            f"| what | p50 (wall) | p99 (wall) | mean CPU time | mean CPU time at `{args.baseline}` | change |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        table = [
            f"| {label} | {rows[key].p50:.3f} ms | {rows[key].p99:.3f} ms | {rows[key].cpu:.3f} ms "
            f"| {before[key].cpu:.3f} ms | {(rows[key].cpu / before[key].cpu - 1) * 100:+.0f} % |"
            for key, label, *_ in ROWS
        ]
    body = "\n".join(
        [
            "## Judgement models (`benchmarks/guard_models.py`)",
            "",
            f"{machine()}",
            "",
            *header,
            *table,
            "",
            "The wall-clock p99 includes time the core spent on other processes (a shared machine); the",
            "mean CPU time is the checks' own cost. Every call judges a text of its own (no remembered",
            "scores), and the answer rows include scoring the question (q)."
            + (
                f" The baseline column is revision `{args.baseline}`, measured in the same run on the same"
                f" texts: {args.rounds} fresh processes per tree, the trees alternating, and per row the"
                " round with the least CPU time of each."
                if before is not None
                else ""
            ),
            "",
            f"Load: prompt model {load_prompt * 1e3:.0f} ms, answer model (with its prompt model) "
            f"{load_answer * 1e3:.0f} ms. Artifacts: "
            + ", ".join(f"`{n}` {s / 1e6:.2f} MB" for n, s in sizes.items())
            + ".",
            *lookups,
        ]
    )
    print(body)
    write_section("guard_models", body)


if __name__ == "__main__":
    main()
