"""Proxy overhead: the same chat requests directly to a local upstream, through hegui, through LiteLLM.

Issue 3's acceptance benchmark. It starts ``upstream_stub.py`` (a fast OpenAI-compatible upstream on
loopback), ``hegui serve`` with a deny-list check on input and output, and the LiteLLM proxy (installed
in its own environment, ``benchmarks/.venv-litellm``) configured to the same stub. Then:

1. **Latency at concurrency 1**: one Python client sends the requests one after another, round-robin
   over the targets (so background load hits every target alike), and times each to the last byte.
   Added latency = percentile through the proxy minus the same percentile direct.
2. **Maximum requests/s**: Debian's ``wrk`` (C, one thread) with a Lua script for the POST body, at
   concurrency 1, 2, 4, … ; a target's search stops when two steps in a row do not beat its best by
   3 %, or at the top step. Steps are interleaved across targets too. For every step the CPU time of
   the stub, the proxy, wrk and everything else on the machine is read from ``/proc`` and reported.

Every request carries its own number in its prompt (phase 1 and wrk's Lua script alike) and the stub
answers each with its own number, as real traffic differs from request to request: a guard that
remembers the texts it judged last is not measured on one text sent again and again. Every response in
phase 1 is parsed and must hold the stub's answer; in phase 2 wrk counts
non-2xx answers and socket errors, and a step with any is reported as such. Everything binds to
127.0.0.1; every loop is bounded in count and in time (``--max-seconds``); every process it starts is
stopped on the way out. It must never tune hegui or LiteLLM to flatter either: both run as a user would
run them (one process, default logging, a key check), and the figures are written as measured.

Run: ``.venv/bin/python benchmarks/proxy_overhead.py`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _loopback import (
    BenchError,
    Service,
    children_cpu_seconds,
    cpu_seconds,
    machine_busy_seconds,
    own_cpu_seconds,
    split_url,
)
from _proxy_report import MODES, cpu_text, report
from _proxy_targets import (
    GUARD_PROMPT,
    HERE,
    MODEL,
    PROMPT,
    REPO,
    WORK,
    Deployment,
    Target,
    bench_policy,
    start_hegui,
    start_litellm,
    start_stub,
)
from _results import write_section
from _services import create_database, start_postgres, start_redis
from upstream_stub import ANSWER

# ---------------------------------------------------------------- requests and answers


#: Where a request's number goes in its prompt. Every request asks something a little different, as real
#: traffic does: a guard that remembers the scores of texts it has just judged (the prompt model keeps its
#: last 32) must not be measured on one text sent over and over.
NUMBER = "\u0000N\u0000"


def numbered(prompt: str, number: int | str = NUMBER) -> str:
    """The prompt of request ``number``."""
    return f"{prompt}（第{number}条）"


def request_body(stream: bool, user: str = "", prompt: str = PROMPT) -> bytes:
    body: dict[str, object] = {"model": MODEL, "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body["stream"] = True
    if user:
        body["user"] = user
    return json.dumps(body, ensure_ascii=False).encode()


def answer_text(raw: bytes, stream: bool) -> str:
    """The assistant text of a whole or streamed chat completion (raises on anything malformed)."""
    if not stream:
        return str(json.loads(raw)["choices"][0]["message"]["content"])
    parts: list[str] = []
    for line in raw.decode().splitlines():
        if not line.startswith("data:") or line.strip() == "data: [DONE]":
            continue
        for choice in json.loads(line[5:])["choices"]:
            parts.append(choice.get("delta", {}).get("content") or "")
    return "".join(parts)


class Client:
    """One keep-alive connection to one of a target's bases; times each request to its last byte."""

    def __init__(self, target: Target, base: str) -> None:
        self.target = target
        host, port, _ = split_url(base + "/")
        self._host, self._port = host, port
        self._conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def post(self, body: bytes) -> tuple[int, bytes, float]:
        headers = {"Content-Type": "application/json", **self.target.headers}
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
            self.reconnects += 1
        started = time.perf_counter_ns()
        try:
            self._conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
            response = self._conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle keep-alive connection (uvicorn: after 5 s) while the other
            # paths had their turn: reconnect and send again, timed from the new start.
            self._conn.close()
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
            self.reconnects += 1
            started = time.perf_counter_ns()
            self._conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
            response = self._conn.getresponse()
        raw = response.read()
        elapsed = (time.perf_counter_ns() - started) / 1e6
        if response.will_close:
            self._conn.close()
            self._conn = None
        return response.status, raw, elapsed

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def carries_answer(text: str | None) -> bool:
    """The stub's text came through (a labelling proxy may add an explicit AIGC label around it)."""
    return text is not None and ANSWER in text


