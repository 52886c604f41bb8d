"""`hegui works index|test` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hegui.cli import app
from hegui.works.index import Work, WorksIndex

runner = CliRunner()


def test_index_reads_text_and_jsonl_and_test_flags_a_copy(tmp_path: Path, works: list[Work]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(works[0].text, encoding="utf-8")
    (corpus / "b.jsonl").write_text(
        "\n".join(json.dumps({"id": w.name, "text": w.text}, ensure_ascii=False) for w in works[1:3]) + "\n",
        encoding="utf-8",
    )
    (corpus / "skip.csv").write_text("not read", encoding="utf-8")
    out = tmp_path / "w.npz"
    result = runner.invoke(app, ["works", "index", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 works · ")
    assert WorksIndex.load(out).names == [str(corpus / "a.txt"), "work-1", "work-2"]

    copied = runner.invoke(app, ["works", "test", str(out), works[2].text[100:200]])
    assert copied.exit_code == 1, copied.output
    assert "protected work 'work-2'" in copied.output and copied.output.endswith(
        f"1 finding(s) · index version {WorksIndex.load(out).version}\n"
    )
    clean = runner.invoke(app, ["works", "test", str(out), "今天我们谈谈别的事情。" * 10])
    assert clean.exit_code == 0 and clean.output.startswith("0 finding(s)")


def test_index_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n[1, 2]\n', encoding="utf-8")
    result = runner.invoke(app, ["works", "index", str(bad), "--out", str(tmp_path / "w.npz")])
    assert result.exit_code == 2
    assert "bad.jsonl:2: a line must be an object with a text string" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["works", "index", str(empty), "--out", str(tmp_path / "w.npz")])
    assert result.exit_code == 2 and "no works found" in result.output
