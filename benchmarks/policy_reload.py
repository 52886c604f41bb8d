"""What a hot policy reload costs on a started gateway with the guard issue 16 names (the bundled policy
plus the 64,420-term lexicon of ../shared/data/sensitive-word as a `lexicon` check).

Starts `hegui serve` (demo upstream), warms it up, then reloads the policy file ``--reloads`` times
through ``POST /hegui/api/policy/reload`` (each time a new ``version``, so every reload builds a whole
new pipeline) while one client keeps sending chat requests back to back. Reports, per reload: the
build time the gateway measured, the wall time of the admin call, the requests served during it and
their slowest latency (next to the slowest before any reload), the process's resident memory sampled
every 20 ms during the reload (peak) and after it. Writes the `policy_reload` section of RESULTS.md.

Usage: .venv/bin/python benchmarks/policy_reload.py [--reloads N]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section
from gateway_memory import LEXICON, LEXICON_CHECK, free_port, rss_mib

ROOT = Path(__file__).resolve().parents[1]
HEGUI = Path(sys.executable).parent / "hegui"
PROMPT = "请用一句话介绍一下长城的历史。"


@dataclass
class Reload:
    build_s: float
    call_s: float
    served: int
    median_ms: float
    slowest_ms: float
    rss_peak: float
    rss_after: float


class Load:
    """One client sending requests back to back; keeps (start, latency) of each."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        self.samples: list[tuple[float, float]] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        body = {"model": "hegui-demo", "messages": [{"role": "user", "content": PROMPT}]}
        with httpx.Client(
            base_url=self.base, headers={"authorization": f"Bearer {self.key}"}, timeout=60
        ) as c:
            while not self._stop.is_set():
                started = time.monotonic()
                if c.post("/v1/chat/completions", json=body).status_code != 200:
                    self.errors += 1
                self.samples.append((started, time.monotonic() - started))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> list[float]:
        """Latencies of the requests that were open at any moment of [start, end]."""
        return [lat for began, lat in self.samples if began <= end and began + lat >= start]


def key(env: dict[str, str], role: str) -> str:
    out = subprocess.run(
        [str(HEGUI), "keys", "create", "--name", "bench", "--role", role],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def run(reloads: int) -> tuple[float, float, float, list[Reload], int]:
    bundled = (ROOT / "src" / "hegui" / "default_policy.toml").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "hegui.toml"

        def write(version: str) -> None:
            text = bundled.replace('version = "', f'version = "{version}-', 1) + LEXICON_CHECK
            policy.write_text(text, encoding="utf-8")

        write("r0")
        env = {
            **os.environ,
            "HEGUI_DATA_DIR": tmp,
            "HEGUI_POLICY_FILE": str(policy),
            "HEGUI_FIRST_KEY": "false",
            "HEGUI_LOG_LEVEL": "warning",
        }
        admin, client = key(env, "admin"), key(env, "client")
        port = free_port()
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(HEGUI), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        out: list[Reload] = []
        try:
            while True:
                if proc.poll() is not None or time.monotonic() - started > 300:
                    raise RuntimeError("the gateway did not become ready")
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            ready_s = time.monotonic() - started
            with Load(base, client) as load:
                time.sleep(5)  # warm: models loaded, caches filled
                idle_rss = rss_mib(proc.pid)[0]
                steady = [lat for _, lat in load.samples[len(load.samples) // 2 :]]
                before_ms = max(steady) * 1000
                before_median = statistics.median(steady) * 1000
                for i in range(1, reloads + 1):
                    write(f"r{i}")
                    peak = [0.0]
                    sampling = threading.Event()

                    def sample(stop: threading.Event = sampling, top: list[float] = peak) -> None:
                        while not stop.is_set():
                            top[0] = max(top[0], rss_mib(proc.pid)[0])
                            time.sleep(0.02)

                    sampler = threading.Thread(target=sample, daemon=True)
                    sampler.start()
                    t0 = time.monotonic()
                    answer = httpx.post(
                        f"{base}/hegui/api/policy/reload",
                        headers={"authorization": f"Bearer {admin}"},
                        timeout=120,
                    )
                    t1 = time.monotonic()
                    answer.raise_for_status()
                    time.sleep(2)  # the old pipeline is let go once no request holds it
                    sampling.set()
                    sampler.join()
                    during = load.between(t0, t1)
                    out.append(
                        Reload(
                            answer.json()["build_seconds"],
                            t1 - t0,
                            len(during),
                            statistics.median(during) * 1000 if during else 0.0,
                            max(during) * 1000 if during else 0.0,
                            peak[0],
                            rss_mib(proc.pid)[0],
                        )
                    )
                errors = load.errors
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    return ready_s, idle_rss, (before_median, before_ms), out, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reloads", type=int, default=4)
    args = parser.parse_args()
    if not LEXICON.exists():
        sys.exit(f"needs the 64k lexicon at {LEXICON} (../shared/data)")
    ready_s, idle, before_ms, reloads, errors = run(args.reloads)
    rows = [
        "| reload | build (s) | admin call (s) | requests served during it | their median (ms) "
        "| slowest of them (ms) | RSS peak (MiB) | RSS after (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(reloads, 1):
        rows.append(
            f"| {i} | {r.build_s:.2f} | {r.call_s:.2f} | {r.served} | {r.median_ms:.0f} | {r.slowest_ms:.0f} "
            f"| {r.rss_peak:.0f} | {r.rss_after:.0f} |"
        )
    body = "\n".join(
        [
            "## policy_reload",
            "",
            f"`benchmarks/policy_reload.py --reloads {args.reloads}` on {machine()}: `hegui serve` with the bundled "
            f"policy plus the 64k lexicon (ready in {ready_s:.1f} s), one client sending chat requests back to "
            f"back to the demo upstream; each reload builds a new pipeline (new `version`). Before any reload: "
            f"RSS {idle:.0f} MiB, requests of the steady half {before_ms[0]:.0f} ms median, "
            f"{before_ms[1]:.0f} ms slowest. Errors: {errors}.",
            "",
            *rows,
            "",
            f"Median build {statistics.median(r.build_s for r in reloads):.2f} s; the peak is the two pipelines "
            "held together while the new one is built and swapped in.",
        ]
    )
    print(body)
    write_section("policy_reload", body)


if __name__ == "__main__":
    main()
