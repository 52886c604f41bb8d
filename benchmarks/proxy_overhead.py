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

Every response in phase 1 is parsed and compared with the stub's fixed answer; in phase 2 wrk counts
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
import os
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
    free_port,
    http_status,
    machine_busy_seconds,
    own_cpu_seconds,
    split_url,
    start,
    wait_ready,
)
from _proxy_report import MODES, cpu_text, report
from _results import write_section
from upstream_stub import ANSWER

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work" / "proxy_overhead"
LITELLM_VENV = HERE / ".venv-litellm"
MODEL = "bench-model"
PROMPT = (
    "Please summarise the following note in one sentence. The quarterly report covers sales in three "
    "regions, staffing changes and the new support hours. 请用一句话概括以下内容：季度报告涵盖三个地区的"
    "销售情况、人员变动以及新的客服时间。"
)


# ---------------------------------------------------------------- the targets


@dataclass
class Target:
    name: str
    base: str  # http://127.0.0.1:PORT (no /v1)
    headers: dict[str, str]
    service: Service | None  # the proxy process (None: direct to the stub)
    note: str = ""
    ready_path: str = "/health"  # GET answers 200 while the path can serve
    user: str = ""  # the end user every request names (``user``), "" for none

    def problem(self) -> str | None:
        """None while the path is up, else what is wrong (a step may have broken it)."""
        if self.service is not None and self.service.proc.poll() is not None:
            return f"{self.name} exited with {self.service.proc.returncode}{self._last_error()}"
        try:
            status = http_status(self.base + self.ready_path, timeout=5)
        except OSError as exc:
            return f"{self.name} {self.ready_path}: {exc.__class__.__name__}: {exc}{self._last_error()}"
        return (
            None if status == 200 else f"{self.name} {self.ready_path} answered {status}{self._last_error()}"
        )

    def _last_error(self) -> str:
        """The last error line in the proxy's log, so that the report says why it stopped."""
        if self.service is None:
            return ""
        found = [line for line in self.service.tail(400).splitlines() if "Error" in line or "ERROR" in line]
        return f"; its log: `{found[-1].strip()[:200]}`" if found else ""


