"""Write one benchmark's section of benchmarks/RESULTS.md, leaving the other sections as they are.

Each benchmark owns the text between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``.
"""

from __future__ import annotations

import platform
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
_HEADER = (
    "# Benchmark results\n\n"
    "Written by the scripts in this folder; each section is replaced by the latest run of its script.\n"
)


def yardstick_ms() -> float:
    """ms for ``sum(range(10**6))``, best of 5: how fast this shared machine ran at the moment. It has
    run up to twice as slow on some days and minutes as on others (18–31 ms), so a section's figures are
    compared with another day's only through this."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - started)
    return best * 1e3


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = "?"
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · commit {commit or '?'} · {cpu} · "
        f"{__import__('os').cpu_count()} cores · Python {platform.python_version()} · "
        f"`sum(range(10**6))` {yardstick_ms():.0f} ms at the end (the machine's speed)"
    )


def write_section(name: str, body: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else _HEADER
    section = f"<!-- begin {name} -->\n{body.rstrip()}\n<!-- end {name} -->"
    pattern = re.compile(rf"<!-- begin {re.escape(name)} -->.*?<!-- end {re.escape(name)} -->", re.S)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section + "\n"
    )
    RESULTS.write_text(text, encoding="utf-8")
