"""What judging at sentence ends costs a stream: time to first released text, against the horizon-only
inspector and against holding the whole answer back.

Three output-stage pipelines inspect the same streamed answers:

- **horizon only**: a deny-list (horizon 8) and the mobile/ID/bank-card PII recognizers, the checks that
  hold back only ``horizon - 1`` characters;
- **+ sentence check**: the same plus a stand-in answer model that judges at sentence ends
  (``judges_at = "sentence"``) and costs ``--judge-ms`` (0.3 ms) of CPU per call, the measured cost of a
  small linear answer model on a few hundred characters;
- **+ whole-text check**: the same stand-in declared as needing the whole text (``judges_at = "end"``),
  which is what a horizon-None check did before sentence judging.

The answers are the safe answers of ``load_answers()`` (``scripts/guard_data.py``; jade-db v3 safe
answers, refusals and CrossWOZ system turns) of at least 60 characters, or a built-in answer when the
shared data is absent. Each answer is streamed as the upstream would send it: chunks of 1–2 characters
(one token) every ``--token-ms`` (25 ms, 40 tokens/s). The clock is simulated: chunk *i* arrives at
``i × token_ms``; the inspector's real CPU time for each chunk (measured with perf_counter) is added
when it is busy. Time to first released text (TTFT) is counted from the first chunk's arrival; the tail
is the wait after the last chunk until everything is released. Writes the ``stream_sentences`` section
of benchmarks/RESULTS.md.

A second table streams answers of growing length through the **bundled policy's** output stage (the
real answer model at sentence ends, PII, the deny-list; `--lengths`), beside the same answers judged whole
once: the answer model judges the text so far at every sentence end, so a stream's CPU grows with the
square of its length (docs/guard-models.md, "Streams"). Long answers are safe answers joined until the
length is reached, each stream with the question of its first answer.

    .venv/bin/python benchmarks/stream_sentences.py [--answers 300] [--lengths 150,500,1000,2000,4000]
        [--per-length 20] [--no-write]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "benchmarks"))

from hegui.guard import Context, Finding, Pipeline, Stage, StreamInspector  # noqa: E402
from hegui.guard.denylist import DenyListCheck  # noqa: E402
from hegui.guard.pii import PIIAnalyzer, PIICheck, recognizers_for  # noqa: E402

FALLBACK = (
    "这个问题可以分几步来看。首先，需要了解相关的法律规定，违法的行为不应尝试。"
    "其次，如果遇到困难，可以向专业人士寻求帮助，比如律师或者社区工作人员。"
    "最后，保持冷静，理性处理问题，才能得到更好的结果。希望这些建议对你有帮助！"
)


@dataclass
class StandInJudge:
    """Spins for ``cost`` seconds per call, like a small answer model; finds nothing."""

    name: str
    cost: float
    judges_at: str
    stages: frozenset[Stage] = frozenset({Stage.OUTPUT})
    horizon: int | None = None
    version: str = "stand-in"
    calls: int = 0

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        self.calls += 1
        until = time.perf_counter() + self.cost
        while time.perf_counter() < until:
            pass
        return []


@dataclass
class Timing:
    ttft_ms: float
    tail_ms: float
    cpu_ms: float
    calls: int


def answers(limit: int) -> list[str]:
    try:
        from guard_data import DataMissing, load_answers
    except ImportError:
        return [FALLBACK]
    try:
        rows = [a.response for a in load_answers() if a.label == "safe" and len(a.response) >= 60]
    except DataMissing:
        return [FALLBACK]
    random.Random(7).shuffle(rows)
    return rows[:limit] or [FALLBACK]


def chunked(text: str, rng: random.Random) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        size = rng.choice((1, 2))
        out.append(text[pos : pos + size])
        pos += size
    return out


def span_checks() -> list[object]:
    deny = DenyListCheck(
        "deny", ["演示违禁词", "hegui-forbidden-demo", "一个八字的示例词"], stages=[Stage.OUTPUT]
    )
    pii = PIICheck(
        "pii", PIIAnalyzer(recognizers_for(["mobile", "resident_id", "bank_card"])), stages=[Stage.OUTPUT]
    )
    return [deny, pii]


def stream(pipeline: Pipeline, chunks: list[str], token_s: float, judge: StandInJudge | None) -> Timing:
    ctx = Context(prompt="问题")
    insp = StreamInspector(pipeline, Stage.OUTPUT, ctx)
    clock, first, cpu = 0.0, None, 0.0
    calls_before = judge.calls if judge else 0
    for i, chunk in enumerate(chunks):
        clock = max(clock, i * token_s)
        started = time.perf_counter()
        step = insp.feed(chunk)
        spent = time.perf_counter() - started
        clock += spent
        cpu += spent
        if first is None and step.release:
            first = clock
    clock = max(clock, (len(chunks) - 1) * token_s)
    last_arrival = clock
    started = time.perf_counter()
    step = insp.finish()
    spent = time.perf_counter() - started
    clock += spent
    cpu += spent
    if first is None and step.release:
        first = clock
    assert not step.stopped
    calls = (judge.calls - calls_before) if judge else 0
    return Timing((first or clock) * 1000, (clock - last_arrival) * 1000, cpu * 1000, calls)


@dataclass(frozen=True)
class Long:
    """One long answer to stream: its question and its text."""

    question: str
    text: str


def long_answers(length: int, count: int) -> list[Long]:
    """``count`` answers of ``length`` characters: safe answers (with their questions) joined in turn."""
    try:
        from guard_data import DataMissing, load_answers

        pairs = [
            (a.prompt, a.response) for a in load_answers() if a.label == "safe" and len(a.response) >= 60
        ]
    except (ImportError, DataMissing):
        pairs = [("问题", FALLBACK)]
    random.Random(length).shuffle(pairs)
    out, i = [], 0
    for _ in range(count):
        question, parts = pairs[i % len(pairs)][0], []
        while sum(map(len, parts)) < length:
            parts.append(pairs[i % len(pairs)][1])
            i += 1
        out.append(Long(question, "".join(parts)[:length]))
    return out


@dataclass(frozen=True)
class _WholeSpanPII:
    """The PII check as it streamed before 2026-12-01: the same findings, held back and rescanned by its
    longest span (the e-mail recognizer's 256 characters), since it does not offer to narrow it."""

    check: PIICheck

    @property
    def name(self) -> str:
        return self.check.name

    @property
    def stages(self) -> frozenset[Stage]:
        return self.check.stages

    @property
    def horizon(self) -> int | None:
        return self.check.analyzer.max_span  # as it streamed before 2026-12-01 (its horizon is longer now)

    @property
    def version(self) -> str:
        return self.check.version

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        return self.check.inspect(text, ctx)


def _whole_span(check: object) -> object:
    return _WholeSpanPII(check) if isinstance(check, PIICheck) else check


def bundled_by_length(lengths: list[int], per_length: int, rng: random.Random) -> list[str]:
    """Rows of the second table: CPU per streamed answer through the bundled output stage, by length,
    and how many characters had been written when the first text was released."""
    from hegui.pipelines import build_pipeline
    from hegui.policy import bundled_policy_text, parse_policy

    pipeline = build_pipeline(parse_policy(bundled_policy_text(), "bundled"))
    whole_span = Pipeline(  # the same checks, the PII check held back by its whole span
        [_whole_span(c) for c in pipeline.checks],  # type: ignore[misc]
        policy_version=pipeline.policy_version,
        mask_char=pipeline.mask_char,
        fusion=pipeline.fusion,
        sentence_max_chars=pipeline.sentence_max_chars,
        release_step=pipeline.release_step,
    )

    def streamed(p: Pipeline, chunks: list[str], ctx: Context) -> tuple[float, int, bool]:
        """CPU ms, characters written when text was first released, whether the stream was stopped."""
        started, written, first = time.thread_time(), 0, 0
        insp = StreamInspector(p, Stage.OUTPUT, ctx)
        for chunk in chunks:
            written += len(chunk)
            step = insp.feed(chunk)
            if step.release and not first:
                first = written
            if step.stopped:
                break
        stopped = insp.finish().stopped or insp.stopped
        return (time.thread_time() - started) * 1000, first or written, stopped

    rows = []
    for length in lengths:
        now, before, whole, first_now, first_before, stopped = [], [], [], [], [], 0
        for answer in long_answers(length, per_length):
            ctx = Context(prompt=answer.question)
            chunks = chunked(answer.text, rng)
            ms, first, was_stopped = streamed(pipeline, chunks, ctx)
            now.append(ms)
            first_now.append(first)
            stopped += was_stopped
            # A zero-width space in front (normalization drops it): the same work on texts whose scores
            # the models do not remember from the run just before.
            fresh = Context(prompt="\u200b" + answer.question)
            ms, first, _ = streamed(whole_span, ["\u200b" + chunks[0], *chunks[1:]], fresh)
            before.append(ms)
            first_before.append(first)
            started = time.thread_time()
            pipeline.run(Stage.OUTPUT, answer.text + " ", ctx)  # a new text: no remembered score
            whole.append((time.thread_time() - started) * 1000)
        s, e, w = statistics.median(now), statistics.median(before), statistics.median(whole)
        rows.append(
            f"| {length:,} | {per_length} | {s:.2f} | {e:.2f} | {s / length * 1000:.2f} | {w:.2f} | "
            f"{s / w:.0f}× | {statistics.median(first_now):.0f} | {statistics.median(first_before):.0f} | {stopped} |"
        )
    return rows


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--token-ms", type=float, default=25.0)
    parser.add_argument("--judge-ms", type=float, default=0.3)
    parser.add_argument("--max-chars", type=int, default=200)
    parser.add_argument("--lengths", default="150,500,1000,2000,4000", help="answer lengths, second table")
    parser.add_argument("--per-length", type=int, default=20, help="answers per length, second table")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    try:
        long_lengths = [int(x) for x in args.lengths.split(",") if x.strip()]
    except ValueError:
        parser.error(f"--lengths {args.lengths!r}: give comma-separated whole numbers")
    if not long_lengths or min(long_lengths) < 1 or args.per_length < 1:
        parser.error("--lengths needs positive lengths and --per-length at least 1")

    texts = answers(args.answers)
    rng = random.Random(11)
    streams = [chunked(t, rng) for t in texts]
    token_s, cost = args.token_ms / 1000, args.judge_ms / 1000
    sentence = StandInJudge("answer-sentence", cost, "sentence")
    whole = StandInJudge("answer-whole", cost, "end")
    configs: list[tuple[str, Pipeline, StandInJudge | None]] = [
        ("horizon only (deny-list + PII)", Pipeline(span_checks(), policy_version="b"), None),  # type: ignore[arg-type]
        (
            "+ sentence check (judges_at = sentence)",
            Pipeline([*span_checks(), sentence], policy_version="b", sentence_max_chars=args.max_chars),  # type: ignore[list-item]
            sentence,
        ),
        (
            "+ whole-text check (judges_at = end)",
            Pipeline([*span_checks(), whole], policy_version="b"),  # type: ignore[list-item]
            whole,
        ),
    ]
    results: dict[str, list[Timing]] = {name: [] for name, _, _ in configs}
    for chunks in streams:  # the configurations take turns on every answer: background load hits all alike
        for name, pipeline, judge in configs:
            results[name].append(stream(pipeline, chunks, token_s, judge))

    lengths = [len(t) for t in texts]
    firsts = []
    from hegui.guard.sentences import last_sentence_end

    for t in texts:  # the first sentence end the inspector would see (or the whole text)
        firsts.append(
            next(
                (
                    last_sentence_end(t[:n], 0, max_chars=args.max_chars)
                    for n in range(1, len(t) + 1)
                    if last_sentence_end(t[:n], 0, max_chars=args.max_chars)
                ),
                len(t),
            )
        )
    rows = []
    base = [t.ttft_ms for t in results[configs[0][0]]]
    for name, timings in results.items():
        ttft = [t.ttft_ms for t in timings]
        tail = [t.tail_ms for t in timings]
        extra = statistics.median(a - b for a, b in zip(ttft, base, strict=True))
        rows.append(
            f"| {name} | {statistics.median(ttft):,.0f} | {pct(ttft, 90):,.0f} | {extra:+,.0f} | "
            f"{statistics.median(tail):.2f} | {pct(tail, 99):.2f} | "
            f"{statistics.mean(t.cpu_ms for t in timings):.2f} | {statistics.mean(t.calls for t in timings):.1f} |"
        )
    from _results import machine, write_section

    body = "\n".join(
        [
            "## Sentence-level judging in streams (`benchmarks/stream_sentences.py`)",
            "",
            machine(),
            "",
            f"{len(texts)} answers ({'load_answers() safe answers' if texts[0] != FALLBACK else 'built-in'}), "
            f"median {statistics.median(lengths):.0f} characters, median first sentence "
            f"{statistics.median(firsts):.0f} characters; streamed as 1–2 characters per token every "
            f"{args.token_ms:g} ms (simulated clock, real inspector CPU time); stand-in sentence check "
            f"{args.judge_ms:g} ms per call; sentences longer than {args.max_chars} characters judged anyway.",
            "",
            "| output-stage checks | TTFT p50 (ms) | TTFT p90 (ms) | TTFT − horizon only, p50 of pairs (ms) "
            "| tail after last chunk p50 (ms) | tail p99 (ms) | inspector CPU per answer (ms) "
            "| judge calls per answer |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "TTFT: from the first chunk's arrival to the first released text. The sentence check's cost is "
            "waiting for the first sentence to be written (its length ÷ the generation rate) plus one judge "
            "call; the whole-text check makes the user wait for the whole answer.",
            "",
            "**The bundled output stage by answer length**: the bundled policy's output checks (answer model "
            "at sentence ends, PII, deny-list) on streamed answers (1–2 characters per chunk), CPU time of "
            "this thread per answer (median), beside the same checks with the PII check held back and "
            "rescanned by its longest span (256 characters, the e-mail recognizer's: how it streamed before "
            "2026-12-01) and beside the same answer judged whole once; and how many characters had been "
            "written when the first text was released (median). With its question known, the answer model "
            "reads nothing of an answer to a harmless question; PII holds back its short span (28) plus the "
            "run an address or e-mail address being written lies in (`hegui.guard.pii.analyzer`).",
            "",
            "| characters | answers | streamed, CPU ms per answer | the same, PII held back by its whole "
            "span | streamed, per 1,000 characters (ms) | judged whole once (ms) | streamed ÷ whole | first "
            "text released after (characters) | the same, PII by its whole span | stopped |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *bundled_by_length(long_lengths, args.per_length, rng),
        ]
    )
    print(body)
    if not args.no_write:
        write_section("stream_sentences", body)


if __name__ == "__main__":
    main()