def start_stub(stop_after: float) -> tuple[Service, int]:
    service = start(
        "upstream_stub",
        [sys.executable, str(HERE / "upstream_stub.py"), "--port", "0", "--stop-after", str(stop_after)],
        WORK,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for line in service.log.read_text(errors="replace").splitlines():
            if line.startswith("READY "):
                return service, int(line.split()[1])
        if service.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise BenchError(f"upstream stub did not start:\n{service.tail()}")


def hegui_policy(stub_port: int) -> str:
    return f"""version = "bench"

[[upstreams]]
name = "stub"
type = "openai"
base_url = "http://127.0.0.1:{stub_port}/v1"
models = ["{MODEL}"]

[[checks]]
name = "bench-denylist"
type = "denylist"
stages = ["input", "output"]
terms = ["hegui-forbidden-demo", "演示违禁词"]
"""


def start_hegui(
    hegui: Path, stub_port: int, timeout: float, *, name: str = "hegui", src: Path | None = None
) -> Target:
    """``hegui serve`` as installed, or from the source tree ``src`` (``PYTHONPATH``: an earlier tree,
    measured beside the current one in the same run)."""
    if not hegui.exists():
        raise BenchError(f"{hegui} not found: run scripts/bootstrap first")
    data = WORK / f"{name}-data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    policy = WORK / f"{name}-bench.toml"
    policy.write_text(hegui_policy(stub_port), encoding="utf-8")
    env = {**os.environ, "HEGUI_DATA_DIR": str(data), "HEGUI_POLICY_FILE": str(policy)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    made = subprocess.run(
        [str(hegui), "keys", "create", "--name", "bench", "--role", "client"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=WORK,
    )
    lines = made.stdout.strip().splitlines()
    if made.returncode != 0 or not lines:
        raise BenchError(f"hegui keys create failed ({made.returncode}): {made.stderr.strip()[-800:]}")
    key = lines[-1].strip()
    port = free_port()
    argv = [str(hegui), "serve", "--host", "127.0.0.1", "--port", str(port)]
    service = start(name, argv, WORK, env=env)
    took = wait_ready(service, f"http://127.0.0.1:{port}/readyz", timeout)
    tree = f" from the source tree `{src}`" if src is not None else ""
    return Target(
        name,
        f"http://127.0.0.1:{port}",
        {"Authorization": f"Bearer {key}"},
        service,
        ready_path="/readyz",
        note=f"`hegui serve`{tree} (defaults: one process, no access log), deny-list on input and output, "
        f"audit entries in a fresh SQLite data dir; ready in {took:.1f} s",
    )


def ensure_litellm(spec: str, timeout: float) -> tuple[Path, str]:
    """The LiteLLM proxy in its own venv (created on first use); returns its executable and a note."""
    exe = LITELLM_VENV / "bin" / "litellm"
    python = LITELLM_VENV / "bin" / "python"
    note = ""
    if not exe.exists():
        started = time.monotonic()
        print(f"creating {LITELLM_VENV} and installing {spec!r} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True, timeout=timeout)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", spec],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
        )
        note = f"installed in {time.monotonic() - started:.0f} s; "
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    return exe, f"{note}LiteLLM {version}"


def start_litellm(stub_port: int, spec: str, timeout: float) -> Target:
    exe, note = ensure_litellm(spec, timeout=900)
    master = "sk-bench-litellm-master"
    config = WORK / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: http://127.0.0.1:{stub_port}/v1\n"
        "      api_key: sk-stub-not-a-secret\n"
        "general_settings:\n"
        f"  master_key: {master}\n",
        encoding="utf-8",
    )
    port = free_port()
    # Loopback only: use the cost map bundled with the package instead of fetching it from the internet.
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    argv = [
        str(exe),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    service = start("litellm", argv, WORK, env=env)
    took = wait_ready(service, f"http://127.0.0.1:{port}/health/readiness", timeout)
    return Target(
        "litellm",
        f"http://127.0.0.1:{port}",
        {"Authorization": f"Bearer {master}"},
        service,
        ready_path="/health/readiness",
        note=f"{note}, `litellm --config` (defaults: uvicorn, 1 worker, access log on), master key, "
        f"no database; ready in {took:.1f} s",
    )


# ---------------------------------------------------------------- requests and answers


def request_body(stream: bool, user: str = "") -> bytes:
    body: dict[str, object] = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
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
    """One keep-alive connection to one target; times each request to its last byte."""

    def __init__(self, target: Target) -> None:
        self.target = target
        host, port, _ = split_url(target.base + "/")
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
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": PROMPT}]
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
    clients = {t.name: Client(t) for t in targets}
    bodies = {(t.name, mode): request_body(mode == "stream", t.user) for t in targets for mode in MODES}
    # The server of a path: its proxy process; for the direct path the stub (which every path reaches once).
    pids = {t.name: (t.service or stub).proc.pid for t in targets}
    try:
        for mode in MODES:
            cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
            busy0, own0, wall0 = machine_busy_seconds(), own_cpu_seconds(), time.monotonic()
            sent = warmup + count
            for first in range(0, sent, block):
                if time.monotonic() > deadline:
                    raise BenchError("time limit reached during the latency phase")
                turn = (first // block) % len(targets)
                for target in targets[turn:] + targets[:turn]:
                    key = (target.name, mode)
                    for i in range(first, min(first + block, sent)):
                        status, raw, ms = clients[target.name].post(bodies[key])
                        ok = status == 200 and carries_answer(answer_text(raw, mode == "stream"))
                        if not ok:
                            result.errors[key] = result.errors.get(key, 0) + 1
                        elif i >= warmup:
                            result.samples.setdefault(key, []).append(ms)
            spent = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
            for name in pids:
                per = sent * len(targets) if name == "direct" else sent
                result.cpu_ms[(name, mode)] = spent[name] / per * 1000
            others = machine_busy_seconds() - busy0 - sum(spent.values()) - (own_cpu_seconds() - own0)
            result.other[mode] = max(0.0, others) / (time.monotonic() - wall0)
    finally:
        for client in clients.values():
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
    body = request_body(mode == "stream", target.user).decode()
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body)}"]
    lines.append('wrk.headers["Content-Type"] = "application/json"')
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in target.headers.items()]
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


