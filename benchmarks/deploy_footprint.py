"""What `hegui serve` costs per process: start-up time and memory, for one process and N workers.

Starts `hegui serve` with the bundled policy (and, when ../shared/data is present, the 64,420-term
lexicon as a `lexicon` check: the guard a user would run), waits for /readyz, sends a bounded number of
chat requests through the demo upstream (whole and streamed), then reads each process's memory from /proc:
RSS (what `top` shows) and PSS (RSS with shared pages divided among the processes sharing them: the
honest per-worker figure, since workers share the interpreter's and libraries' pages). One process on
SQLite, then --workers 1, 2 and 4 on PostgreSQL (HEGUI_TEST_POSTGRES_URL or --postgres URL; a fresh
database per run). Writes the `deploy_footprint` section of RESULTS.md.

Usage: .venv/bin/python benchmarks/deploy_footprint.py [--requests N] [--postgres URL] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section
from gateway_memory import LEXICON, LEXICON_CHECK, free_port

HEGUI = Path(sys.executable).parent / "hegui"
PROMPTS = [
    "请介绍一下长城的历史。",
    "今天天气怎么样？",
    "Write a haiku about autumn.",
    "帮我写一封请假邮件。",
]


@dataclass(frozen=True)
class Footprint:
    name: str
    ready_s: float
    processes: int  # serving processes (the workers; the supervisor parent is counted apart)
    rss_each: list[float]  # MiB, per serving process
    pss_each: list[float]
    parent_rss: float  # MiB, the supervisor (0 for one process)


def _kib(pid: int, path: str, field: str) -> float:
    for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _workers(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            out.append(int(stat.parent.name))
    return out


def run(name: str, policy_text: str, workers: int, database_url: str | None, requests: int) -> Footprint:
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "hegui.toml"
        policy.write_text(policy_text, encoding="utf-8")
        env = {
            **os.environ,
            "HEGUI_DATA_DIR": tmp,
            "HEGUI_POLICY_FILE": str(policy),
            "HEGUI_FIRST_KEY": "false",
            "HEGUI_LOG_LEVEL": "warning",
        }
        if database_url:
            env["HEGUI_DATABASE_URL"] = database_url
        key = (
            subprocess.run(
                [str(HEGUI), "keys", "create", "--name", "bench"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(HEGUI), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            pids: list[int] = [proc.pid]
            while True:
                if proc.poll() is not None or time.monotonic() - started > 300:
                    raise RuntimeError(f"{name}: the gateway did not become ready")
                try:
                    ready = httpx.get(f"{base}/readyz", timeout=1).status_code == 200
                except httpx.TransportError:
                    ready = False
                if ready and workers > 1:
                    pids = _workers(proc.pid)
                    # ready once every worker has built its gateway: each holds a database connection
                    ready = len(pids) == workers and all(_kib(p, "status", "VmRSS") > 100 for p in pids)
                if ready:
                    break
                time.sleep(0.1)
            ready_s = time.monotonic() - started
            with httpx.Client(
                base_url=base, headers={"authorization": f"Bearer {key}"}, timeout=30
            ) as client:
                for i in range(requests):
                    body = {
                        "model": "hegui-demo",
                        "stream": bool(i % 2),
                        "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                    }
                    client.post("/v1/chat/completions", json=body).raise_for_status()
            rss = [_kib(p, "status", "VmRSS") for p in pids]
            pss = [_kib(p, "smaps_rollup", "Pss") for p in pids]
            parent = _kib(proc.pid, "status", "VmRSS") if workers > 1 else 0.0
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    return Footprint(name, ready_s, len(pids), rss, pss, parent)


def fresh_database(admin_url: str) -> str:
    name = f"hegui_fp_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("HEGUI_TEST_POSTGRES_URL"))
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    bundled = (Path(__file__).resolve().parents[1] / "src" / "hegui" / "default_policy.toml").read_text()
    policies = [("bundled policy", bundled)]
    if LEXICON.exists():
        policies.append(("+ 64k lexicon", bundled + LEXICON_CHECK))
    rows: list[Footprint] = []
    for label, policy in policies:
        rows.append(run(f"{label}, 1 process, SQLite", policy, 1, None, args.requests))
        if args.postgres:
            for n in (int(x) for x in args.workers.split(",")):
                rows.append(
                    run(
                        f"{label}, --workers {n}, PostgreSQL",
                        policy,
                        n,
                        fresh_database(args.postgres),
                        args.requests,
                    )
                )
    lines = [
        "## Deployment footprint (`benchmarks/deploy_footprint.py`)",
        "",
        machine(),
        "",
        f"`hegui serve` started on loopback, ready = /readyz answers 200 and every worker has built its gateway; "
        f"then {args.requests} chat requests (half streamed) through the demo upstream. RSS counts shared pages "
        "in every process; PSS divides them among the processes sharing them. The 2 cores are shared with other "
        "work, so start-up times are upper bounds.",
        "",
        "| configuration | ready after | serving processes | RSS per process | PSS per process | PSS total | supervisor RSS |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.ready_s:.1f} s | {r.processes} | {sum(r.rss_each) / len(r.rss_each):.0f} MiB "
            f"| {sum(r.pss_each) / len(r.pss_each):.0f} MiB | {sum(r.pss_each):.0f} MiB "
            f"| {f'{r.parent_rss:.0f} MiB' if r.parent_rss else '–'} |"
        )
    body = "\n".join(lines)
    print(body)
    write_section("deploy_footprint", body)


if __name__ == "__main__":
    main()
