"""Benchmark: latency of the judgement models on one core, load time and artifact sizes.

The prompt check (`prompt_model`) on 2,000-character prompts and the answer check (`answer_model`) on
1,000-character answers with a 100-character question; texts are made here (random common Chinese
characters with a sentence end every 10-40 characters), so no data is needed. With ``--vocab-model
PATH`` (a prompt model with an explicit vocabulary, trained with ``scripts/train_guard_models.py
--vocab-min-df 2``), or when the bundled prompt model has one, the look-up of a prompt's n-gram ids is
timed apart three ways: the hash table the model uses (`hegui.guard.judge.idtable`), a binary search
(`np.searchsorted`) over the sorted vocabulary, and a dense model's bucket index (no look-up), each
followed by the same gather of the weight rows. Writes its table to
benchmarks/RESULTS.md (section "guard_models"). Pin it to one core with ``taskset -c 0``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import numpy as np
import numpy.typing as npt
from _results import machine, write_section

from hegui.guard import Context
from hegui.guard.judge import AnswerRiskCheck, PromptRiskCheck, featurize
from hegui.guard.judge.linear import LinearModel

PKG = Path(__file__).resolve().parents[1] / "src/hegui/guard/judge"
RUNS = 2000


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--vocab-model", type=Path, help="a prompt model with a vocabulary, for the look-up rows"
    )
    args = parser.parse_args()
    rng = random.Random(7)
    t0 = time.perf_counter()
    prompt = PromptRiskCheck("prompt")
    load_prompt = time.perf_counter() - t0
    t0 = time.perf_counter()
    answer = AnswerRiskCheck("answer")
    load_answer = time.perf_counter() - t0
    prompts = [text(rng, 2000) for _ in range(200)]
    answers = [(text(rng, 100), text(rng, 1000)) for _ in range(200)]
    for p in prompts[:20]:
        prompt.inspect(p, Context())
    timings: list[float] = []
    cpu = time.process_time()
    for i in range(RUNS):
        p = prompts[i % len(prompts)]
        start = time.perf_counter()
        prompt.inspect(p, Context())
        timings.append(time.perf_counter() - start)
    cpu_prompt = (time.process_time() - cpu) / RUNS * 1e3
    p50, p99 = percentiles(timings)
    a_timings: list[float] = []
    cpu = time.process_time()
    for i in range(RUNS // 2):
        q, a = answers[i % len(answers)]
        start = time.perf_counter()
        answer.inspect(a, Context(prompt=q))
        a_timings.append(time.perf_counter() - start)
    cpu_answer = (time.process_time() - cpu) / (RUNS // 2) * 1e3
    a50, a99 = percentiles(a_timings)
    sizes = {p.name: p.stat().st_size for p in sorted(PKG.glob("*.npz"))}
    vocab_model = LinearModel.load(args.vocab_model, "") if args.vocab_model else prompt.model.model
    lookups = lookup_rows(vocab_model, prompts)
    body = "\n".join(
        [
            "## Judgement models (`benchmarks/guard_models.py`)",
            "",
            f"{machine()}",
            "",
            "| what | p50 (wall) | p99 (wall) | mean CPU time |",
            "|---|---:|---:|---:|",
            f"| `prompt_model` check, 2,000-character prompt | {p50:.3f} ms | {p99:.3f} ms | {cpu_prompt:.3f} ms |",
            f"| `answer_model` check, 1,000-character answer + 100-character question | {a50:.3f} ms | {a99:.3f} ms "
            f"| {cpu_answer:.3f} ms |",
            "",
            "The wall-clock p99 includes time the core spent on other processes (a shared machine); the",
            "mean CPU time is the checks' own cost.",
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
