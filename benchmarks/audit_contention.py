"""Several replicas appending to one audit chain on PostgreSQL: what the head-row lock costs.

Every replica has its own audit writer (one thread, group commit); on PostgreSQL each group commit takes
the chain's head row ``FOR UPDATE``, so writers of different replicas take turns. This measures one
writer process against two (each a separate process, as replicas are) with the same total number of
clients. A client is a request: it submits one entry and waits until it is durable, then the next.
Reported: entries per second over all writers, the p50 / p99 wait for durability, entries per group
commit, and the share of each writer's commit time spent waiting for the other's lock (measured as
the time to take the head row).

Usage: .venv/bin/python benchmarks/audit_contention.py [--database-url postgresql+psycopg://…/postgres]
       [--clients 32] [--seconds 5] [--rounds 3] [--baseline-src DIR] [--no-write]

``--baseline-src`` also runs another checkout's writers (``git archive HEAD~1 src | tar -x -C DIR``):
the writer now takes into a group commit what queued while it waited for the head row's lock.
(the URL defaults to HEGUI_TEST_POSTGRES_URL; a fresh database is made per mode and dropped after)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from hegui.records.audit import AuditDraft, AuditLog
from hegui.records.db import make_engine, migrate

HERE = Path(__file__).resolve().parent


def _draft(worker: int, i: int) -> AuditDraft:
    return AuditDraft(
        request_id=f"chatcmpl-hg{worker:04x}{i:028x}",
        stage="output",
        action="allow",
        policy_version="bench+0123456789ab",
        content_hash=f"{i:064x}",
        tenant="default",
        end_user="user-1",
        findings=[],
        detail={"model": "m", "finish_reason": "stop"},
    )


def worker(url: str, ident: int, clients: int, seconds: float, start_at: float) -> dict[str, object]:
    """One replica's writer under ``clients`` concurrent requests; returns its measurements."""
    engine = make_engine(url)
    lock_waits: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "FOR UPDATE" in statement:
            conn.info["t_lock"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "FOR UPDATE" in statement:
            lock_waits.append(time.perf_counter() - conn.info.pop("t_lock"))

    log = AuditLog(engine)
    log.start()
    waits: list[float] = []
    lock = threading.Lock()
    while time.time() < start_at:
        time.sleep(0.001)
    stop = time.monotonic() + seconds

    def client(c: int) -> None:
        i = 0
        mine = []
        while time.monotonic() < stop:
            i += 1
            t = time.perf_counter()
            log.submit(_draft(ident * 1000 + c, i)).result(timeout=60)
            mine.append(time.perf_counter() - t)
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    batches = log.batches
    log.close()
    engine.dispose()
    return {
        "entries": len(waits),
        "elapsed": elapsed,
        "waits": waits,
        "batches": batches,
        "lock_wait_total": sum(lock_waits),
    }


def run_mode(
    admin_url: str, replicas: int, clients: int, seconds: float, src: str | None = None
) -> dict[str, float]:
    name = f"hegui_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(make_engine(url))
        start_at = time.time() + 2.0  # every process has started and connected
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    url,
                    str(r),
                    str(clients // replicas),
                    str(seconds),
                    str(start_at),
                ],
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": src or os.environ.get("PYTHONPATH", "")},
            )
            for r in range(replicas)
        ]
        results = [json.loads(p.communicate(timeout=seconds + 120)[0]) for p in procs]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    waits = sorted(w for r in results for w in r["waits"])
    entries = sum(r["entries"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    batches = sum(r["batches"] for r in results)
    return {
        "rate": entries / elapsed,
        "p50": statistics.median(waits) * 1000,
        "p99": waits[int(len(waits) * 0.99) - 1] * 1000,
        "per_batch": entries / max(1, batches),
        "lock_share": sum(r["lock_wait_total"] for r in results) / (elapsed * replicas),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=os.environ.get("HEGUI_TEST_POSTGRES_URL"))
    ap.add_argument("--clients", type=int, default=32, help="concurrent requests over all replicas")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument(
        "--baseline-src", help="also measure the writers of another checkout's src (before a change)"
    )
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        url, ident, clients, seconds, start_at = args.worker
        print(json.dumps(worker(url, int(ident), int(clients), float(seconds), float(start_at))))
        return
    if not args.database_url:
        sys.exit("needs a PostgreSQL: --database-url or HEGUI_TEST_POSTGRES_URL")
    load_before = os.getloadavg()[0]
    modes: dict[str, tuple[int, str | None]] = {}
    if args.baseline_src:
        modes["before: 1 writer"] = (1, args.baseline_src)
        modes["before: 2 writers"] = (2, args.baseline_src)
    modes["1 writer (one replica)"] = (1, None)
    modes["2 writers (two replicas)"] = (2, None)
    samples: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for r in range(args.rounds):
        items = list(modes.items())
        order = items[r % len(items) :] + items[: r % len(items)]  # rotated: a busy spell hits all alike
        for label, (replicas, src) in order:
            samples[label].append(run_mode(args.database_url, replicas, args.clients, args.seconds, src))
    rows = []
    for label, runs in samples.items():
        med = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
        rows.append(
            f"| {label} | {med['rate']:.0f} | {med['p50']:.2f} | {med['p99']:.2f} | {med['per_batch']:.1f} "
            f"| {med['lock_share'] * 100:.1f} % |"
        )
    from _results import machine, write_section

    body = (
        "## Audit chain on PostgreSQL, one writer vs two replicas' writers (`benchmarks/audit_contention.py`)\n\n"
        f"{machine()} · load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end · "
        f"PostgreSQL on loopback (fsync on) · {args.clients} concurrent clients in all (each submits an entry "
        f"and waits until it is durable) · {args.seconds:.0f} s per run, median of {args.rounds} runs, "
        + (f"before = {args.baseline_src} · " if args.baseline_src else "")
        + "the modes in turn, rotated · head row: time in the statement that takes the head row `FOR UPDATE` (its round trip, and any wait for the other writer's lock), as a share of each writer's time\n\n"
        "| writers | entries/s | p50 ms | p99 ms | entries per group commit | head row |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    print(body)
    if not args.no_write:
        write_section("audit_contention", body)


if __name__ == "__main__":
    main()
