"""What a rate-limited request costs the gateway: admission and the token correction, counted in
process memory and on Redis (one Lua script per admission; corrections ride on the next admission).

Each request is admitted against a key, a tenant-less end user and a tokens limit (limits far above
what the run reaches), charged a prompt estimate, corrected to its usage, and closed, as the gate
does. Wall time per request (p50, p99) and this process's CPU per request (Redis's own CPU is not
counted). Redis: ``--redis-url``, else a redis-server started here on a loopback port.

Usage: .venv/bin/python benchmarks/limits_overhead.py [--requests 3000] [--redis-url redis://…] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

from hegui.cluster.config import LimitsPolicy, Quota
from hegui.cluster.limiter import Holder, RateLimiter
from hegui.cluster.redis_state import RedisState
from hegui.cluster.windows import LocalWindows, Windows

BIG = 10**9


async def _run(windows: Windows, n: int) -> tuple[float, float, float]:
    policy = LimitsPolicy(
        key=Quota(requests_per_minute=BIG, tokens_per_minute=BIG), user=Quota(requests_per_minute=BIG)
    )
    limiter = RateLimiter(policy, windows)
    holder = Holder(1, "tenant", "user")

    async def one() -> None:
        ticket = await limiter.admit(holder, stream=False, prompt_tokens=5)
        await ticket.tokens(20)
        await ticket.close()

    for _ in range(200):
        await one()
    walls = []
    cpu = time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        await one()
        walls.append(time.perf_counter() - t)
    per_cpu = (time.process_time() - cpu) / n
    walls.sort()
    return statistics.median(walls) * 1e6, walls[int(n * 0.99) - 1] * 1e6, per_cpu * 1e6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _measure(url: str, n: int) -> dict[str, tuple[float, float, float]]:
    out = {"process memory (no HEGUI_REDIS_URL)": await _run(LocalWindows(), n)}
    shared = RedisState(url)
    out["Redis on loopback"] = await _run(shared.windows(600), n)
    await shared.aclose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--redis-url")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    proc, tmp = None, None
    url = args.redis_url
    if url is None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("no redis-server: install it or pass --redis-url")
        port, tmp = _free_port(), tempfile.mkdtemp()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        url = f"redis://127.0.0.1:{port}/0"
    try:
        results = asyncio.run(_measure(url, args.requests))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
            shutil.rmtree(tmp or "", ignore_errors=True)
    from _results import machine, write_section

    rows = [f"| {k} | {v[0]:.0f} | {v[1]:.0f} | {v[2]:.0f} |" for k, v in results.items()]
    body = (
        "## Rate limits: cost per request (`benchmarks/limits_overhead.py`)\n\n"
        f"{machine()} · load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end · "
        f"{args.requests} requests, one at a time, each admitted against a key's requests and tokens "
        "limits and an end user's requests limit, then corrected to its usage and closed · µs\n\n"
        "| counters | wall p50 | wall p99 | CPU per request (this process) |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )
    print(body)
    if not args.no_write:
        write_section("limits_overhead", body)


if __name__ == "__main__":
    main()
