"""Blocking checks off the event loop: are requests whose checks do not block delayed by those that do?

Issue 11, part 7's acceptance benchmark. A gateway (``--serve``, a child process of this script) runs
with the demo upstream, a deny-list on input and output, and the real `GuardModelCheck` calling a fake
guard LLM on loopback that answers "safe" after ``--guard-ms`` (50 ms) per call. The guard model is
consulted only for requests with an end user (``user`` set), as an operator might do for consumer chat
traffic: those requests block (two guard calls each, input and output); requests without an end user
have only the deny-list and do not block.

Two gateways are compared, one after the other, on the same machine:

- **off the loop** (this change): the guard check declares ``blocking`` for requests with an end user,
  so their stages run in the check workers (``HEGUI_CHECK_WORKERS``, default the database pool size);
- **on the loop** (before it): the same check declared non-blocking, so its HTTP call runs on the
  event loop, as every check did before.

For each concurrency level the *plain* clients (no end user) run first alone, then alongside as many
*guarded* clients; every client sends one whole chat completion after another over keep-alive, for
``--seconds`` each phase. Reported: the plain requests' latency and rate alone and under the guarded
load, and the guarded requests' own figures. A second table times, in process, what the inline path
adds for a pipeline with no blocking check (the per-stage decision) against a thread hop.

    .venv/bin/python benchmarks/offloop_sweep.py [--levels 1,4,16] [--seconds 4] [--no-write]

Everything binds to 127.0.0.1; the child is stopped by its pid on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from _loopback import BenchError, Service, start  # noqa: E402
from _results import machine, write_section  # noqa: E402

WORK = Path(__file__).resolve().parent / ".work" / "offloop_sweep"
MODES = ("off the loop", "on the loop")
POLICY = """
version = "offloop-bench"
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]
[[checks]]
name = "bench-denylist"
type = "denylist"
terms = ["hegui-forbidden-demo", "演示违禁词"]
"""
PROMPT = "请用一句话概括：季度报告涵盖三个地区的销售情况、人员变动以及新的客服时间。"


# ---------------------------------------------------------------- the child: a gateway with a guard model


def fake_guard(delay: float) -> None:
    """A guard LLM on loopback (its own process, as a real one would be) that answers "safe" after
    ``delay`` seconds; prints its port."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            time.sleep(delay)
            body = json.dumps(
                {
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "Safety: Safe\nCategories: None"},
                        }
                    ]
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


class EndUserGuard:
    """The guard model, consulted only for requests with an end user; declares that it blocks for them
    (``declared``) or, to stand for the gateway before this change, that it never does."""

    def __init__(self, inner: object, *, declared: bool) -> None:
        from hegui.guard.guardmodel import GuardModelCheck

        assert isinstance(inner, GuardModelCheck)
        self.inner = inner
        self.name = inner.name
        self.stages = inner.stages
        self.horizon: int | None = None
        self.version = inner.version
        self.declared = declared

    def blocking(self, ctx: object) -> bool:
        return self.declared and getattr(ctx, "user", None) is not None

    def inspect(self, text: str, ctx: object) -> list[object]:
        if getattr(ctx, "user", None) is None:
            return []
        return list(self.inner.inspect(text, ctx))  # type: ignore[arg-type]


