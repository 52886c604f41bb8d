"""`hegui egress …` through typer's CliRunner on a fresh data directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.guard.egress import EgressPolicy, ExportedPerson
from hegui.records.db import make_engine, migrate
from hegui.records.egress import record_export
from hegui.settings import Settings

runner = CliRunner()
CONSENT = [
    "--recipient", "Example Model Inc.", "--contact", "privacy@example.com", "--purpose", "answers",
    "--method", "HTTPS API", "--data-type", "prompt text", "--data-type", "phone number",
    "--rights", "write to privacy@example.com",
]  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HEGUI_DATA_DIR": str(tmp_path / "data"), "HEGUI_DATABASE_URL": "", "HEGUI_POLICY_FILE": ""}


def test_consent_add_list_revoke(env: dict[str, str]) -> None:
    r = runner.invoke(
        app, ["egress", "consent", "add", "alice", *CONSENT, "--upstream", "openai-us"], env=env
    )
    assert r.exit_code == 0, r.output
    assert r.output.startswith("consent 1 recorded for alice (upstream openai-us) at ")
    r = runner.invoke(app, ["egress", "consent", "list", "--user", "alice"], env=env)
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert [(x["id"], x["recipient"], x["data_types"], x["revoked_at"]) for x in rows] == [
        (1, "Example Model Inc.", ["prompt text", "phone number"], None)
    ]
    r = runner.invoke(app, ["egress", "consent", "revoke", "1"], env=env)
    assert r.exit_code == 0 and r.output.startswith("consent 1 revoked at ")
    r = runner.invoke(app, ["egress", "consent", "list"], env=env)
    assert json.loads(r.output)["revoked_at"] is not None


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["egress", "consent", "revoke", "42"], 1, "error: no separate consent 42\n"),
        (
            ["egress", "consent", "add", "bob", *CONSENT[:-2], "--rights", " "],
            2,
            "error: a PIPL 39 separate consent needs rights_process\n",
        ),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    env: dict[str, str], args: list[str], code: int, message: str
) -> None:
    r = runner.invoke(app, args, env=env)
    assert (r.exit_code, r.output) == (code, message)


def test_crossborder_report_json_and_markdown(env: dict[str, str]) -> None:
    s = Settings(data_dir=Path(env["HEGUI_DATA_DIR"]))
    engine = make_engine(s.resolved_database_url())
    migrate(engine)
    persons = [ExportedPerson("end_user", "a" * 64, False), ExportedPerson("resident_id", "b" * 64, True)]
    record_export(engine, EgressPolicy(), persons, at=datetime(2025, 6, 1, tzinfo=UTC))
    engine.dispose()
    r = runner.invoke(app, ["egress", "crossborder-report", "--year", "2025", "--format", "json"], env=env)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert (data["year"], data["persons_non_sensitive"], data["persons_sensitive"]) == (2025, 1, 1)
    assert data["route"] == "standard_contract" and data["provider"] == "hegui-demo-provider"
    r = runner.invoke(app, ["egress", "crossborder-report", "--year", "2025"], env=env)
    assert r.exit_code == 0 and r.output.startswith("# Cross-border transfer report 2025\n")
    assert "**Route: standard_contract.**" in r.output
    r = runner.invoke(app, ["egress", "crossborder-report", "--year", "2024", "--format", "json"], env=env)
    assert json.loads(r.output)["route"] == "exempt"
