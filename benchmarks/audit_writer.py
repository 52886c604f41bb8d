"""Cost of one audit group commit, with and without the chain's protection: entry MACs (HEGUI_AUDIT_KEY)
and signed checkpoints (one every 1000 entries, and the worst case: one after every batch).

Each round submits a burst of B entries (1, then 32) at once and times until all are durable; the writer
commits what is queued in one transaction (group commit), so a burst of 1 is the cost of one group
commit. Median and p99 over rounds, and the batches a burst of 32 took. ``--baseline-src DIR`` also measures another checkout's
code (the chain before MACs existed), unprotected. Every chain runs in a fresh process on its own
database, the chains in turn, chunk after chunk, so that the load of a shared machine falls on all alike.

Usage: .venv/bin/python benchmarks/audit_writer.py [--rounds N] [--baseline-src ../main/src]
       [--synchronous FULL|NORMAL] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hegui.records.audit import AuditDraft, AuditLog
from hegui.records.db import make_engine, migrate

BURSTS = (1, 32)


@dataclass
class Mode:
    name: str
    log: AuditLog
    samples: dict[int, list[list[float]]]


def _draft(i: int) -> AuditDraft:
    return AuditDraft(
        request_id=f"chatcmpl-hg{i:032x}",
        stage="output",
        action="allow",
        policy_version="bench+0123456789ab",
        content_hash=f"{i:064x}",
        tenant="default",
        end_user="user-1",
        findings=[{"check": "demo", "category": "A.1h", "start": 3, "end": 8, "field": "content"}],
        detail={"model": "m", "finish_reason": "stop"},
    )


def _round(log: AuditLog, burst: int, start: int) -> list[float]:
    """[ms until every entry of the burst is durable, batches it took]."""
    before = log.batches
    t = time.perf_counter()
    futures = [log.submit(_draft(start + i)) for i in range(burst)]
    for f in futures:
        f.result(timeout=60)
    return [(time.perf_counter() - t) * 1000, float(log.batches - before)]


def _make_log(tmp: Path, protect: str, synchronous: str) -> AuditLog:
    name = protect
    engine = make_engine(f"sqlite:///{tmp / name}.db", sqlite_synchronous=synchronous)
    migrate(engine)
    if protect == "none":
        return AuditLog(engine)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hegui.records.audit import with_audit_keys
    from hegui.records.audit_keys import MacKeyRing
    from hegui.records.checkpoints import CheckpointDir, Checkpointer, CheckpointPolicy

    engine = with_audit_keys(engine, MacKeyRing.parse(secrets.token_hex(32)))
    if protect == "mac":
        return AuditLog(engine)
    every = 1000 if protect == "mac+cp1000" else 1
    cp = Checkpointer(
        Ed25519PrivateKey.generate(), CheckpointDir(tmp / f"{name}-cp"), policy=CheckpointPolicy(every, 60)
    )
    cp.start()
    return AuditLog(engine, observer=cp)


def measure(
    modes: list[str], rounds: int, synchronous: str = "FULL"
) -> dict[str, dict[int, list[list[float]]]]:
    with tempfile.TemporaryDirectory() as tmp:
        running = []
        for protect in modes:
            log = _make_log(Path(tmp), protect, synchronous)
            log.start()
            running.append(Mode(protect, log, {b: [] for b in BURSTS}))
        n = 0
        for _ in range(rounds):
            for burst in BURSTS:
                for m in running:
                    m.samples[burst].append(_round(m.log, burst, n))
                    n += burst
        for m in running:
            m.log.close()
    return {m.name: m.samples for m in running}


def cpu_costs(n: int = 2000, repeat: int = 30) -> list[str]:
    """What protection adds per entry and per checkpoint, timed without the database (no fsync noise)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hegui.records.audit import GENESIS, _seal
    from hegui.records.audit_keys import MacKeyRing
    from hegui.records.checkpoints import CheckpointDir, Checkpointer

    key = MacKeyRing.parse(secrets.token_hex(32)).current
    drafts = [_draft(i) for i in range(n)]
    rows = []
    for label, k in (("seal an entry (hash)", None), ("seal an entry (hash + MAC)", key)):
        best = min(
            _timed(lambda k=k: [_seal(d, i, GENESIS, k, None) for i, d in enumerate(drafts)])
            for _ in range(repeat)
        )
        rows.append(f"| {label} | {best * 1e6 / n:.1f} µs |")
    with tempfile.TemporaryDirectory() as tmp:
        cp = Checkpointer(Ed25519PrivateKey.generate(), CheckpointDir(Path(tmp)))
        cp.start()
        times = [_timed(lambda i=i: cp._append(i + 1, f"{i:064x}")) for i in range(200)]
        cp.close()
    rows.append(
        f"| sign and write a checkpoint (fsync file + dir), p50 | {statistics.median(times) * 1000:.2f} ms |"
    )
    return rows


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _row(name: str, samples: dict[int, list[list[float]]]) -> str:
    cells = []
    for b in BURSTS:
        ms = sorted(x[0] for x in samples[b])
        cells += [f"{statistics.median(ms):.2f}", f"{ms[max(0, int(len(ms) * 0.99) - 1)]:.2f}"]
    cells.append(f"{statistics.mean(x[1] for x in samples[BURSTS[-1]]):.2f}")
    return f"| {name} | " + " | ".join(cells) + " |"


