"""`hegui assess`: every life-cycle node has findings, each a verdict with evidence or a named gap."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hegui.cli import app
from hegui.filing.assess import GAP, NODES


def test_assess_names_evidence_or_gaps(tmp_path: Path, eval_dir: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(json.dumps({"text": f"语料{i}"}, ensure_ascii=False) + "\n" for i in range(200)),
        encoding="utf-8",
    )
    audit_out = tmp_path / "audit"
    r = CliRunner().invoke(
        app, ["corpus", "audit", str(corpus), "--out", str(audit_out), "--fraction", "1", "--workers", "1"]
    )
    assert r.exit_code == 0, r.output
    licenses = tmp_path / "licenses.json"
    licenses.write_text(json.dumps({"summary": {"ok": 12, "blocked": 0}, "blocked": False}), encoding="utf-8")
    out = tmp_path / "assess"
    args = ["assess", "--out", str(out), "--eval", str(eval_dir), "--corpus", str(audit_out)]
    args += ["--licenses", str(licenses), "--no-audit-chain", "--json"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    findings = json.loads(r.output)
    assert {f["node"] for f in findings} == set(NODES)
    for f in findings:
        assert f["verdict"] in ("compliant", "non-compliant", GAP)
        assert f["detail"], f
        if f["verdict"] == "compliant":
            assert f["evidence"] or f["detail"], f
    by_item = {f["item"]: f for f in findings}
    assert by_item["technical scan (SEC-07: ≥ 10 % at ≥ 98 %)"]["verdict"] == "compliant"
    assert by_item["manual review sample (SEC-07: ≥ 4,000 at ≥ 96 %)"]["verdict"] == "non-compliant"
    assert by_item["licences of code, models and data"]["verdict"] == "compliant"
    assert by_item["data register / aibom.yaml"]["verdict"] == GAP
    assert by_item["audit chain"]["verdict"] == GAP
    assert "## generated content" in (out / "assess.md").read_text(encoding="utf-8")
    strict = CliRunner().invoke(app, [*args[:-1], "--strict"])
    assert strict.exit_code == 1
