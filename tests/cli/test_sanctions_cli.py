"""`hegui data sanctions|lift` through typer's CliRunner on a fresh data directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.guard.sanctions import SanctionLadder, Violation
from hegui.guard.types import Action
from hegui.records.audit import iter_entries
from hegui.records.db import make_engine, migrate
from hegui.records.sanctions_store import DbSanctionStore
from hegui.settings import Settings

runner = CliRunner()
POLICY = '[[upstreams]]\nname = "d"\ntype = "demo"\nmodels = ["m"]\n'


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    policy = tmp_path / "hegui.toml"
    policy.write_text(POLICY, encoding="utf-8")
    return {
        "HEGUI_DATA_DIR": str(tmp_path / "data"),
        "HEGUI_DATABASE_URL": "",
        "HEGUI_MASTER_KEY": "",
        "HEGUI_POLICY_FILE": str(policy),
    }


def _suspend(env: dict[str, str], user: str = "alice") -> None:
    engine = make_engine(Settings(data_dir=Path(env["HEGUI_DATA_DIR"])).resolved_database_url())
    migrate(engine)
    store, ladder = DbSanctionStore(engine), SanctionLadder()
    ladder.record(store, Violation("default", user, datetime.now(UTC), Action.BLOCK_USER, ("A.1a",), "r1"))
    engine.dispose()


def test_show_lift_and_show_again(env: dict[str, str]) -> None:
    _suspend(env)
    r = runner.invoke(app, ["data", "sanctions", "alice"], env=env)
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout)
    assert (record["level"], record["may_use"], record["violations"]) == ("suspend", False, 1)
    assert [s["reason"] for s in record["steps"]] == ["a finding asked to block the user"]
    r = runner.invoke(
        app, ["data", "lift", "alice", "--to", "none", "--by", "staff:li", "--reason", "申诉成立"], env=env
    )
    assert r.exit_code == 0, r.output
    step = json.loads(r.stdout)
    assert (step["previous"], step["level"], step["decided_by"], step["reason"]) == (
        "suspend",
        "none",
        "staff:li",
        "申诉成立",
    )
    record = json.loads(runner.invoke(app, ["data", "sanctions", "alice"], env=env).stdout)
    assert (record["level"], record["may_use"], len(record["steps"])) == ("none", True, 2)
    engine = make_engine(Settings(data_dir=Path(env["HEGUI_DATA_DIR"])).resolved_database_url())
    [entry] = [e for e in iter_entries(engine) if e.stage == "sanction"]
    assert (entry.action, entry.end_user, json.loads(entry.detail)["decided_by"]) == (
        "none",
        "alice",
        "staff:li",
    )
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "pardoned", "--by", "staff", "--reason", "r"], "level must be one of"),
        (["--to", "none", "--by", " ", "--reason", "r"], "needs 'by'"),
        (["--to", "none", "--by", "staff", "--reason", ""], "needs 'reason'"),
    ],
)
def test_invalid_lifts_exit_2_and_record_nothing(env: dict[str, str], args: list[str], message: str) -> None:
    _suspend(env)
    r = runner.invoke(app, ["data", "lift", "alice", *args], env=env)
    assert r.exit_code == 2 and message in r.stderr
    record = json.loads(runner.invoke(app, ["data", "sanctions", "alice"], env=env).stdout)
    assert (record["level"], len(record["steps"])) == ("suspend", 1)


def test_tenants_are_separate(env: dict[str, str]) -> None:
    _suspend(env)
    r = runner.invoke(app, ["data", "sanctions", "alice", "--tenant", "other"], env=env)
    assert (json.loads(r.stdout)["level"], json.loads(r.stdout)["steps"]) == ("none", [])


def test_memory_sanction_store_is_refused(env: dict[str, str]) -> None:
    Path(env["HEGUI_POLICY_FILE"]).write_text(
        POLICY + '[records]\nsanction_store = "memory"\n', encoding="utf-8"
    )
    r = runner.invoke(app, ["data", "sanctions", "alice"], env=env)
    assert r.exit_code == 2 and "records.sanction_store" in r.stderr and "/hegui/api/users/" in r.stderr
