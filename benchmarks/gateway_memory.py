"""Resident memory of a started gateway in rules-only mode, with and without the 64,420-term lexicon.

Starts `hegui serve` (uvicorn on loopback) twice — bundled policy; bundled policy plus the sensitive-word
lexicon of ../shared/data as a `lexicon` check — sends a bounded number of chat requests (COLD sentences,
streamed and not) through the demo upstream, and reads VmRSS / VmHWM from /proc. Target (issue 7): under
500 MB with the lexicon loaded. Writes the `gateway_memory` section of RESULTS.md.

Usage: .venv/bin/python benchmarks/gateway_memory.py [--requests N]
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HEGUI_SHARED_DATA", ROOT.parent / "shared" / "data"))
LEXICON = DATA / "sensitive-word" / "src" / "main" / "resources" / "sensitive_word_dict.txt"
TAGS = LEXICON.with_name("sensitive_word_tags.txt")
COLD = DATA / "COLDataset" / "COLDataset" / "dev.csv"
HEGUI = Path(sys.executable).parent / "hegui"

LEXICON_CHECK = f"""
[[checks]]
name = "sensitive-word"
type = "lexicon"
path = "{LEXICON}"
format = "plain"
tags_file = "{TAGS}"
stages = ["input", "output"]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def sentences(n: int) -> list[str]:
    with COLD.open(encoding="utf-8-sig") as fh:
        rows = [r["TEXT"] for r in csv.DictReader(fh)]
    return [rows[i % len(rows)] for i in range(n)]


def run(name: str, policy_text: str, prompts: list[str]) -> dict[str, object]:
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
            [str(HEGUI), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            while True:
                if proc.poll() is not None or time.monotonic() - started > 180:
                    raise RuntimeError(f"{name}: the gateway did not become ready")
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            ready_s = time.monotonic() - started
            idle = rss_mib(proc.pid)
            refused = 0
            with httpx.Client(
                base_url=base, headers={"authorization": f"Bearer {key}"}, timeout=30
            ) as client:
                for i, prompt in enumerate(prompts):
                    body = {
                        "model": "hegui-demo",
                        "stream": bool(i % 2),
                        "messages": [{"role": "user", "content": prompt}],
                    }
                    r = client.post("/v1/chat/completions", json=body)
                    r.raise_for_status()
                    refused += '"content_filter"' in r.text
            loaded = rss_mib(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    return {
        "name": name,
        "ready_s": ready_s,
        "idle": idle[0],
        "after": loaded[0],
        "peak": loaded[1],
        "requests": len(prompts),
        "refused": refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    if not LEXICON.exists() or not COLD.exists():
        sys.exit(f"shared data not found under {DATA} (set HEGUI_SHARED_DATA)")
    bundled = (ROOT / "src" / "hegui" / "default_policy.toml").read_text(encoding="utf-8")
    prompts = sentences(args.requests)
    results = [
        run("bundled policy (demo deny-list)", bundled, prompts),
        run("bundled policy + 64,420-term lexicon", bundled + LEXICON_CHECK, prompts),
    ]
    lines = [
        "## Gateway memory, rules-only mode (`benchmarks/gateway_memory.py`)",
        "",
        f"{machine()}. `hegui serve` (one uvicorn process) through the demo upstream; {args.requests} chat "
        "requests of COLDataset dev sentences, half streamed. RSS read from /proc. Target: < 500 MB with the "
        "lexicon loaded.",
        "",
        "| configuration | ready after | RSS idle | RSS after requests | peak RSS (VmHWM) | refused |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['ready_s']:.1f} s | {r['idle']:.0f} MiB | {r['after']:.0f} MiB | "
            f"{r['peak']:.0f} MiB | {r['refused']}/{r['requests']} |"
        )
        print(lines[-1])
    write_section("gateway_memory", "\n".join(lines))


if __name__ == "__main__":
    main()