def check_answers(target: Target) -> None:
    """The path answers both modes with the stub's text, read by the official openai client."""
    import openai
    from openai.types.chat import ChatCompletionMessageParam

    key = target.headers["Authorization"].split()[-1]
    client = openai.OpenAI(base_url=target.base + "/v1", api_key=key, max_retries=0, timeout=30)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": target.prompt}]
    try:
        whole = client.chat.completions.create(model=MODEL, messages=messages)
        chunks = client.chat.completions.create(model=MODEL, messages=messages, stream=True)
        streamed = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
    except openai.OpenAIError as exc:
        raise BenchError(f"{target.name} failed the answer check: {exc}") from None
    finally:
        client.close()
    for mode, text in (("whole", whole.choices[0].message.content), ("stream", streamed)):
        if not carries_answer(text):
            raise BenchError(f"{target.name} ({mode}) answered {text!r}, not the stub's answer")


# ---------------------------------------------------------------- phase 1: latency at concurrency 1


@dataclass
class Latency:
    samples: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    errors: dict[tuple[str, str], int] = field(default_factory=dict)
    cpu_ms: dict[tuple[str, str], float] = field(default_factory=dict)  # server CPU per request
    other: dict[str, float] = field(default_factory=dict)  # per mode: share of one core used by others


def measure_latency(
    targets: list[Target], stub: Service, count: int, warmup: int, block: int, deadline: float
) -> Latency:
    """Requests one at a time, ``block`` in a row to one path, the paths in rotating order per round.

    Blocks spread background load over all paths alike while a path still sees back-to-back requests;
    ``block=1`` alternates on every request (each proxy then runs after the others touched the caches).
    """
    result = Latency()
    # Replicas take the requests in turn, as a round-robin load balancer would give them.
    clients = {t.name: [Client(t, base) for base in t.bases] for t in targets}
    # The server of a path: its proxy processes; for the direct path the stub (which every path reaches once).
    by_name = {t.name: t for t in targets}
    try:
        for mode in MODES:
            cpu0 = {name: t.cpu(stub) for name, t in by_name.items()}
            busy0, own0, wall0 = machine_busy_seconds(), own_cpu_seconds(), time.monotonic()
            sent = warmup + count
            for first in range(0, sent, block):
                if time.monotonic() > deadline:
                    raise BenchError("time limit reached during the latency phase")
                turn = (first // block) % len(targets)
                for target in targets[turn:] + targets[:turn]:
                    key = (target.name, mode)
                    for i in range(first, min(first + block, sent)):
                        pool = clients[target.name]
                        body = request_body(mode == "stream", target.user, numbered(target.prompt, i))
                        status, raw, ms = pool[i % len(pool)].post(body)
                        ok = status == 200 and carries_answer(answer_text(raw, mode == "stream"))
                        if not ok:
                            result.errors[key] = result.errors.get(key, 0) + 1
                        elif i >= warmup:
                            result.samples.setdefault(key, []).append(ms)
            spent = {name: t.cpu(stub) - cpu0[name] for name, t in by_name.items()}
            for name in by_name:
                per = sent * len(targets) if name == "direct" else sent
                result.cpu_ms[(name, mode)] = spent[name] / per * 1000
            others = machine_busy_seconds() - busy0 - sum(spent.values()) - (own_cpu_seconds() - own0)
            result.other[mode] = max(0.0, others) / (time.monotonic() - wall0)
    finally:
        for pool in clients.values():
            for client in pool:
                client.close()
    return result


# ---------------------------------------------------------------- phase 2: throughput with wrk


@dataclass
class Step:
    target: str
    mode: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx answers + socket errors (+1 when nothing completed)
    cpu: dict[str, float]  # share of one core: stub, proxy, wrk, other
    problem: str = ""  # the path was not ready after this step

    @property
    def good(self) -> bool:
        return not self.bad and not self.problem


def lua_string(text: str) -> str:
    """A Lua string literal of ``text``'s UTF-8 bytes (LuaJIT has no \\u escape; \\ddd is portable)."""
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?-_{}[]()/+=*&%$#@")
    return '"' + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in text.encode()) + '"'


