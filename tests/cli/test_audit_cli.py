"""`hegui audit keygen|checkpoint|verify`: exact output and exit codes on a protected chain."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.records.audit import AuditDraft, write_batch
from hegui.records.db import make_engine, migrate

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HEGUI_DATA_DIR": str(tmp_path / "data"),
        "HEGUI_POLICY_FILE": "",
        "HEGUI_AUDIT_KEY": "",
        "HEGUI_AUDIT_SIGNING_KEY": "",
        "HEGUI_AUDIT_CHECKPOINT_DIR": "",
    }


def _entries(tmp_path: Path, n: int) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'hegui.db'}")
    migrate(engine)
    for i in range(n):
        write_batch(engine, [AuditDraft(f"r{i}", "input", "allow", "p", "0" * 64)])
    engine.dispose()


def test_keygen_writes_a_key_pair_once(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "keygen", str(tmp_path / "k.pem")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"wrote {tmp_path / 'k.pem'} (private, 0600) and {tmp_path / 'k.pem.pub'} (public); key id "
    )
    assert (
        lines[1]
        == f"set HEGUI_AUDIT_SIGNING_KEY={tmp_path / 'k.pem'}; give verifiers {tmp_path / 'k.pem.pub'}"
    )
    again = runner.invoke(app, ["audit", "keygen", str(tmp_path / "k.pem")])
    assert again.exit_code == 2 and "refusing to overwrite" in again.stderr


def test_an_old_chain_adopts_macs_and_checkpoints(tmp_path: Path, env: dict[str, str]) -> None:
    """A chain from before MACs: its entries stay unauthenticated; `audit checkpoint` signs its head."""
    _entries(tmp_path, 3)
    runner.invoke(app, ["audit", "keygen", str(tmp_path / "k.pem")])
    keyed = env | {
        "HEGUI_AUDIT_KEY": secrets.token_hex(32),
        "HEGUI_AUDIT_SIGNING_KEY": str(tmp_path / "k.pem"),
        "HEGUI_AUDIT_CHECKPOINT_DIR": str(tmp_path / "cp"),
    }
    plain = runner.invoke(app, ["audit", "verify"], env=env)
    assert plain.exit_code == 0
    assert plain.stdout.splitlines()[1:] == [
        "  warning: entries 1–3 are unauthenticated (written without HEGUI_AUDIT_KEY)",
        "  warning: no checkpoints checked (--checkpoints DIR): truncation and deletion not checked",
    ]
    made = runner.invoke(app, ["audit", "checkpoint"], env=keyed)
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("checkpoint 1: 3 entries, head ")
    assert runner.invoke(app, ["audit", "checkpoint"], env=keyed).stdout == (
        "no new checkpoint: the last one already covers entry 3\n"
    )
    out = runner.invoke(app, ["audit", "verify"], env=keyed)  # the configured directory is the default
    assert out.exit_code == 0
    assert "  checkpoints: 1 verified; the last (#1, " in out.stdout and "covers entries 1–3" in out.stdout
    strict = runner.invoke(app, ["audit", "verify", "--strict", "--json"], env=keyed)
    assert strict.exit_code == 3 and json.loads(strict.stdout)["unauthenticated"] == 3


def test_checkpoint_needs_its_settings(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["audit", "checkpoint"], env=env)
    assert result.exit_code == 2 and "HEGUI_AUDIT_CHECKPOINT_DIR" in result.stderr


def test_verify_names_a_missing_checkpoint_directory(tmp_path: Path, env: dict[str, str]) -> None:
    _entries(tmp_path, 1)
    result = runner.invoke(app, ["audit", "verify", "--checkpoints", str(tmp_path / "nowhere")], env=env)
    assert result.exit_code == 2 and "no such checkpoint directory" in result.stderr


def test_a_bad_mac_key_is_a_configuration_error(tmp_path: Path, env: dict[str, str]) -> None:
    _entries(tmp_path, 1)
    result = runner.invoke(app, ["audit", "verify"], env=env | {"HEGUI_AUDIT_KEY": "secret"})
    assert result.exit_code == 2 and "HEGUI_AUDIT_KEY" in result.stderr


def test_config_validate_checks_the_audit_settings(tmp_path: Path, env: dict[str, str]) -> None:
    unprotected = runner.invoke(app, ["config", "validate"], env=env)
    assert unprotected.exit_code == 0
    warnings = [line for line in unprotected.stderr.splitlines() if "audit" in line.lower()]
    assert [line.split(":")[0] for line in warnings] == ["warning", "warning"]
    assert all(line.startswith("warning: ") for line in unprotected.stderr.splitlines())
    assert "WITHOUT MACs" in unprotected.stderr and "no signed audit checkpoints" in unprotected.stderr
    half = runner.invoke(app, ["config", "validate"], env=env | {"HEGUI_AUDIT_CHECKPOINT_DIR": str(tmp_path)})
    assert half.exit_code == 2 and "HEGUI_AUDIT_SIGNING_KEY" in half.stderr
