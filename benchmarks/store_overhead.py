"""Per-request cost of the end user's record: the sanction standing check and one turn of session
memory, in process memory and in the database (SQLite in a temp dir; PostgreSQL when
HEGUI_TEST_POSTGRES_URL is set). These calls run on the gateway's event loop, so their latency is
added to every request that names an end user. Writes the `store_overhead` section of RESULTS.md.

Usage: .venv/bin/python benchmarks/store_overhead.py [--requests N] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hegui.guard.memory import InMemoryMemoryStore, MemoryStore, SessionKey, Turn
from hegui.guard.sanctions import InMemorySanctionStore, SanctionLadder, SanctionStore
from hegui.guard.types import Action
from hegui.records.db import make_engine, migrate
from hegui.records.memory_store import DbMemoryStore
from hegui.records.sanctions_store import DbSanctionStore
from hegui.records.vault import Vault

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section
from _services import scratch_database

TURN = "请帮我写一段关于长城历史的介绍，三百字左右。" * 2


def _ms(fn: Callable[[int], None], n: int) -> tuple[float, float]:
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def measure(name: str, sanctions: SanctionStore, memory: MemoryStore, n: int) -> list[str]:
    ladder = SanctionLadder()
    key = SessionKey("t", "u", "s")

    def standing(_: int) -> None:
        ladder.standing(sanctions, "t", "u", datetime.now(UTC))

    def turn(i: int) -> None:  # what one request does: read recent turns and sketches, remember the turn
        memory.turns(key, 4)
        memory.refused(key)
        memory.append_turn(key, Turn(f"{TURN}{i}", datetime.now(UTC), Action.ALLOW))

    rows = []
    for what, fn in (("standing check", standing), ("memory: read + remember a turn", turn)):
        p50, p99 = _ms(fn, n)
        rows.append(f"| {name} | {what} | {p50:.3f} | {p99:.3f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = measure("memory", InMemorySanctionStore(), InMemoryMemoryStore(), args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        eng = make_engine(f"sqlite:///{tmp}/b.db")
        migrate(eng)
        rows += measure(
            "SQLite (synchronous=FULL)",
            DbSanctionStore(eng),
            DbMemoryStore(eng, Vault(eng, os.urandom(32))),
            args.requests,
        )
        eng.dispose()
    pg = os.environ.get("HEGUI_TEST_POSTGRES_URL")
    if pg:
        eng, drop = scratch_database(pg)
        rows += measure(
            "PostgreSQL (loopback)",
            DbSanctionStore(eng),
            DbMemoryStore(eng, Vault(eng, os.urandom(32))),
            args.requests,
        )
        drop()
    table = "\n".join(["| store | call | p50 ms | p99 ms |", "|---|---|---|---|", *rows])
    print(table)
    if not args.no_write:
        write_section(
            "store_overhead",
            f"## store_overhead\n\n{machine()} · {args.requests} calls each, one user, one session\n\n{table}\n",
        )


if __name__ == "__main__":
    main()
