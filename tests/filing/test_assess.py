"""`hegui assess`: every life-cycle node has findings, each a verdict with evidence or a named gap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.filing.assess import GAP, NODES, VERDICTS
from hegui.records.db import make_engine, migrate


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
        assert f["verdict"] in VERDICTS
        assert f["detail"], f
        # a verdict names what it was read from; a gap names what would close it (its detail)
        assert f["evidence"] or f["verdict"] == GAP, f
    by_item = {f["item"]: f for f in findings}
    assert by_item["technical scan (SEC-07: ≥ 10 % at ≥ 98 %)"]["verdict"] == "compliant"
    assert by_item["manual review sample (SEC-07: ≥ 4,000 at ≥ 96 %)"]["verdict"] == "non-compliant"
    assert by_item["licences of code, models and data"]["verdict"] == "compliant"
    assert by_item["data register / aibom.yaml"]["verdict"] == GAP
    assert by_item["audit chain"]["verdict"] == GAP
    assert "## generated content" in (out / "assess.md").read_text(encoding="utf-8")
    strict = CliRunner().invoke(app, [*args[:-1], "--strict"])
    assert strict.exit_code == 1


def _run(*args: str) -> dict[str, dict[str, str]]:
    r = CliRunner().invoke(app, ["assess", "--json", *args])
    assert r.exit_code == 0, r.output
    findings = json.loads(r.output)
    by_item = {f["item"]: f for f in findings}
    assert len(by_item) == len(findings), "item names must be unique"
    return by_item


def test_declared_clauses_and_the_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What only the provider can say comes from the form (a gap until declared); the record items come
    from the configured database (gaps without one, or with --no-records)."""
    form = tmp_path / "form.yaml"
    form.write_text(
        'clauses:\n  "5.3": {verdict: compliant, evidence: [annotation-rules.pdf]}\n', encoding="utf-8"
    )
    bare = _run("--form", str(form))
    assert bare["5.3 语料标注安全"]["verdict"] == "compliant"
    assert bare["5.3 语料标注安全"]["evidence"] == "annotation-rules.pdf"
    assert bare["5.2-c 语料内容安全：个人信息"]["verdict"] == GAP
    assert bare["data-subject requests within the deadline (IM-05)"]["verdict"] == GAP
    assert "not verified" in bare["audit chain"]["detail"]

    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'hegui.db'}")
    migrate(engine)
    engine.dispose()
    monkeypatch.setenv("HEGUI_DATA_DIR", str(data))
    with_db = _run("--on", "2026-03-02")
    dsr = with_db["data-subject requests within the deadline (IM-05)"]
    assert dsr["verdict"] == "compliant" and "overdue on 2026-03-02" in dsr["detail"]
    assert with_db["audit chain"]["verdict"] == "compliant"
    assert with_db["service agreement published (IM 9)"]["verdict"] == "non-compliant"
    assert _run("--no-records")["audit chain"]["verdict"] == GAP

    r = CliRunner().invoke(app, ["assess", "--on", "March"])
    assert r.exit_code == 2 and "--on 'March' is not a date" in r.output


def test_the_audit_chain_is_checked_as_audit_verify_checks_it(tmp_path: Path) -> None:
    """With the deployment's MAC key and signed checkpoints: the detail says what was checked, and a
    truncated chain, which its hashes alone cannot show, is non-compliant against the checkpoint."""
    import secrets
    import sqlite3

    from hegui.records.audit import AuditDraft, write_batch

    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'hegui.db'}")
    migrate(engine)
    for i in range(3):
        write_batch(engine, [AuditDraft(f"r{i}", "input", "allow", "p", "0" * 64)])
    engine.dispose()
    assert CliRunner().invoke(app, ["audit", "keygen", str(tmp_path / "k.pem")]).exit_code == 0
    plain = {"HEGUI_DATA_DIR": str(data), "HEGUI_POLICY_FILE": "", "HEGUI_AUDIT_KEY": ""}
    plain |= {"HEGUI_AUDIT_SIGNING_KEY": "", "HEGUI_AUDIT_CHECKPOINT_DIR": ""}
    keyed = plain | {
        "HEGUI_AUDIT_KEY": secrets.token_hex(32),
        "HEGUI_AUDIT_SIGNING_KEY": str(tmp_path / "k.pem"),
        "HEGUI_AUDIT_CHECKPOINT_DIR": str(tmp_path / "cp"),
    }
    assert CliRunner().invoke(app, ["audit", "checkpoint"], env=keyed).exit_code == 0

    def chain(env: dict[str, str]) -> dict[str, str]:
        r = CliRunner().invoke(app, ["assess", "--json"], env=env)
        assert r.exit_code == 0, r.output
        found: dict[str, str] = next(f for f in json.loads(r.stdout) if f["item"] == "audit chain")
        return found

    checked = chain(keyed)
    assert checked["verdict"] == "compliant" and "checkpoints: 1 verified" in checked["detail"]
    assert "entries 1–3 are unauthenticated" in checked["detail"]
    assert "no checkpoints checked" in chain(plain)["detail"]
    with sqlite3.connect(data / "hegui.db") as conn:  # the newest entry deleted, the head moved back
        conn.execute("DELETE FROM audit_entries WHERE seq = 3")
        conn.execute(
            "UPDATE audit_head SET seq = 2, entry_hash = (SELECT entry_hash FROM audit_entries WHERE seq = 2),"
            " mac = (SELECT mac FROM audit_entries WHERE seq = 2)"
        )
    conn.close()
    assert chain(plain)["verdict"] == "compliant"  # hashes and links alone cannot see it
    truncated = chain(keyed)
    assert truncated["verdict"] == "non-compliant", truncated