def run_wrk(target: Target, mode: str, conns: int, seconds: float, stub: Service) -> Step:
    script = wrk_script(target, mode)
    url = target.base + "/v1/chat/completions"
    argv = [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    proxy_pid = target.service.proc.pid if target.service else None
    before_stub, before_proxy = cpu_seconds(stub.proc.pid), cpu_seconds(proxy_pid) if proxy_pid else 0.0
    before_wrk, before_all, before_own = children_cpu_seconds(), machine_busy_seconds(), own_cpu_seconds()
    wall0 = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=False)
    wall = time.monotonic() - wall0
    wrk_s, own_s = children_cpu_seconds() - before_wrk, own_cpu_seconds() - before_own
    stub_s = cpu_seconds(stub.proc.pid) - before_stub
    proxy_s = (cpu_seconds(proxy_pid) - before_proxy) if proxy_pid else 0.0
    other_s = max(0.0, machine_busy_seconds() - before_all - stub_s - proxy_s - wrk_s - own_s)
    if out.returncode != 0:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    rps, p50, p99, bad = parse_wrk(out.stdout)
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
) -> list[Step]:
    """Raise concurrency per target until rps stops growing; steps interleaved across targets."""
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
                else:
                    stale[target.name] += 1
    return steps


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
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.baseline_src is not None and not (args.baseline_src / "hegui" / "__init__.py").exists():
        parser.error(f"--baseline-src {args.baseline_src}: no hegui package there (give its src/ directory)")
    if args.requests < 10 or args.requests > 100_000 or not args.levels or max(args.levels) > 1024:
        parser.error("--requests must be 10..100000 and --levels at most 1024 connections")
    if args.block < 1:
        parser.error("--block must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk (listed in scripts/debian-packages.txt)", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.max_seconds
    WORK.mkdir(parents=True, exist_ok=True)
    services: list[Service] = []
    skipped: dict[str, str] = {}
    try:
        stub, stub_port = start_stub(stop_after=args.max_seconds + 60)
        services.append(stub)
        stub_note = "`upstream_stub.py`: raw asyncio + httptools on uvloop, one process"
        targets = [
            Target(
                "direct", f"http://127.0.0.1:{stub_port}", {"Authorization": "Bearer none"}, None, stub_note
            )
        ]

        def hegui(port: int, timeout: float) -> Target:
            return start_hegui(args.hegui, port, timeout)

        def hegui_before(port: int, timeout: float) -> Target:
            return start_hegui(args.hegui, port, timeout, name="hegui-before", src=args.baseline_src)

        def litellm(port: int, timeout: float) -> Target:
            return start_litellm(port, args.litellm_spec, timeout)

        starters: dict[str, Callable[[int, float], Target]] = {
            "hegui": hegui,
            "hegui-before": hegui_before,
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
                assert target.service is not None
                services.append(target.service)
                check_answers(target)
            except (BenchError, subprocess.SubprocessError, OSError) as exc:
                skipped[name] = str(exc).splitlines()[0][:300]
                print(f"{name}: not measured: {exc}", file=sys.stderr)
                for service in services[started:]:
                    service.stop()  # an idle broken proxy must not share the machine with the others
                continue
            targets.append(target)
        check_answers(targets[0])
        for target in targets:
            target.user = args.end_user
        print(f"latency: {args.requests} requests per path and mode at concurrency 1 ...", flush=True)
        latency = measure_latency(targets, stub, args.requests, args.warmup, args.block, deadline)
        print("throughput search with wrk:", flush=True)
        steps = search_max(targets, stub, args.levels, seconds=args.step_seconds, deadline=deadline, log=_say)
        text = report(targets, latency, steps, skipped, args)
    except BenchError as exc:
        print(f"proxy_overhead: {exc}", file=sys.stderr)
        return 1
    finally:
        for service in reversed(services):
            service.stop()
    print()
    print(text)
    if not args.no_write:
        write_section("proxy_overhead_end_user" if args.end_user else "proxy_overhead", text)
        print(f"written to {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
