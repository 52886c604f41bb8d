"""CPU per upstream call, in-process: `Upstream.post_json` (whole) and a streamed call read to [DONE].

The gateway's client side of one upstream request, alone: the request built and sent through the pool,
the answer read and checked (`check_whole`, or `upstream_chunks` for a stream), the response closed.
Each measurement runs in a fresh process (on uvloop, as `hegui serve` does) against ``upstream_stub.py``
(another process, so its CPU is not counted); CPU = user + system time of the measuring process per
call, after a warm-up. ``--concurrency`` runs that many tasks at once, sharing one `Upstream` (its pool
holds 100 connections, the policy's default). ``--baseline-src DIR`` also measures another source tree
(``git archive HEAD~3 src | tar -x -C DIR``), the trees in turn round after round so that the load of a
shared machine falls on both alike.

Usage: .venv/bin/python benchmarks/upstream_call.py [--calls 2000] [--rounds 3] [--concurrency 1,8,64]
       [--baseline-src DIR/src] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from _loopback import BenchError
from _proxy_targets import start_stub

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
WORK = HERE / ".work" / "upstream_call"
MODES = ("whole", "stream")
BODY = {
    "model": "bench-model",
    "messages": [
        {"role": "user", "content": "Please turn these notes into three bullet points. 请整理成三条要点。"}
    ],
}


@dataclass(frozen=True)
class Sample:
    tree: str
    mode: str
    concurrency: int
    cpu_us: float  # CPU (user + system) per call
    wall_us: float  # wall time per call (all tasks together)


# -- the measuring process ----------------------------------------------------------------------------------


def _child(port: int, calls: int, warmup: int, concurrency: list[int]) -> None:
    import asyncio

    import uvloop

    from hegui.gateway.upstream import Upstream
    from hegui.gateway.upstream_stream import StreamLimits, upstream_chunks
    from hegui.policy import UpstreamPolicy

    limits = StreamLimits(deadline=30, idle=30)
    policy = UpstreamPolicy(
        name="stub", type="openai", base_url=f"http://127.0.0.1:{port}/v1", models=["bench-model"]
    )

    async def whole(up: Upstream) -> None:
        await up.post_json("/chat/completions", BODY)

    async def stream(up: Upstream) -> None:
        response = await up.open_stream("/chat/completions", BODY | {"stream": True})
        try:
            async for _ in upstream_chunks(up.name, "/chat/completions", response, limits):
                pass
        finally:
            await response.aclose()

    async def worker(call: Callable[[Upstream], Awaitable[None]], up: Upstream, n: int) -> None:
        for _ in range(n):
            await call(up)

    async def main() -> None:
        up = Upstream(policy, "CN")
        try:
            for mode, call in (("whole", whole), ("stream", stream)):
                for tasks in concurrency:
                    await asyncio.gather(*(worker(call, up, warmup // tasks + 1) for _ in range(tasks)))
                    per_task = max(1, calls // tasks)
                    before, started = os.times(), time.perf_counter()
                    await asyncio.gather(*(worker(call, up, per_task) for _ in range(tasks)))
                    after, ended = os.times(), time.perf_counter()
                    done = per_task * tasks
                    cpu = (after.user + after.system) - (before.user + before.system)
                    print(json.dumps({"mode": mode, "concurrency": tasks, "cpu_us": cpu / done * 1e6,
                                      "wall_us": (ended - started) / done * 1e6}), flush=True)  # fmt: skip
        finally:
            await up.aclose()

    uvloop.run(main())


# -- the driver ---------------------------------------------------------------------------------------------


def _measure(tree: str, src: Path, port: int, args: argparse.Namespace) -> list[Sample]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(port), "--calls", str(args.calls)]
    argv += ["--concurrency", ",".join(map(str, args.concurrency))]
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{HERE}"}
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=args.max_seconds, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"{tree}: the measuring process failed:\n{done.stderr[-2000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [Sample(tree, r["mode"], r["concurrency"], r["cpu_us"], r["wall_us"]) for r in rows]


def _table(samples: list[Sample], trees: list[str], concurrency: list[int]) -> str:
    lines = [
        "| tree | mode | tasks | CPU µs/call (median) | min | wall µs/call |",
        "|---|---|---|---|---|---|",
    ]
    for mode in MODES:
        for tasks in concurrency:
            for tree in trees:
                mine = [s for s in samples if (s.tree, s.mode, s.concurrency) == (tree, mode, tasks)]
                cpu = [s.cpu_us for s in mine]
                wall = statistics.median(s.wall_us for s in mine)
                lines.append(
                    f"| {tree} | {mode} | {tasks} | {statistics.median(cpu):.0f} | {min(cpu):.0f} | {wall:.0f} |"
                )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per mode and concurrency")
    parser.add_argument("--rounds", type=int, default=3, help="measuring processes per tree")
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 64],
        help="tasks calling at once (comma-separated)",
    )  # fmt: skip
    parser.add_argument("--baseline-src", type=Path, help="another source tree's src/ to measure too")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="limit for each measuring process")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 10 <= args.calls <= 100_000 or not 1 <= args.rounds <= 20 or max(args.concurrency) > 1024:
        parser.error("--calls must be 10..100000, --rounds 1..20, --concurrency at most 1024")
    if args.child is not None:
        _child(args.child, args.calls, max(50, args.calls // 10), args.concurrency)
        return 0
    if args.baseline_src is not None and not (args.baseline_src / "hegui" / "__init__.py").exists():
        parser.error(f"--baseline-src {args.baseline_src}: no hegui package there (give its src/ directory)")
    trees = {"current": SRC} | ({"before": args.baseline_src} if args.baseline_src else {})
    WORK.mkdir(parents=True, exist_ok=True)
    stub, port = start_stub(stop_after=args.max_seconds * args.rounds * len(trees) + 60)
    samples: list[Sample] = []
    try:
        for round_ in range(args.rounds):
            for tree, src in trees.items():
                print(f"round {round_ + 1}/{args.rounds}: {tree} ...", flush=True)
                samples += _measure(tree, src, port, args)
    finally:
        stub.stop()
    table = _table(samples, list(trees), args.concurrency)
    print(table)
    if not args.no_write:
        from _results import machine, write_section

        before = f" · before = `{args.baseline_src}`" if args.baseline_src else ""
        write_section(
            "upstream_call",
            f"## CPU per upstream call (in-process)\n\n{machine()}{before}\n\n"
            f"{args.calls} calls per row and round after a warm-up, {args.rounds} rounds (a fresh process "
            "each, on uvloop) against `upstream_stub.py`; CPU = user + system time of that process.\n\n"
            + table,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
