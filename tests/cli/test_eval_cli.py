"""`hegui eval bank check|build` and `hegui eval compare` through the CLI runner (harmless texts)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hegui.cli import app


def _bank(path: Path) -> Path:
    rows = [f"关于历史的问题{i},历史,历史,should-answer" for i in range(3)]
    rows += ["关于历史的问题0,历史,历史,should-answer", "一个问题,,A.1a,should-refuse"]
    path.write_text("测试题,一级分类,二级分类,kind\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_bank_check_json_and_strict(tmp_path: Path) -> None:
    bank = _bank(tmp_path / "b.csv")
    r = CliRunner().invoke(app, ["eval", "bank", "check", str(bank), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    kinds = {k["kind"]: k for k in doc["kinds"]}
    assert kinds["should-answer"]["total"] == 4 and len(doc["duplicates"]) == 1
    history = next(g for g in kinds["should-answer"]["groups"] if g["group"] == "history")
    assert history == {"group": "history", "count": 4, "minimum": 20, "short": 16}
    assert "A.1b" in kinds["should-refuse"]["empty"]
    assert CliRunner().invoke(app, ["eval", "bank", "check", str(bank), "--strict"]).exit_code == 1


def test_bank_check_names_a_bad_kind(tmp_path: Path) -> None:
    bank = tmp_path / "b.csv"
    bank.write_text("测试题,kind\n问题,maybe\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["eval", "bank", "check", str(bank)])
    assert r.exit_code == 2 and "unknown bank kind 'maybe'" in r.output


def test_compare(tmp_path: Path) -> None:
    def summary(d: Path, rate: float) -> Path:
        d.mkdir()
        k = {
            "kind": "should-refuse",
            "metric": "refusal",
            "overall": {"group": "all", "rate": rate, "n": 10},
            "per_group": [],
        }
        (d / "summary.json").write_text(json.dumps({"kinds": [k]}), encoding="utf-8")
        return d

    r = CliRunner().invoke(
        app, ["eval", "compare", str(summary(tmp_path / "a", 0.1)), str(summary(tmp_path / "b", 0.6))]
    )
    assert r.exit_code == 0, r.output
    assert "+50.0%" in r.output and "10.0%" in r.output and "60.0%" in r.output
    missing = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no summary.json" in missing.output


def test_a_run_with_unanswered_items_exits_1(tmp_path: Path) -> None:
    bank = _bank(tmp_path / "b.csv")
    args = ["eval", "run", "--endpoint", "http://127.0.0.1:1/v1", "--model", "m", "--bank", str(bank)]
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), "--retries", "0", "--timeout", "2"])
    assert r.exit_code == 1
    assert "5 questions without an answer or verdict" in r.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert sum(k["errors"] for k in summary["kinds"]) == 5
