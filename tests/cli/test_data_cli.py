"""`hegui data …` through typer's CliRunner on a fresh data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.records.config import RecordsPolicy
from hegui.records.conversations import store_turn
from hegui.records.db import make_engine, migrate
from hegui.records.pool import admit_to_pool
from hegui.records.vault import Vault, master_key
from hegui.settings import Settings

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HEGUI_DATA_DIR": str(tmp_path / "data"), "HEGUI_DATABASE_URL": "", "HEGUI_MASTER_KEY": ""}


def _seed(env: dict[str, str]) -> None:
    s = Settings(data_dir=Path(env["HEGUI_DATA_DIR"]))
    engine = make_engine(s.resolved_database_url())
    migrate(engine)
    vault = Vault(engine, master_key(s))
    for user, prompt in (("alice", "给我讲讲长城的历史"), ("bob", "帮我写一个排序算法")):
        store_turn(
            engine,
            vault,
            tenant="default",
            user=user,
            session=None,
            request_id=user,
            role="user",
            text=prompt,
        )
        admit_to_pool(
            engine,
            RecordsPolicy(),
            tenant="default",
            user=user,
            channel="chat",
            request_id=user,
            prompt=prompt,
            answer="好的",
            input_action="allow",
            output_action="allow",
        )
    engine.dispose()


def test_export_delete_check(env: dict[str, str], tmp_path: Path) -> None:
    _seed(env)
    r = runner.invoke(app, ["data", "export", str(tmp_path / "e1")], env=env)
    assert r.exit_code == 0 and r.stdout.startswith("exported 2 records to ")
    r = runner.invoke(app, ["data", "check", str(tmp_path / "e1")], env=env)
    assert r.exit_code == 0 and "0 of 2 records must be purged" in r.stderr
    r = runner.invoke(app, ["data", "delete", "alice"], env=env)
    assert json.loads(r.stdout) == {"key_shredded": True, "turns_deleted": 1, "pool_tombstoned": 1}
    r = runner.invoke(app, ["data", "check", str(tmp_path / "e1")], env=env)
    assert r.exit_code == 1 and r.stdout.strip().endswith("\tdeleted") and "1 of 2 records" in r.stderr
    r = runner.invoke(app, ["data", "export", str(tmp_path / "e1")], env=env)
    assert r.exit_code == 2 and "already exists" in r.stderr
    r = runner.invoke(app, ["data", "check", str(tmp_path)], env=env)
    assert r.exit_code == 1 and "no manifest.json" in r.stderr


def test_dsr_and_purge(env: dict[str, str]) -> None:
    _seed(env)
    r = runner.invoke(app, ["data", "dsr", "open", "bob", "access"], env=env)
    req = json.loads(r.stdout)
    assert r.exit_code == 0 and req["status"] == "open"
    r = runner.invoke(app, ["data", "dsr", "complete", str(req["id"])], env=env)
    assert [c["text"] for c in json.loads(r.stdout)["conversations"]] == ["帮我写一个排序算法"]
    r = runner.invoke(app, ["data", "dsr", "list"], env=env)
    assert [json.loads(line)["status"] for line in r.stdout.splitlines()] == ["done"]
    assert runner.invoke(app, ["data", "dsr", "list", "--overdue"], env=env).stdout == ""
    r = runner.invoke(app, ["data", "dsr", "open", "bob", "forget"], env=env)
    assert r.exit_code == 2 and "kind must be one of" in r.stderr
    r = runner.invoke(app, ["data", "purge"], env=env)
    report = json.loads(r.stdout)
    assert r.exit_code == 0 and report["turns_removed"] == 0 and report["audit_entries_kept"] == 2
    r = runner.invoke(app, ["audit", "verify"], env=env)
    assert r.exit_code == 0 and "3 entries" in r.stdout
