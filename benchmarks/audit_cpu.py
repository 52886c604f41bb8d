"""CPU the audit writer spends per request: what one chat request with an end user writes (its input
entry in one group commit; its keep-journal row and its output entry in the next, as the gateway
queues them), with B requests per group commit (B = 1: a quiet gateway; B = 16: a busy one).

Runs the writer's own batch method (`AuditLog._write`, the writer thread's work without the queue) in
this thread and reads this thread's CPU time (user + system: the fsync's kernel time counts) from
getrusage. SQLite with synchronous=FULL in a temp dir, and with synchronous=OFF: without the fsync's
kernel time, what remains is the writer's own work (Python, SQLAlchemy, SQLite), close to what it holds
the GIL for; PostgreSQL as well when HEGUI_TEST_POSTGRES_URL is set (client CPU only: the server's is
another process). ``--baseline-src DIR`` also measures another
checkout's code. Every (code, database) pair runs in a fresh process, the pairs in turn chunk after
chunk (rotated), so the load of a shared machine falls on all alike; the table gives the median of the
chunks. Writes the `audit_cpu` section of RESULTS.md.

Usage: .venv/bin/python benchmarks/audit_cpu.py [--requests 600] [--chunks 6] [--baseline-src ../main/src]
       [--mac] [--no-write]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

BATCHES = (1, 16)
CIPHERTEXT = "A" * 800  # a sealed turn of a few hundred characters, base64


def _requests(n: int) -> list[tuple[Any, Any, Any]]:
    """(input draft, keep rider, output draft) of n chat requests, built as the gateway builds them."""
    from hegui.records.audit import AuditDraft, Rider
    from hegui.records.tables_records import KeepJournalRow

    out = []
    for i in range(n):
        rid = f"chatcmpl-hg{i:032x}"
        detail = {"endpoint": "/v1/chat/completions", "model": "m", "upstream": "stub", "key": "hg_3f9a"}

        def draft(stage: str, h: int, rid: str = rid, detail: dict[str, str] = detail) -> Any:
            return AuditDraft(
                rid, stage, "allow", "p+0123456789ab", f"{h:064x}", "default", "user-1", [], detail
            )

        row = {
            "tenant": "default",
            "user_id": "user-1",
            "session": "s-1",
            "request_id": rid,
            "channel": "api",
            "ciphertext": CIPHERTEXT,
            "input_action": "allow",
            "output_action": "allow",
            "at": "2026-12-01T00:00:00.000000Z",
            "attempts": 0,
        }
        out.append((draft("input", 2 * i), Rider(KeepJournalRow.__table__, row), draft("output", 2 * i + 1)))
    return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_THREAD)
    return r.ru_utime + r.ru_stime


def _engine(database: str, tmp: str) -> tuple[Any, Callable[[], None]]:
    from _services import scratch_database

    from hegui.records.db import make_engine, migrate

    if database.startswith("sqlite"):
        eng = make_engine(
            f"sqlite:///{tmp}/audit.db", sqlite_synchronous="OFF" if database == "sqlite-off" else "FULL"
        )
        migrate(eng)
        return eng, eng.dispose
    return scratch_database(os.environ["HEGUI_TEST_POSTGRES_URL"])


def measure(database: str, requests: int, mac: bool, profile: Any = None) -> dict[int, float]:
    """µs of this thread's CPU per request written, per batch size (``profile``: a cProfile.Profile to
    enable around the measured part)."""
    from hegui.records.audit import AuditLog, with_audit_keys
    from hegui.records.audit_keys import MacKeyRing

    out: dict[int, float] = {}
    for b in BATCHES:
        with tempfile.TemporaryDirectory() as tmp:
            engine, drop = _engine(database, tmp)
            if mac:
                engine = with_audit_keys(engine, MacKeyRing.parse(secrets.token_hex(32)))
            log = AuditLog(engine)  # not started: this thread does the writer's work
            reqs = _requests(requests + 4 * b)

            def commit(items: list[Any], log: AuditLog = log) -> None:
                batch = [(item, concurrent.futures.Future()) for item in items]
                for _, fut in batch:
                    fut.set_running_or_notify_cancel()
                log._write(batch)
                if any(f.exception() for _, f in batch):
                    raise RuntimeError(f"a batch failed: {batch[0][1].exception()!r}")

            def run(part: list[Any], commit: Callable[[list[Any]], None] = commit, b: int = b) -> None:
                for k in range(0, len(part), b):
                    group = part[k : k + b]
                    commit([d for d, _, _ in group])
                    commit([x for _, r, o in group for x in (r, o)])

            run(reqs[: 4 * b])  # warm: the connection, the prepared statements
            if profile is not None:
                profile.enable()
            t = _cpu()
            run(reqs[4 * b :])
            out[b] = (_cpu() - t) * 1e6 / requests
            if profile is not None:
                profile.disable()
            held = getattr(log, "_drop_connection", None)  # this code holds the writer's connection
            if held is not None:
                held()
            drop()
    return out


def _worker(src: str, database: str, requests: int, mac: bool) -> dict[int, float]:
    """One chunk in a fresh process on ``src``'s code."""
    cmd = [sys.executable, __file__, "--requests", str(requests), "--worker", database]
    out = subprocess.run(
        cmd + (["--mac"] if mac else []),
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return {int(k): v for k, v in json.loads(out.stdout).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=600, help="requests per chunk and batch size")
    ap.add_argument("--chunks", type=int, default=6)
    ap.add_argument("--baseline-src", help="another checkout's src/ to measure alike")
    ap.add_argument("--mac", action="store_true", help="with HEGUI_AUDIT_KEY (entry MACs)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.requests, args.mac)))
        return
    here = str(Path(__import__("hegui").__file__).resolve().parents[1])
    databases = ["sqlite", "sqlite-off"] + (["postgres"] if os.environ.get("HEGUI_TEST_POSTGRES_URL") else [])
    codes = ([("before", args.baseline_src)] if args.baseline_src else []) + [("this code", here)]
    pairs = [(code, src, db) for db in databases for code, src in codes]
    samples: dict[tuple[str, str], dict[int, list[float]]] = {}
    load_before = os.getloadavg()[0]
    for chunk in range(args.chunks):
        for code, src, db in pairs[chunk % len(pairs) :] + pairs[: chunk % len(pairs)]:
            got = _worker(src, db, args.requests, args.mac)
            for b, us in got.items():
                samples.setdefault((code, db), {}).setdefault(b, []).append(us)
    names = {
        "sqlite": "SQLite (synchronous=FULL)",
        "sqlite-off": "SQLite, synchronous=OFF (no fsync: the writer's own work)",
        "postgres": "PostgreSQL (loopback; client CPU)",
    }
    rows = []
    for code, _, db in pairs:
        got = samples[(code, db)]
        cells = [f"{statistics.median(got[b]):.0f} ({min(got[b]):.0f}–{max(got[b]):.0f})" for b in BATCHES]
        rows.append(f"| {names[db]} | {code} | " + " | ".join(cells) + " |")
    head = "| database | code | " + " | ".join(f"B = {b}: µs per request (range)" for b in BATCHES) + " |"
    table = "\n".join([head, "|---|---|" + "---|" * len(BATCHES), *rows])
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    print(table)
    if not args.no_write:
        from _results import machine, write_section

        base = f" · before: {args.baseline_src}" if args.baseline_src else ""
        write_section(
            "audit_cpu",
            "## Audit writer CPU per request (`benchmarks/audit_cpu.py`)\n\n"
            f"{machine()} · {load}{base} · MACs {'on' if args.mac else 'off'} · {args.requests} requests "
            f"per chunk and batch size, {args.chunks} chunks in fresh processes (median, and range, of "
            "the chunks) · one request = its input entry, then its keep-journal row and output entry in "
            "the next group commit; B requests per group commit · CPU = the writer's thread, user + "
            f"system\n\n{table}\n",
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
