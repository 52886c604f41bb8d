"""`hegui cases …` through typer's CliRunner on a fresh data directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cases import actions, store
from hegui.cases.config import CasesPolicy
from hegui.cases.store import Submission
from hegui.cli import app
from hegui.records.db import make_engine, migrate

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HEGUI_DATA_DIR": str(tmp_path / "data"), "HEGUI_DATABASE_URL": "", "HEGUI_POLICY_FILE": ""}


def test_list_overdue_and_exports(env: dict[str, str], tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'hegui.db'}")
    migrate(engine)
    w = store.chain_writer(engine)
    old = Submission(kind="ip", description="侵权", produce_id="p1", reporter_contact="ip@example.com")
    late = store.open_case(engine, w, CasesPolicy(), old, received=datetime(2025, 9, 29, 2, tzinfo=UTC))
    fresh = store.open_case(
        engine, w, CasesPolicy(), Submission(kind="illegal", description="x", produce_id="p2")
    )
    actions.record_authority_report(
        engine, w, tenant="default", authority="网信办", reference="R1", summary="s", by="t", case_id=late.id
    )
    engine.dispose()
    r = runner.invoke(app, ["cases", "list"], env=env)
    rows = [json.loads(x) for x in r.output.splitlines()]
    assert r.exit_code == 0 and [x["id"] for x in rows] == [late.id, fresh.id]
    assert "ip@example.com" not in r.output
    r = runner.invoke(app, ["cases", "overdue"], env=env)
    assert r.exit_code == 1 and [json.loads(x)["receipt"] for x in r.stdout.splitlines()] == [late.receipt]
    assert "1 overdue case(s)" in r.stderr
    r = runner.invoke(app, ["cases", "authority-report", "1"], env=env)
    assert r.exit_code == 0 and json.loads(r.output)["report"]["reference"] == "R1"
    assert runner.invoke(app, ["cases", "authority-report", "9"], env=env).exit_code == 1
    out = tmp_path / "q.jsonl"
    r = runner.invoke(app, ["cases", "improvements", "--out", str(out)], env=env)
    assert r.exit_code == 0 and out.read_text() == ""
