"""Corpus audit: reproducible sample, exact scan counts, blacklist over 5 %, same result for 1 and 2
workers. The only "illegal" text is the bundled demo deny-list term."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.corpus.audit import AuditOptions, audit, flagged

BAD = "演示违禁词"


def _corpus(tmp_path: Path) -> list[Path]:
    clean = tmp_path / "clean.jsonl"
    dirty = tmp_path / "dirty.jsonl"
    clean.write_text(
        "".join(
            json.dumps({"text": f"第{i}条正常语料" + (BAD if i % 100 == 0 else "")}, ensure_ascii=False)
            + "\n"
            for i in range(1, 1001)
        ),
        encoding="utf-8",
    )
    dirty.write_text(
        "".join(
            json.dumps({"text": f"第{i}条语料" + (BAD if i % 10 == 0 else "")}, ensure_ascii=False) + "\n"
            for i in range(1, 501)
        ),
        encoding="utf-8",
    )
    return [clean, dirty]


def test_full_scan_counts_and_blacklist(tmp_path: Path) -> None:
    paths = _corpus(tmp_path)
    r = audit(paths, AuditOptions(sample=50, fraction=1.0, workers=1))
    assert r.items == 1500 and r.scanned == 1500
    assert (r.sources["clean.jsonl"].failed, r.sources["dirty.jsonl"].failed) == (10, 50)
    assert flagged(r, 0.05) == ["dirty.jsonl"]
    assert r.per_risk == {"A.1h": 60}
    assert len(r.sample) == 50


@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_sample_and_scan_do_not_depend_on_workers_or_order(tmp_path: Path, fraction: float) -> None:
    paths = _corpus(tmp_path)
    one = audit(paths, AuditOptions(sample=100, fraction=fraction, seed=3, workers=1))
    two = audit(list(reversed(paths)), AuditOptions(sample=100, fraction=fraction, seed=3, workers=2))
    assert [i.key for i in one.sample] == [i.key for i in two.sample]
    assert one.sources == two.sources and [f.key for f in one.failures] == [f.key for f in two.failures]
    assert abs(one.scanned / 1500 - fraction) < 0.06
    other = audit(paths, AuditOptions(sample=100, fraction=fraction, seed=4, workers=1))
    assert [i.key for i in other.sample] != [i.key for i in one.sample]


def test_cli_writes_the_review_sheet(tmp_path: Path) -> None:
    import openpyxl  # type: ignore[import-untyped]

    out = tmp_path / "out"
    args = [
        "corpus",
        "audit",
        *map(str, _corpus(tmp_path)),
        "--out",
        str(out),
        "--sample",
        "30",
        "--fraction",
        "1",
        "--workers",
        "1",
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "BLACKLIST" in r.output and "fewer than the 4,000" in r.output
    assert (out / "blacklist.txt").read_text(encoding="utf-8") == "dirty.jsonl\n"
    wb = openpyxl.load_workbook(out / "review_sample.xlsx", read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    wb.close()  # a read-only workbook holds its file open until closed
    assert rows[0] == ("编号", "来源", "行", "文本", "审核结果", "风险类别", "备注") and len(rows) == 31
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["failed"] == 60 and summary["blacklist"] == ["dirty.jsonl"]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_spark_gives_the_same_result(tmp_path: Path, fmt: str) -> None:
    """Through the CLI in separate processes: pyspark's py4j leaves sockets to the garbage collector,
    which pytest (warnings as errors) would report against this test."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
    paths = [str(p) for p in _corpus(tmp_path)] if fmt == "jsonl" else [str(_parquet(tmp_path))]
    extra = [] if fmt == "jsonl" else ["--source-field", "src"]
    outs = {}
    for engine in ("local", "spark"):
        out = tmp_path / engine
        cmd = [str(Path(sys.executable).parent / "hegui")]
        cmd += ["corpus", "audit", *paths, "--out", str(out), "--engine", engine, *extra]
        cmd += ["--sample", "100", "--fraction", "0.5", "--seed", "3", "--workers", "2"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        outs[engine] = out
    for name in ("summary.json", "failures.jsonl", "blacklist.txt"):
        assert (outs["local"] / name).read_text(encoding="utf-8") == (outs["spark"] / name).read_text(
            encoding="utf-8"
        ), name
    import openpyxl  # type: ignore[import-untyped]

    sheets = [
        list(openpyxl.load_workbook(outs[e] / "review_sample.xlsx").active.iter_rows(values_only=True))
        for e in outs
    ]
    assert sheets[0] == sheets[1] and len(sheets[0]) == 101


def test_several_text_fields_are_one_item(tmp_path: Path) -> None:
    """A dialogue turn (`hegui data export`) is audited as its prompt and answer together: a term in
    the answer fails the turn."""
    from hegui.corpus.audit import read_corpus
    from hegui.errors import RequestError

    turns = tmp_path / "records.jsonl"
    rows = [{"prompt": "问一", "answer": "答一"}, {"prompt": "问二", "answer": f"答二{BAD}"}]
    turns.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    sheet = tmp_path / "turns.csv"
    sheet.write_text(f"prompt,answer\n问一,答一\n问二,答二{BAD}\n", encoding="utf-8")
    for path in (turns, sheet):
        items = list(read_corpus(path, "prompt,answer"))
        assert [i.text for i in items] == ["问一\n答一", f"问二\n答二{BAD}"]
        r = audit([path], AuditOptions(sample=2, fraction=1.0, workers=1, text_field="prompt,answer"))
        assert (r.scanned, r.failed) == (2, 1)
        assert audit([path], AuditOptions(sample=2, fraction=1.0, workers=1, text_field="prompt")).failed == 0
        with pytest.raises(RequestError, match="reply"):
            list(read_corpus(path, "prompt,reply"))


def _parquet(tmp_path: Path) -> Path:
    """The two sources of `_corpus` as one Parquet file with a source column, in three row groups, and
    a null text (empty, as an empty CSV cell)."""
    pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (the parquet extra)")
    import pyarrow.parquet as pq

    rows = [
        json.loads(line) | {"src": p.name}
        for p in _corpus(tmp_path)
        for line in p.read_text(encoding="utf-8").splitlines()
    ]
    rows.append({"text": None, "src": "clean.jsonl"})
    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=600)
    return path


def test_parquet_reads_as_the_same_corpus(tmp_path: Path) -> None:
    path = _parquet(tmp_path)
    r = audit([path], AuditOptions(sample=50, fraction=1.0, workers=1, source_field="src"))
    assert r.items == 1501 and r.scanned == 1501
    assert (r.sources["clean.jsonl"].failed, r.sources["dirty.jsonl"].failed) == (10, 50)
    assert flagged(r, 0.05) == ["dirty.jsonl"] and r.per_risk == {"A.1h": 60}
    failing = {f.key for f in r.failures}
    assert "dirty.jsonl:1010" in failing  # row 1010 of the file: the 10th of the dirty source
    from hegui.corpus.audit import read_corpus
    from hegui.errors import RequestError

    with pytest.raises(RequestError, match="no column 'body'"):
        list(read_corpus(path, "body"))
    with pytest.raises(RequestError, match="not a Parquet file"):
        list(read_corpus(_corpus(tmp_path)[0].rename(tmp_path / "fake.parquet"), "text"))
