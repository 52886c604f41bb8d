"""What a request's audit commit waits for when the keep journal's worker holds SQLite's write lock, with
and without the process's writer gate (`hegui.records.db.GatedConnection`; issue 11's p99).

One process on SQLite (``synchronous=FULL``, a temp dir), as the gateway runs with end users: the real
`AuditLog` writer takes one entry at a time (a request at concurrency 1: submit, wait until durable, a short
pause for the rest of the request), while a thread does what the `KeepWorker` does, every 50 ms a `drain`
of the journal rows the entries carried. Timed: each entry from submit to durable. Without the gate, an
entry that meets a batch waits in SQLite's busy handler, which sleeps 1, 2, 5, 10 … ms between tries; with
it, the writer takes the lock as soon as the batch commits.

Writes the `sqlite_writer_gate` section of RESULTS.md.

Usage: .venv/bin/python benchmarks/sqlite_writer_gate.py [--requests N] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hegui.guard.types import Action
from hegui.records.audit import AuditDraft, AuditLog
from hegui.records.config import RecordsPolicy
from hegui.records.db import make_engine, migrate
from hegui.records.keep import KeepJob, drain, journal_rider
from hegui.records.vault import Vault

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section

PROMPT = "请把下面的会议纪要整理成三条要点：周一讨论了新版本的发布时间和客服排班。"
ANSWER = "一、确定新版本的发布时间；二、调整客服排班；三、下周一再次确认。"
POLICY = RecordsPolicy()
WAKE_SECONDS = 0.05  # the KeepWorker's linger
PAUSE_SECONDS = 0.002  # the rest of a request between its entries (guard, upstream, response)


@dataclass(frozen=True)
class Run:
    gate: bool
    waits_ms: list[float]  # submit → durable, per entry
    batches: int

    def percentile(self, q: float) -> float:
        xs = sorted(self.waits_ms)
        return xs[min(len(xs) - 1, int(q * len(xs)))]

    def over(self, ms: float) -> float:
        return 100 * sum(1 for x in self.waits_ms if x > ms) / len(self.waits_ms)


def _job(i: int) -> KeepJob:
    return KeepJob(
        "t", f"user-{i % 50}", "s", f"chatcmpl-{i}", "api", PROMPT, ANSWER, Action.ALLOW, Action.ALLOW
    )


def measure(gate: bool, n: int, synchronous: str) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(
            f"sqlite:///{Path(tmp) / 'gate.db'}", sqlite_synchronous=synchronous, writer_gate=gate
        )
        migrate(engine)
        vault = Vault(engine, os.urandom(32))
        for i in range(50):
            vault.encrypt("t", f"user-{i}", "warm")
        log = AuditLog(engine)
        log.start()
        stop = threading.Event()
        batches = 0

        def worker() -> None:
            nonlocal batches
            while not stop.wait(WAKE_SECONDS):
                while drain(engine, vault, POLICY, owner="bench"):
                    batches += 1

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        waits: list[float] = []
        try:
            for i in range(n):
                log.submit(AuditDraft(f"chatcmpl-{i}", "input", "allow", "bench", "", "t")).result()
                time.sleep(PAUSE_SECONDS)
                log.carry(journal_rider(vault, _job(i)))
                started = time.perf_counter()
                log.submit(AuditDraft(f"chatcmpl-{i}", "output", "allow", "bench", "", "t")).result()
                waits.append((time.perf_counter() - started) * 1000)
                time.sleep(PAUSE_SECONDS)
        finally:
            stop.set()
            thread.join()
            log.close()
            engine.dispose()
        return Run(gate, waits, batches)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="requests per mode and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, the two modes alternating")
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL", help="SQLite's mode")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load0 = os.getloadavg()[0]
    runs: dict[bool, list[Run]] = {False: [], True: []}
    for _ in range(args.rounds):
        for gate in (False, True):
            runs[gate].append(measure(gate, args.requests, args.synchronous))
    load1 = os.getloadavg()[0]
    lines = [
        "## The SQLite writer gate (`benchmarks/sqlite_writer_gate.py`)",
        "",
        f"{machine()} · load average {load0:.1f} at the start, {load1:.1f} at the end · SQLite "
        f"synchronous={args.synchronous} in a temp dir, one process: the audit writer takes a request's input and output "
        f"entries one at a time ({PAUSE_SECONDS * 1000:.0f} ms apart; the output entry carries the keep "
        f"journal row) while a thread drains the journal every {WAKE_SECONDS * 1000:.0f} ms, as the "
        f"KeepWorker does · {args.requests} requests per mode and round, {args.rounds} rounds alternating",
        "",
        "| writer gate | round | output entry, submit → durable: p50 ms | p90 ms | p99 ms | max ms "
        "| entries over 5 ms | journal batches |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for gate in (False, True):
        for k, run in enumerate(runs[gate], 1):
            lines.append(
                f"| {'on' if gate else 'off (busy handler)'} | {k} | {run.percentile(0.5):.2f} | "
                f"{run.percentile(0.9):.2f} | {run.percentile(0.99):.2f} | {max(run.waits_ms):.2f} | "
                f"{run.over(5.0):.1f} % | {run.batches} |"
            )
    lines += [
        "",
        "Without the gate an entry that meets a batch sleeps in SQLite's busy handler (1, 2, 5, 10 … ms "
        "between tries), so it can wait past the batch's commit; with it the writer takes the lock when the "
        "batch commits. The gate does not shorten the batch itself: an entry that meets one still waits for "
        "its CPU work (the GIL) and its write lock, so compare the rounds with their spread before reading a "
        "gain into them. The gateway also keeps turns while no request is in flight (`KeepWorker.quiet`), "
        "so a lightly loaded gateway rarely lets a request meet a batch at all.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("sqlite_writer_gate", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
