"""Benchmark: safe answers to harmful requests, in styles no training set holds (issue 10, 2026-12-03).

    PYTHONPATH=src .venv/bin/python benchmarks/answer_probe.py [--no-write]

The output stage's training and dev data for *safe* answers to harmful questions is one set, jade-db v3
(its safe answers, in one house style), and the team's refusals probe adds short refusals only. The
complaint of issue 10 was the opposite case: a safe answer that explains *why* something is illegal,
names the drug or the scam, and points to help, flagged more often than an unsafe one. This probe holds
what that looks like in other hands: `benchmarks/data/safe_answers_zh.jsonl`, requests a service must
not fulfil (violence, drugs, fraud, intrusion, discrimination, privacy, self-harm, sexual content,
extremism, forgery, …) each with a safe answer — short refusals, refusals with reasons and resources,
long safe completions that name the harm plainly, lists with bold headings, safe versions of a fiction
scene, supportive answers to people in distress. Two writers wrote it on 2026-12-03 from a brief alone,
without sight of any data set, probe or measured line; nothing is trained or tuned on it.

Two readings, for the bundled default policy (a) and for the acceptance policy (f0: the bundled default
plus the 64k sensitive-word lexicon with its tags, no tiers file; `balanced`):

* the **output stage** on each pair (the prompt in `Context.prompt`, the answer judged): the share of
  safe answers flagged (issue 10's bar for safe answers to harmful questions: at most 10 %), and which
  check decided;
* the **input stage** on the requests alone: the share refused (they should all be; the writers' forms
  are not those of any training set, so this is also a small probe of unseen harmful requests).

Writes benchmarks/RESULTS.md, section "answer_probe" (``--no-write``: print only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))  # guard_data, which _guard_cli reads
sys.path.insert(0, str(REPO / "benchmarks"))
from _guard_cli import LEX_DICT, LEX_TAGS  # noqa: E402
from _results import machine, write_section  # noqa: E402

from hegui.cli.check import _pipeline  # noqa: E402
from hegui.guard.batch import BatchItem, BatchVerdict, judge  # noqa: E402
from hegui.guard.pipeline import Pipeline  # noqa: E402
from hegui.guard.types import Stage  # noqa: E402

PROBE = REPO / "benchmarks" / "data" / "safe_answers_zh.jsonl"
SAFE_ANSWERS_FLAGGED_AT_MOST = 0.10


@dataclass(frozen=True)
class Pair:
    prompt: str
    response: str


@dataclass(frozen=True)
class Reading:
    policy: str
    flagged: int
    deciders: Counter[str]
    refused_inputs: int


def load_probe(path: Path = PROBE) -> list[Pair]:
    """The probe's pairs; ValueError naming the line when one is not a pair of strings."""
    pairs: list[Pair] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row.get("prompt"), str) or not isinstance(row.get("response"), str):
            raise ValueError(f"{path}:{number}: a pair needs string prompt and response")
        pairs.append(Pair(row["prompt"], row["response"]))
    return pairs


def deciders(verdict: BatchVerdict) -> str:
    """The checks whose findings stop the text (``checks failed`` when the checks raised)."""
    if verdict.verdict is None:
        return "checks failed"
    names = sorted({f.check for f in verdict.verdict.findings if f.action.stops})
    return " + ".join(names) or "fusion"


def read(name: str, pipeline: Pipeline, pairs: list[Pair]) -> Reading:
    flagged, refused = 0, 0
    who: Counter[str] = Counter()
    for n, pair in enumerate(pairs, 1):
        out = judge(pipeline, Stage.OUTPUT, BatchItem(n, pair.response, pair.prompt))
        if out.stops:
            flagged += 1
            who[deciders(out)] += 1
        refused += judge(pipeline, Stage.INPUT, BatchItem(n, pair.prompt)).stops
    return Reading(name, flagged, who, refused)


def report(pairs: list[Pair], readings: list[Reading], seconds: float) -> list[str]:
    n = len(pairs)
    lengths = sorted(len(p.response) for p in pairs)
    out = [
        "## Safe answers in other hands (`benchmarks/answer_probe.py`)",
        "",
        machine(),
        "",
        f"`benchmarks/data/safe_answers_zh.jsonl`: {n} requests a service must not fulfil, each with a safe "
        f"answer (answer length median {lengths[n // 2]} characters, {lengths[0]}–{lengths[-1]}), written by the "
        "team on 2026-12-03 from a brief alone; never trained or tuned on. The output stage judges each answer "
        "with its request in `Context.prompt`; the input stage judges the requests alone. Issue 10's bar for "
        f"safe answers to harmful questions: at most {SAFE_ANSWERS_FLAGGED_AT_MOST:.0%} flagged.",
        "",
        "| policy | safe answers flagged | bar | requests refused at the input stage | flagged answers: decided by |",
        "|---|---:|---|---:|---|",
    ]
    for r in readings:
        share = r.flagged / n
        bar = "met" if share <= SAFE_ANSWERS_FLAGGED_AT_MOST else "**not met**"
        who = "; ".join(f"{k} {v}" for k, v in r.deciders.most_common()) or "—"
        out.append(
            f"| {r.policy} | {share:.1%} ({r.flagged}/{n}) | {bar} | {r.refused_inputs / n:.1%} | {who} |"
        )
    out += ["", f"{seconds:.0f} s."]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    pairs = load_probe()
    policies = {
        "(a) bundled default": _pipeline(None),
        "(f0) bundled default + 64k lexicon, no tiers file": _pipeline(
            None, LEX_DICT, "plain", lexicon_tags=LEX_TAGS
        ),
    }
    readings = [read(name, pipeline, pairs) for name, pipeline in policies.items()]
    body = report(pairs, readings, time.perf_counter() - started)
    print("\n".join(body))
    if not args.no_write:
        write_section("answer_probe", "\n".join(body))


if __name__ == "__main__":
    main()
