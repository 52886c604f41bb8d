"""Soak: a started gateway under steady load for a bounded time; its memory must stay flat (issue 16).

Starts `hegui serve` (one process, SQLite) with the bundled policy plus the 64k sensitive-word lexicon of
../shared/data, the demo upstream, and drives it with ``--clients`` threads, each sending chat requests
one after another with a pause (COLDataset dev sentences, half streamed, 64 end users in rotating
sessions, so session memory, the keep journal, the conversation store and the audit chain all grow).
RSS is read from /proc every ``--every`` seconds. *Growth* compares the end with the sample at a
quarter of the run (warm-up: caches, pools and the lexicon's first use fill the first minutes).
Errors are any answer other than 200. Writes the ``soak`` section of RESULTS.md.

Usage: .venv/bin/python benchmarks/soak.py [--minutes 20] [--clients 4] [--pause 0.02]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section
from gateway_memory import COLD, HEGUI, LEXICON, LEXICON_CHECK, ROOT, free_port, rss_mib, sentences


@dataclass
class Tally:
    ok: int = 0
    errors: int = 0
    refused: int = 0
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # (seconds, RSS MiB, answers)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(base: str, key: str, prompts: list[str], n: int, stop: float, pause: float, tally: Tally) -> None:
    with httpx.Client(base_url=base, headers={"authorization": f"Bearer {key}"}, timeout=60) as http:
        i = n
        while time.monotonic() < stop:
            user = f"soak-user-{i % 64}"
            body = {
                "model": "hegui-demo",
                "stream": bool(i % 2),
                "user": user,
                "messages": [{"role": "user", "content": prompts[i % len(prompts)]}],
            }
            try:
                r = http.post(
                    "/v1/chat/completions", json=body, headers={"x-hegui-session": f"{user}-{i // 50}"}
                )
                good = r.status_code == 200
                refused = '"content_filter"' in r.text
            except httpx.HTTPError:
                good, refused = False, False
            with tally.lock:
                tally.ok += good
                tally.errors += not good
                tally.refused += refused
            i += 7
            time.sleep(pause)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--pause", type=float, default=0.02)
    ap.add_argument("--every", type=float, default=30)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if not LEXICON.exists() or not COLD.exists():
        sys.exit("shared data not found (set HEGUI_SHARED_DATA)")
    policy_text = (ROOT / "src" / "hegui" / "default_policy.toml").read_text(encoding="utf-8") + LEXICON_CHECK
    prompts = sentences(3000)
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "hegui.toml"
        policy.write_text(policy_text, encoding="utf-8")
        env = {
            **os.environ,
            "HEGUI_DATA_DIR": tmp,
            "HEGUI_POLICY_FILE": str(policy),
            "HEGUI_FIRST_KEY": "false",
            "HEGUI_LOG_LEVEL": "warning",
            "HEGUI_SQLITE_SYNCHRONOUS": "NORMAL",
        }
        created = subprocess.run(
            [str(HEGUI), "keys", "create", "--name", "soak"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = created.stdout.strip().splitlines()[-1]
        port = free_port()
        proc = subprocess.Popen(
            [str(HEGUI), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not become ready")
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            start = time.monotonic()
            stop = start + args.minutes * 60
            threads = [
                threading.Thread(
                    target=client, args=(base, key, prompts, n, stop, args.pause, tally), daemon=True
                )
                for n in range(args.clients)
            ]
            for t in threads:
                t.start()
            while time.monotonic() < stop:
                tally.samples.append(
                    (time.monotonic() - start, rss_mib(proc.pid)[0], tally.ok + tally.errors)
                )
                print(
                    f"{tally.samples[-1][0]:7.0f} s  RSS {tally.samples[-1][1]:6.1f} MiB  ok {tally.ok}  errors {tally.errors}",
                    flush=True,
                )
                time.sleep(min(args.every, max(0.0, stop - time.monotonic())))
            for t in threads:
                t.join(timeout=120)
            tally.samples.append((time.monotonic() - start, rss_mib(proc.pid)[0], tally.ok + tally.errors))
            verified = subprocess.run(
                [str(HEGUI), "audit", "verify"], env=env, capture_output=True, text=True, check=False
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    quarter = next(rss for t, rss, _ in tally.samples if t >= args.minutes * 60 / 4)
    fifth = max(1, len(tally.samples) // 5)
    first, last = tally.samples[: fifth + 1], tally.samples[-fifth - 1 :]
    rate_first = (first[-1][2] - first[0][2]) / max(first[-1][0] - first[0][0], 1e-9)
    rate_last = (last[-1][2] - last[0][2]) / max(last[-1][0] - last[0][0], 1e-9)
    end = tally.samples[-1][1]
    growth = (end - quarter) / quarter * 100
    total = tally.ok + tally.errors
    step = max(1, len(tally.samples) // 10)
    rows = " · ".join(f"{t / 60:.0f} min {rss:.0f}" for t, rss, _ in tally.samples[::step])
    body = "\n".join(
        [
            "## Soak: memory under steady load (`benchmarks/soak.py`)",
            "",
            machine(),
            "",
            f"`hegui serve` (one process, SQLite, synchronous NORMAL) with the bundled policy plus the 64k "
            f"lexicon, demo upstream; {args.clients} clients for {args.minutes:g} minutes, each sending COLD "
            f"dev sentences one after another (half streamed, 64 end users in rotating sessions: session "
            f"memory, keep journal, conversation store and audit chain all grow).",
            "",
            "| requests | per second: first fifth / last fifth | errors | refused | RSS at ¼ of the run "
            "| RSS at the end | growth (target < 5 %) | audit verify |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {total:,} | {rate_first:.0f} / {rate_last:.0f} | {tally.errors} | {tally.refused:,} | {quarter:.0f} MiB | "
            f"{end:.0f} MiB | {growth:+.1f} % {'met' if growth < 5 and not tally.errors else '**not met**'} | "
            f"{'OK' if verified.returncode == 0 else 'FAILED'} |",
            "",
            f"RSS samples (minute, MiB): {rows}.",
        ]
    )
    print(body)
    print(json.dumps({"verify": verified.stdout.strip()[-300:]}, ensure_ascii=False))
    if not args.no_write:
        write_section("soak", body)


if __name__ == "__main__":
    main()