def serve(mode: str, guard_port: int, data_dir: Path) -> None:
    import uvicorn

    from hegui.gateway import create_app
    from hegui.guard import Pipeline, Stage
    from hegui.guard.guardmodel import GuardModelCheck
    from hegui.policy import parse_policy
    from hegui.settings import Settings

    app = create_app(Settings(data_dir=data_dir), policy=parse_policy(POLICY, "bench.toml"))
    state = app.state.hegui
    guard = GuardModelCheck(
        "guard-model",
        base_url=f"http://127.0.0.1:{guard_port}/v1",
        model="fake-guard",
        stages=(Stage.INPUT, Stage.OUTPUT),
        timeout=10.0,
    )
    checks = [*state.pipeline.checks, EndUserGuard(guard, declared=mode == "offloop")]
    state.pipeline = Pipeline(checks, policy_version=state.pipeline.policy_version)  # type: ignore[arg-type]
    key, _ = state.keys.create(name="bench")
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )

    thread = threading.Thread(target=server.run, name="gateway-loop")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise SystemExit("the gateway did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"READY {port} {key} workers={state.workers.size}", flush=True)
    thread.join()


# ---------------------------------------------------------------- the parent: load and figures


@dataclass
class Phase:
    plain_ms: list[float] = field(default_factory=list)
    guarded_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


async def _client(
    base: str, key: str, user: str | None, until: float, out: list[float], phase: Phase
) -> None:
    import httpx

    body: dict[str, object] = {"model": "hegui-demo", "messages": [{"role": "user", "content": PROMPT}]}
    if user is not None:
        body["user"] = user
    async with httpx.AsyncClient(
        base_url=base, headers={"authorization": f"Bearer {key}"}, timeout=60
    ) as client:
        while time.monotonic() < until:
            started = time.perf_counter()
            r = await client.post("/v1/chat/completions", json=body)
            if r.status_code != 200:
                phase.errors += 1
                continue
            out.append((time.perf_counter() - started) * 1000)


async def run_phase(base: str, key: str, plain: int, guarded: int, seconds: float) -> Phase:
    phase = Phase(seconds=seconds)
    until = time.monotonic() + seconds
    tasks = [_client(base, key, None, until, phase.plain_ms, phase) for _ in range(plain)]
    tasks += [_client(base, key, f"user-{i}", until, phase.guarded_ms, phase) for i in range(guarded)]
    await asyncio.gather(*tasks)
    return phase


def _ready(service: Service) -> list[str]:
    """The words of the child's ``READY …`` line, once it prints it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in service.log.read_text(errors="replace").splitlines():
            if line.startswith("READY "):
                return line.split()[1:]
        if service.proc.poll() is not None:
            break
        time.sleep(0.1)
    service.stop()
    raise BenchError(f"{service.name} did not start:\n{service.tail()}")


def start_guard(guard_ms: float) -> tuple[Service, int]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--fake-guard", str(guard_ms)]
    service = start("fake-guard", argv, WORK)
    return service, int(_ready(service)[0])


def start_gateway(mode: str, guard_port: int) -> tuple[Service, str, str, str]:
    data = WORK / f"data-{mode}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    me = str(Path(__file__).resolve())
    argv = [sys.executable, me, "--serve", mode, "--guard-port", str(guard_port), "--data", str(data)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    service = start(f"gateway-{mode}", argv, WORK, env=env)
    port, key, workers = _ready(service)
    return service, f"http://127.0.0.1:{port}", key, workers


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def inline_cost(rounds: int = 20000) -> tuple[float, float]:
    """(µs the per-stage decision costs for the default deny-list pipeline, µs a thread hop costs)."""
    from hegui.guard import Context, Stage
    from hegui.pipelines import build_pipeline
    from hegui.policy import parse_policy

    pipeline = build_pipeline(parse_policy(POLICY, "bench.toml"))
    ctx = Context(user="u")
    started = time.perf_counter()
    for _ in range(rounds):
        pipeline.blocks(Stage.INPUT, ctx)
    decision = (time.perf_counter() - started) / rounds * 1e6
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)

    async def hops() -> float:
        loop = asyncio.get_running_loop()
        began = time.perf_counter()
        for _ in range(rounds // 10):
            await loop.run_in_executor(pool, int)
        return (time.perf_counter() - began) / (rounds // 10) * 1e6

    try:
        hop = asyncio.run(hops())
    finally:
        pool.shutdown()
    return decision, hop


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", choices=("offloop", "inline"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--guard-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fake-guard", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--guard-ms", type=float, default=50.0, help="the fake guard LLM's time per call")
    parser.add_argument("--levels", default="1,4,16", help="plain clients per step (as many guarded join)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each phase")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    if args.fake_guard is not None:
        fake_guard(args.fake_guard / 1000)
        return 0
    if args.serve:
        serve(args.serve, args.guard_port, args.data)
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    levels = [int(x) for x in args.levels.split(",")]
    rows = []
    guard, guard_port = start_guard(args.guard_ms)
    try:
        for mode, flag in zip(MODES, ("offloop", "inline"), strict=True):
            service, base, key, workers = start_gateway(flag, guard_port)
            try:
                asyncio.run(run_phase(base, key, 2, 2, 1.0))  # warm-up
                for level in levels:
                    alone = asyncio.run(run_phase(base, key, level, 0, args.seconds))
                    mixed = asyncio.run(run_phase(base, key, level, level, args.seconds))
                    rows.append((mode, workers, level, alone, mixed))
                    print(
                        f"{mode:13} c={level:3}  plain alone p50 {_p(alone.plain_ms, 50):7.1f} ms  "
                        f"with guarded p50 {_p(mixed.plain_ms, 50):7.1f} p95 {_p(mixed.plain_ms, 95):7.1f} ms  "
                        f"guarded p50 {_p(mixed.guarded_ms, 50):7.1f} ms  errors {alone.errors + mixed.errors}",
                        flush=True,
                    )
            finally:
                service.stop()
    finally:
        guard.stop()
    decision, hop = inline_cost()
    load = os.getloadavg()
    lines = [
        "## Blocking checks off the event loop (`benchmarks/offloop_sweep.py`)",
        "",
        machine(),
        "",
        f"Demo upstream, deny-list on input and output, and the real `GuardModelCheck` against a fake guard "
        f"LLM on loopback (its own process) answering after {args.guard_ms:g} ms per call, consulted only for requests with an "
        f"end user (two calls each: input and output). *Plain* clients send no end user, so their checks do "
        f"not block; *guarded* clients do. Each phase {args.seconds:g} s, whole chat completions over "
        f"keep-alive, load generator in the same machine (asyncio + httpx). *On the loop* is the same check "
        f"declared non-blocking: the guard call runs on the event loop, as every check did before. "
        f"The machine is shared with other work (load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} "
        f"on {os.cpu_count()} cores at the end of the run): read the figures as orders of magnitude.",
        "",
        "| checks run | check workers | plain clients | plain alone p50 / p95 ms | plain req/s alone "
        "| + guarded clients | plain p50 / p95 ms with them | plain req/s with them | guarded p50 ms | guarded req/s | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, workers, level, alone, mixed in rows:
        lines.append(
            f"| {mode} | {workers.removeprefix('workers=')} | {level} "
            f"| {_p(alone.plain_ms, 50):.1f} / {_p(alone.plain_ms, 95):.1f} | {len(alone.plain_ms) / alone.seconds:.0f} "
            f"| {level} | {_p(mixed.plain_ms, 50):.1f} / {_p(mixed.plain_ms, 95):.1f} "
            f"| {len(mixed.plain_ms) / mixed.seconds:.0f} | {_p(mixed.guarded_ms, 50):.1f} "
            f"| {len(mixed.guarded_ms) / mixed.seconds:.1f} | {alone.errors + mixed.errors} |"
        )
    lines += [
        "",
        f"A pipeline with no blocking check runs inline: the per-stage decision costs {decision:.2f} µs "
        f"per request and stage (deny-list pipeline, mean of 20,000 calls), where a thread hop "
        f"(`run_in_executor` round trip, mean of 2,000) costs {hop:.0f} µs.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("offloop_sweep", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