def wrk_script(target: Target, mode: str) -> Path:
    path = WORK / f"wrk-{target.name}-{mode}.lua"
    body = request_body(mode == "stream", target.user, numbered(target.prompt)).decode()
    marker = json.dumps(NUMBER)[1:-1]  # as it reads inside the JSON string
    head, tail = body.split(marker)
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in target.headers.items()]
    # Each wrk thread numbers its requests from its own base (threads do not share Lua state).
    lines += [
        f"local head, tail = {lua_string(head)}, {lua_string(tail)}",
        "local threads = 0",
        "function setup(thread) threads = threads + 1; thread:set('base', threads * 100000000) end",
        "local n = 0",
        "function request()",
        "  n = n + 1",
        "  return wrk.format(nil, nil, nil, head .. tostring((base or 0) + n) .. tail)",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _wrk_ms(text: str) -> float:
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
    for unit in ("us", "ms", "s", "m"):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * scale[unit]
    raise BenchError(f"cannot read wrk latency {text!r}")


def parse_wrk(out: str) -> tuple[float, float, float, int]:
    rps, p50, p99, bad = 0.0, float("nan"), float("nan"), 0
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            rps = float(parts[1])
        elif parts[:1] == ["50%"]:
            p50 = _wrk_ms(parts[1])
        elif parts[:1] == ["99%"]:
            p99 = _wrk_ms(parts[1])
        elif line.strip().startswith("Non-2xx"):
            bad += int(parts[-1])
        elif line.strip().startswith("Socket errors"):
            bad += sum(int(p.rstrip(",")) for p in parts[3::2])
    if "Requests/sec:" not in out:
        raise BenchError(f"wrk printed no Requests/sec:\n{out[-800:]}")
    if rps == 0.0:
        bad += 1  # not one answer completed in the whole step
    return rps, p50, p99, bad


def split_connections(conns: int, parts: int) -> list[int]:
    """``conns`` connections over ``parts`` bases as evenly as possible, none empty (at least one each)."""
    n = max(1, min(parts, conns))
    return [conns // n + (1 if i < conns % n else 0) for i in range(n)]


def run_wrk(target: Target, mode: str, conns: int, seconds: float, stub: Service) -> Step:
    """One wrk per base (replicas: the connections split between them, all at once); their req/s add up,
    and the step's p50 / p99 are the worst of theirs."""
    script = wrk_script(target, mode)
    shares = split_connections(conns, len(target.bases))
    argvs = [
        ["wrk", "-t1", f"-c{c}", f"-d{seconds:g}s", "--timeout", "10s", "--latency", "-s", str(script), url]
        for url, c in zip((b + "/v1/chat/completions" for b in target.bases), shares, strict=False)
    ]
    before_stub, before_proxy = cpu_seconds(stub.proc.pid), target.cpu(stub) if target.services else 0.0
    before_wrk, before_all, before_own = children_cpu_seconds(), machine_busy_seconds(), own_cpu_seconds()
    wall0 = time.monotonic()
    procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for a in argvs]
    outs: list[str] = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise BenchError(f"wrk did not finish within {seconds + 30:.0f} s") from None
        if proc.returncode != 0:
            raise BenchError(f"wrk failed ({proc.returncode}): {err.strip()[-500:]}")
        outs.append(out)
    wall = time.monotonic() - wall0
    wrk_s, own_s = children_cpu_seconds() - before_wrk, own_cpu_seconds() - before_own
    stub_s = cpu_seconds(stub.proc.pid) - before_stub
    proxy_s = (target.cpu(stub) - before_proxy) if target.services else 0.0
    other_s = max(0.0, machine_busy_seconds() - before_all - stub_s - proxy_s - wrk_s - own_s)
    parsed = [parse_wrk(out) for out in outs]
    rps = sum(p[0] for p in parsed)
    p50, p99 = max(p[1] for p in parsed), max(p[2] for p in parsed)
    bad = sum(p[3] for p in parsed)
    cpu = {k: v / wall for k, v in (("stub", stub_s), ("proxy", proxy_s), ("wrk", wrk_s), ("other", other_s))}
    return Step(target.name, mode, conns, rps, p50, p99, bad, cpu)


def search_max(
    targets: list[Target],
    stub: Service,
    levels: list[int],
    *,
    seconds: float,
    deadline: float,
    log: Callable[[str], None],
    sweep: bool = False,
) -> list[Step]:
    """Raise concurrency per target until rps stops growing (``sweep``: through every level, to show
    whether throughput falls as connections grow); steps interleaved across targets."""
    steps: list[Step] = []
    for mode in MODES:
        stale: dict[str, int] = {t.name: 0 for t in targets}
        for target in targets:  # a short warm-up, not measured
            run_wrk(target, mode, 2, 1, stub)
            if problem := target.problem():
                log(f"  {target.name:8} {mode:6} not measured: {problem} after the warm-up")
                # connections 0 marks the warm-up in the tables
                steps.append(Step(target.name, mode, 0, 0.0, math.nan, math.nan, 1, {}, problem))
                stale[target.name] = 2
        best: dict[str, float] = {}
        for conns in levels:
            for target in targets:
                if stale[target.name] >= 2:
                    continue
                if time.monotonic() + seconds + 5 > deadline:
                    log(f"time limit: stopping the search at {conns} connections")
                    return steps
                step = run_wrk(target, mode, conns, seconds, stub)
                step.problem = target.problem() or ""
                steps.append(step)
                log(
                    f"  {target.name:8} {mode:6} c={conns:<4} {step.rps:9.0f} req/s  "
                    f"p50 {step.p50_ms:7.2f} ms  p99 {step.p99_ms:7.2f} ms  bad {step.bad}  "
                    f"cpu {cpu_text(step.cpu)}  {step.problem}"
                )
                if step.bad or step.problem:
                    stale[target.name] = 2  # errors: past the useful maximum
                elif step.rps > best.get(target.name, 0.0) * 1.03:
                    best[target.name] = step.rps
                    stale[target.name] = 0
                elif not sweep:
                    stale[target.name] += 1
    return steps


def section_name(args: argparse.Namespace) -> str:
    """Each kind of run has its own section of RESULTS.md, so that one does not overwrite another."""
    name = "proxy_overhead" + ("_end_user" if args.end_user else "")
    if args.policy != "denylist":
        name += "_" + re.sub(r"[^a-z0-9]+", "_", Path(args.policy).stem.lower())
    if {"hegui-workers", "hegui-replicas"} & {n.strip() for n in args.targets.split(",")}:
        name += "_scale"
    return name


def _say(line: str) -> None:
    print(line, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="hegui proxy overhead versus direct and LiteLLM (loopback).")
    parser.add_argument("--targets", default="hegui,litellm", help="proxies to measure besides direct")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per path and mode")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests per path and mode first")
    parser.add_argument(
        "--block", type=int, default=100, help="latency: requests in a row to one path (1: alternate each)"
    )
    parser.add_argument("--step-seconds", type=float, default=5.0, help="wrk duration of each step")
    parser.add_argument(
        "--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4, 8, 16, 32, 64, 128]
    )
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="hard limit for the whole run")
    parser.add_argument(
        "--start-timeout", type=float, default=120.0, help="seconds a proxy may take to be ready"
    )
    parser.add_argument(
        "--litellm-spec", default="litellm[proxy]", help="what pip installs into .venv-litellm"
    )
    parser.add_argument(
        "--hegui", type=Path, default=REPO / ".venv" / "bin" / "hegui", help="the hegui executable to run"
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also measure `hegui serve` from this source tree (e.g. `git archive` of the commit before a "
        "change, its src/) as target hegui-before, interleaved with the current one in the same run",
    )
    parser.add_argument(
        "--end-user",
        default="",
        help="name this end user in every request (``user``): hegui then keeps each turn (conversation "
        "store, pool admission), as it does for consumer traffic",
    )
    parser.add_argument(
        "--policy",
        default="denylist",
        help="the guard of the hegui paths: denylist (two terms: the gateway's own cost), default (the "
        "bundled policy), guard (bundled + the 64k lexicon), or a policy file (its upstreams are replaced "
        "by the stub)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="processes of target hegui-workers (`hegui serve --workers`)"
    )
    parser.add_argument("--replicas", type=int, default=2, help="gateway processes of target hegui-replicas")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="measure every level of --levels instead of stopping at the maximum",
    )
    parser.add_argument(
        "--prompt",
        default=None,
        help="the user message of every request (it must pass the policy: a refused request never reaches "
        "the upstream and measures something else); default: a summary request, or with --policy default "
        "or guard a meeting-notes request that the bundled policy answers",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.baseline_src is not None and not (args.baseline_src / "hegui" / "__init__.py").exists():
        parser.error(f"--baseline-src {args.baseline_src}: no hegui package there (give its src/ directory)")
    if args.requests < 10 or args.requests > 100_000 or not args.levels or max(args.levels) > 1024:
        parser.error("--requests must be 10..100000 and --levels at most 1024 connections")
    if args.block < 1:
        parser.error("--block must be at least 1")
    if args.prompt is None:
        args.prompt = GUARD_PROMPT if args.policy in ("default", "guard") else PROMPT
    args.custom_prompt = args.prompt != PROMPT
    if not args.prompt.strip():
        parser.error("--prompt must not be empty")
    if not 2 <= args.workers <= 64 or not 2 <= args.replicas <= 16:
        parser.error("--workers must be 2..64 and --replicas 2..16")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk (listed in scripts/debian-packages.txt)", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.max_seconds
    WORK.mkdir(parents=True, exist_ok=True)
    services: list[Service] = []
    backing: list[Service] = []  # PostgreSQL and Redis: stopped after every gateway
    skipped: dict[str, str] = {}
    try:
        stub, stub_port = start_stub(stop_after=args.max_seconds + 60)
        services.append(stub)
        stub_note = "`upstream_stub.py`: raw asyncio + httptools on uvloop, one process"
        targets = [
            Target(
                "direct", [f"http://127.0.0.1:{stub_port}"], {"Authorization": "Bearer none"}, [], stub_note
            )
        ]

        policy = bench_policy(args.policy)
        shared: dict[str, str] = {}

        def shared_url(kind: str) -> str:
            """PostgreSQL or Redis for the multi-process paths, started once, on first use."""
            if kind not in shared:
                started = (start_postgres if kind == "postgres" else start_redis)(WORK)
                backing.append(started.service)
                shared[kind] = started.url
            return shared[kind]

        def hegui(port: int, timeout: float) -> Target:
            return start_hegui(args.hegui, port, timeout, policy)

        def hegui_before(port: int, timeout: float) -> Target:
            return start_hegui(args.hegui, port, timeout, policy, name="hegui-before", src=args.baseline_src)

        def hegui_workers(port: int, timeout: float) -> Target:
            deploy = Deployment(workers=args.workers, database_url=shared_url("postgres"))
            return start_hegui(args.hegui, port, timeout, policy, name="hegui-workers", deploy=deploy)

        def hegui_replicas(port: int, timeout: float) -> Target:
            # Each path gets its own database so that one's records do not slow the other's.
            url = shared_url("postgres").rsplit("/", 1)[0] + "/replicas"
            create_database(shared_url("postgres"), "replicas")
            deploy = Deployment(replicas=args.replicas, database_url=url, redis_url=shared_url("redis"))
            return start_hegui(args.hegui, port, timeout, policy, name="hegui-replicas", deploy=deploy)

        def litellm(port: int, timeout: float) -> Target:
            return start_litellm(port, args.litellm_spec, timeout)

        starters: dict[str, Callable[[int, float], Target]] = {
            "hegui": hegui,
            "hegui-before": hegui_before,
            "hegui-workers": hegui_workers,
            "hegui-replicas": hegui_replicas,
            "litellm": litellm,
        }
        names = [n.strip() for n in args.targets.split(",") if n.strip()]
        if args.baseline_src is not None and "hegui-before" not in names:
            names.insert(names.index("hegui") + 1 if "hegui" in names else 0, "hegui-before")
        for name in names:
            if name not in starters:
                raise BenchError(f"unknown target {name!r}; known: {', '.join(starters)}")
            started = len(services)
            try:
                target = starters[name](stub_port, args.start_timeout)
                assert target.services
                services.extend(target.services)
                target.prompt = args.prompt
                check_answers(target)
            except (BenchError, subprocess.SubprocessError, OSError) as exc:
                skipped[name] = str(exc).splitlines()[0][:300]
                print(f"{name}: not measured: {exc}", file=sys.stderr)
                for service in services[started:]:
                    service.stop()  # an idle broken proxy must not share the machine with the others
                continue
            targets.append(target)
        targets[0].prompt = args.prompt
        check_answers(targets[0])
        for target in targets:
            target.user = args.end_user
        print(f"latency: {args.requests} requests per path and mode at concurrency 1 ...", flush=True)
        latency = measure_latency(targets, stub, args.requests, args.warmup, args.block, deadline)
        print("throughput search with wrk:", flush=True)
        steps = search_max(
            targets,
            stub,
            args.levels,
            seconds=args.step_seconds,
            deadline=deadline,
            log=_say,
            sweep=args.sweep,
        )
        text = report(targets, latency, steps, skipped, args)
    except BenchError as exc:
        print(f"proxy_overhead: {exc}", file=sys.stderr)
        return 1
    finally:
        for service in reversed(services + backing):
            service.stop()
    print()
    print(text)
    if not args.no_write:
        write_section(section_name(args), text)
        print(f"written to {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