MODES = {
    "none": "no key, no checkpoints",
    "mac": "MACs",
    "mac+cp1000": "MACs + checkpoint every 1000 entries",
    "mac+cp1": "MACs + checkpoint after every batch",
}


def _worker(
    src: str, modes: list[str], rounds: int, synchronous: str
) -> dict[str, dict[int, list[list[float]]]]:
    """One chunk of rounds in a fresh process on ``src``'s code."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--rounds",
            str(rounds),
            "--synchronous",
            synchronous,
            "--worker",
            ",".join(modes),
        ],
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return {m: {int(k): v for k, v in d.items()} for m, d in json.loads(out.stdout).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=300, help="rounds per burst size and mode, in all")
    ap.add_argument("--chunks", type=int, default=6, help="alternations between the baseline and this code")
    ap.add_argument("--baseline-src", help="another checkout's src/ to measure, unprotected")
    ap.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker.split(","), args.rounds, args.synchronous)))
        return
    here = str(Path(__import__("hegui").__file__).resolve().parents[1])
    per_chunk = max(1, args.rounds // args.chunks)
    load_before = os.getloadavg()[0]
    samples: dict[str, dict[int, list[list[float]]]] = {}

    def add(label: str, got: dict[int, list[list[float]]]) -> None:
        for b, xs in got.items():
            samples.setdefault(label, {}).setdefault(b, []).extend(xs)

    before = f"before: {args.baseline_src} (no MAC columns)"
    chains = [(before, args.baseline_src, "none")] if args.baseline_src else []
    chains += [(label, here, mode) for mode, label in MODES.items()]
    for chunk in range(args.chunks):
        for label, src, mode in chains[chunk % len(chains) :] + chains[: chunk % len(chains)]:  # rotated
            add(label, _worker(src, [mode], per_chunk, args.synchronous)[mode])
    order = ([before] if args.baseline_src else []) + list(MODES.values())
    costs = "\n".join(["| operation | cost |", "|---|---|", *cpu_costs()])
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    print(costs)
    head = "| chain | 1 entry: p50 ms | p99 ms | 32 entries: p50 ms | p99 ms | batches per 32 |"
    table = "\n".join([head, "|---|---|---|---|---|---|", *(_row(name, samples[name]) for name in order)])
    print(table)
    if not args.no_write:
        from _results import machine, write_section

        write_section(
            f"audit_writer_{args.synchronous.lower()}",
            f"## Audit group commit, SQLite synchronous={args.synchronous} (`benchmarks/audit_writer.py`)\n\n"
            f"{machine()} · {load} · a temp dir · {per_chunk * args.chunks} rounds per burst size and chain, in "
            f"{args.chunks} chunks; each chunk runs every chain in turn (the order rotated chunk by chunk), "
            "each in a fresh process on its own database · ms = until every entry of the burst is durable\n\n"
            f"{table}\n\nCPU cost of the protection itself, without the database (best of 30 runs over "
            f"2000 entries; checkpoints: 200 written):\n\n{costs}\n",
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
