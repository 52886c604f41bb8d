"""Building a protected-works index: one process, worker processes, and Spark (local mode), in one run.

Corpus: the works of `works_overlap.corpus` (KdConv dialogues and LCCC chit-chat from ../shared/data,
else seeded synthetic text), repeated with a numbered suffix until it holds ``--chars`` characters, and
written to a temporary JSONL file (nothing of the data is kept). Each engine builds the index through
`hegui.works.engines.build` (what ``hegui works index --engine`` runs), timed in wall-clock seconds
(a build is a batch job: waiting counts), and every index must equal the one-process build.

Usage: .venv/bin/python benchmarks/works_build.py [--chars 5000000] [--no-spark] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section
from works_overlap import corpus

from hegui.works.engines import build
from hegui.works.index import WorksIndex


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chars", type=int, default=5_000_000)
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    works, _, source = corpus(1_000_000)
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "works.jsonl"
        size, lines, copy = 0, 0, 0
        with path.open("w", encoding="utf-8") as out:
            while size < args.chars:
                for w in works:
                    text = f"{w.text}（{copy}）"
                    out.write(json.dumps({"id": f"{w.name}#{copy}", "text": text}, ensure_ascii=False) + "\n")
                    size += len(text)
                    lines += 1
                    if size >= args.chars:
                        break
                copy += 1
        runs: list[tuple[str, dict[str, object]]] = [
            ("one process", {"engine": "local", "workers": 1}),
            ("2 worker processes", {"engine": "local", "workers": 2}),
        ]
        if not args.no_spark:
            runs.append(("Spark local[2]", {"engine": "spark", "workers": 2}))
        reference: WorksIndex | None = None
        for name, options in runs:
            started = time.perf_counter()
            try:
                index = build([path], k=8, w=8, **options)  # type: ignore[arg-type]
            except Exception as exc:
                rows.append(f"| {name} | not run: {exc} | | | |")
                continue
            seconds = time.perf_counter() - started
            reference = reference or index
            same = index.version == reference.version and index.names == reference.names
            stats = index.stats()
            rows.append(
                f"| {name} | {seconds:.1f} s | {seconds / (stats.characters / 1e6):.2f} s | "
                f"{stats.fingerprints:,} | {'yes' if same else '**no**'} |"
            )
            print(rows[-1], flush=True)
    body = "\n".join(
        [
            "## Works index build by engine (`benchmarks/works_build.py`)",
            "",
            machine(),
            "",
            f"{lines:,} works ({size:,} characters) in one JSONL file: {source}, repeated with a numbered "
            "suffix. Wall-clock seconds of `hegui.works.engines.build` (k=8, w=8), what `hegui works index "
            "--engine` runs; *same index* compares each result with the one-process build. Spark's time "
            "includes starting the JVM and the Python workers (about 10 s here): it pays off only on a "
            "cluster, for catalogues that outgrow one machine.",
            "",
            "| engine | build | per M normalized chars | fingerprints | same index |",
            "|---|---:|---:|---:|---|",
            *rows,
        ]
    )
    print(body)
    if not args.no_write:
        write_section("works_build", body)


if __name__ == "__main__":
    main()
