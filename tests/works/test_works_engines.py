"""Every engine builds the same index as the one-process reference build: with worker processes and on
Spark (local mode), from text, Markdown and JSONL files (a BOM, blank lines, named and unnamed lines)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hegui.errors import RequestError
from hegui.works.engines import build
from hegui.works.index import Work, WorksIndex
from hegui.works.sources import read_works


def _corpus(root: Path, works: list[Work]) -> list[Path]:
    root.mkdir()
    (root / "a.txt").write_text("\ufeff" + works[0].text, encoding="utf-8")
    (root / "b.md").write_text(works[1].text, encoding="utf-8")
    lines = [json.dumps({"id": w.name, "text": w.text}, ensure_ascii=False) for w in works[2:4]]
    lines.insert(1, "")
    lines.append(json.dumps({"text": works[4].text}, ensure_ascii=False))  # named by file:line
    (root / "c.jsonl").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return [root]


def _same(a: WorksIndex, b: WorksIndex) -> None:
    assert a.names == b.names
    assert a.version == b.version
    assert [a.work_text(i, 0, 10**9) for i in range(len(a.names))] == [
        b.work_text(i, 0, 10**9) for i in range(len(b.names))
    ]
    assert a.stats() == b.stats()


def test_worker_processes_build_the_reference_index(tmp_path: Path, works: list[Work]) -> None:
    paths = _corpus(tmp_path / "corpus", works)
    reference = WorksIndex.build(read_works(paths), k=8, w=8)
    assert len(reference.names) == 5 and reference.names[-1].endswith("c.jsonl:4")
    seen: list[int] = []
    built = build(paths, k=8, w=8, workers=2, advance=seen.append)
    _same(built, reference)
    assert sum(seen) == 5
    _same(build(paths, k=8, w=8, workers=1), reference)


def test_a_bad_jsonl_line_is_named_by_every_engine(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"text": "好"}\nnot json\n', encoding="utf-8")
    with pytest.raises(RequestError, match=r"bad\.jsonl:2: not JSON"):
        build([tmp_path / "bad.jsonl"], k=8, w=8, workers=2)
    with pytest.raises(RequestError, match="unknown engine 'hadoop'"):
        build([tmp_path], k=8, w=8, engine="hadoop")


def test_spark_builds_the_same_index_file(tmp_path: Path, works: list[Work]) -> None:
    """Through the CLI in separate processes (pyspark's py4j leaves sockets to the garbage collector,
    which pytest with warnings as errors would report against this test)."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
    paths = _corpus(tmp_path / "corpus", works)
    hegui = str(Path(sys.executable).parent / "hegui")
    indexes = {}
    for engine in ("local", "spark"):
        out = tmp_path / f"{engine}.npz"
        cmd = [
            hegui,
            "works",
            "index",
            *map(str, paths),
            "--out",
            str(out),
            "--engine",
            engine,
            "--workers",
            "2",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        indexes[engine] = WorksIndex.load(out)
    _same(indexes["spark"], indexes["local"])
    assert np.array_equal(indexes["spark"]._hashes, indexes["local"]._hashes)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "好"}\n[1]\n', encoding="utf-8")
    cmd = [hegui, "works", "index", str(bad), "--out", str(tmp_path / "x.npz"), "--engine", "spark"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode != 0 and "bad.jsonl:2: a line must be an object with a text string" in done.stderr
