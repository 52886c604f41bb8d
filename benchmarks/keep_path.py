"""What keeping a turn costs the response, before and after the keep journal (issue 11, part 1).

Before, a request with an end user waited for its turn to be kept: the question and the answer stored
(encrypted) in the conversation store and the turn offered to the training pool (`records.keep.keep_turn`
does the same work). After, the request waits only for its output entry's group commit, which carries the
journal row (`journal_rider` + `AuditLog.carry`); the `KeepWorker` does the keeping after the response.

Measured in one process on SQLite (``synchronous=FULL``, a temp dir), one request at a time:

1. *before, on the path*: `keep_turn` per request (what the answer used to wait for, after its entry);
2. *after, on the path*: the journal row sealed and carried with the output entry, against the entry alone
   (the difference is what the journal adds to the wait);
3. *after, off the path*: the worker's cost per row (the batch taken, kept and deleted in one
   transaction), one row per wake-up and 16 rows per wake-up (a busy gateway).

Writes the `keep_path` section of RESULTS.md.

Usage: .venv/bin/python benchmarks/keep_path.py [--requests N] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hegui.guard.types import Action
from hegui.records.audit import AuditDraft, AuditLog
from hegui.records.config import RecordsPolicy
from hegui.records.db import make_engine, migrate
from hegui.records.keep import KeepJob, drain, journal_rider, keep_turn
from hegui.records.vault import Vault

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section

PROMPT = "请用一句话概括以下内容：季度报告涵盖三个地区的销售情况、人员变动以及新的客服时间。"
ANSWER = "季度报告概述了三个地区的销售、人员变动和新的客服时间。"
POLICY = RecordsPolicy()


def _job(i: int) -> KeepJob:
    return KeepJob(
        "t", f"user-{i % 50}", "s", f"chatcmpl-{i}", "api", PROMPT, ANSWER, Action.ALLOW, Action.ALLOW
    )


def _draft(i: int) -> AuditDraft:
    return AuditDraft(f"chatcmpl-{i}", "output", "allow", "bench", "", "t")


def _percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]


def _timed(n: int, fn: Callable[[int], None]) -> list[float]:
    out = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def run(n: int) -> list[tuple[str, list[float], str]]:
    rows: list[tuple[str, list[float], str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'keep.db'}")
        migrate(engine)
        vault = Vault(engine, os.urandom(32))
        for i in range(50):
            vault.encrypt("t", f"user-{i}", "warm")  # every user's data key cached, as in a running gateway
        log = AuditLog(engine)
        log.start()
        try:
            rows.append(
                (
                    "before: keep_turn, on the path",
                    _timed(n, lambda i: keep_turn(engine, vault, POLICY, _job(i))),
                    "after the output entry's commit; the answer waited for it",
                )
            )
            base = 10 * n
            entry = _timed(n, lambda i: log.submit(_draft(base + i)).result())
            rows.append(("after: the output entry alone", entry, "what every answer waits for anyway"))

            def carried(i: int) -> None:
                log.carry(journal_rider(vault, _job(2 * base + i)))
                log.submit(_draft(2 * base + i)).result()

            rows.append(
                ("after: the entry with the journal row", _timed(n, carried), "what the answer waits for now")
            )
            # the journal now holds n rows: the worker's cost per row, one row per wake-up, then 16
            one = _timed(n // 2, lambda _: drain(engine, vault, POLICY, owner="bench", limit=1))
            rows.append(("after: worker, 1 row per wake-up (per row)", one, "off the path"))
            per16: list[float] = []
            while True:
                started = time.perf_counter()
                got = drain(engine, vault, POLICY, owner="bench", limit=16)
                if not got:
                    break
                per16 += [(time.perf_counter() - started) * 1000 / got] * got
            rows.append(("after: worker, 16 rows per wake-up (per row)", per16, "off the path"))
        finally:
            log.close()
            engine.dispose()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load0 = os.getloadavg()[0]
    rows = run(args.requests)
    load1 = os.getloadavg()[0]
    lines = [
        "## Keeping a turn: on the response's path or off it (`benchmarks/keep_path.py`)",
        "",
        f"{machine()} · load average {load0:.1f} at the start, {load1:.1f} at the end · SQLite "
        f"synchronous=FULL in a temp dir, one process, one request at a time, {args.requests} requests",
        "",
        "| step | p50 ms | p99 ms | |",
        "|---|---:|---:|---|",
    ]
    for name, times, note in rows:
        p50, p99 = _percentiles(times)
        lines.append(f"| {name} | {p50:.2f} | {p99:.2f} | {note} |")
    lines += [
        "",
        "The answer used to wait for the first row after its entry's commit; it now waits for the third "
        "(the journal row rides in the same commit). The worker's rows are the same keeping, with the batch's "
        "taking and deletion in the same transaction (one commit per batch), paid after the response; a busy "
        "gateway batches them.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("keep_path", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
