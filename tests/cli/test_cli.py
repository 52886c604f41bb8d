"""The command line: exact output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from hegui import __version__
from hegui.cli import app
from hegui.records.audit import AuditDraft, AuditLog
from hegui.records.db import make_engine, migrate
from hegui.records.tables import AuditEntryRow

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HEGUI_DATA_DIR": str(tmp_path / "data"), "HEGUI_POLICY_FILE": ""}


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"hegui {__version__}\n")


@pytest.mark.parametrize(
    ("args", "stdin", "code", "action"),
    [
        (["check", "--json", "你好"], None, 0, "allow"),
        (["check", "--json", "这是演示违禁词"], None, 1, "refuse"),
        (["check", "--json", "-"], "stdin里的hegui-forbidden-demo", 1, "refuse"),
        (["check", "--json", "--stage", "output", "-"], "干净的输出", 0, "allow"),
    ],
)
def test_check_json(args: list[str], stdin: str | None, code: int, action: str) -> None:
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == code, result.output
    out = json.loads(result.stdout)
    assert out["action"] == action
    for f in out["findings"]:
        assert set(f) >= {"check", "category", "start", "end", "evidence", "action"}


def test_check_json_spans_are_in_the_original_text() -> None:
    result = runner.invoke(app, ["check", "--json", "ab演示违禁词cd"])
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["start"], finding["end"], finding["evidence"]) == (2, 7, "演示违禁词")


def test_check_plain() -> None:
    result = runner.invoke(app, ["check", "演示违禁词"])
    assert result.exit_code == 1
    assert result.stdout == "action: refuse\n  demo-denylist A.1h [0:5] '演示违禁词' -> refuse\n"


def test_check_invalid_utf8_on_stdin() -> None:
    result = runner.invoke(app, ["check", "-"], input=b"\xff\xfe")
    assert result.exit_code == 2
    assert "not valid UTF-8" in result.stderr


BAD_POLICIES = [
    ("syntax", "version = \n", "not valid TOML"),
    ("no-upstreams", 'version = "x"\n', "key 'upstreams'"),
    (
        "url",
        '[[upstreams]]\nname="a"\nmodels=["m"]\n',
        "key 'upstreams[0]': an upstream of type 'openai' needs base_url",
    ),
    (
        "typo",
        '[[upstreams]]\nname="a"\ntype="demo"\nmodels=["m"]\n[gateway]\nrefusal="x"\n',
        "key 'gateway.refusal'",
    ),
    (
        "category",
        '[[upstreams]]\nname="a"\ntype="demo"\nmodels=["m"]\n[[checks]]\nname="c"\ntype="denylist"\ncategory="Z9"\nterms=["x"]\n',
        "key 'checks[0]'",
    ),
    (
        "check-type",
        '[[upstreams]]\nname="a"\ntype="demo"\nmodels=["m"]\n[[checks]]\nname="c"\ntype="nope"\n',
        "key 'checks[0].type'",
    ),
    (
        "check-option",
        '[[upstreams]]\nname="a"\ntype="demo"\nmodels=["m"]\n[[checks]]\nname="c"\ntype="denylist"\nterm=["x"]\n',
        "key 'checks[0].term'",
    ),
    (
        "dup-model",
        '[[upstreams]]\nname="a"\ntype="demo"\nmodels=["m"]\n[[upstreams]]\nname="b"\ntype="demo"\nmodels=["m"]\n',
        "already served",
    ),
    (
        "retention",
        '[[upstreams]]\nname="a"\ntype="demo"\nmodels=["m"]\n[retention]\nnetwork_log_days=30\n',
        "key 'retention.network_log_days'",
    ),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD_POLICIES], ids=[b[0] for b in BAD_POLICIES])
def test_config_validate_names_the_file_and_key(
    tmp_path: Path, env: dict[str, str], text: str, message: str
) -> None:
    policy = tmp_path / "hegui.toml"
    policy.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["config", "validate", str(policy)], env=env)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: file {policy}")
    assert message in result.stderr


def test_config_validate_missing_file(tmp_path: Path, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["config", "validate", str(tmp_path / "nope.toml")], env=env)
    assert result.exit_code == 2
    assert "file not found" in result.stderr


def test_config_validate_bundled_and_default_round_trip(tmp_path: Path, env: dict[str, str]) -> None:
    ok = runner.invoke(app, ["config", "validate"], env=env)
    assert ok.exit_code == 0 and ok.stdout.startswith("policy OK: <bundled>")
    policy = tmp_path / "copy.toml"
    policy.write_text(runner.invoke(app, ["config", "default"]).stdout, encoding="utf-8")
    assert runner.invoke(app, ["config", "validate", str(policy)], env=env).exit_code == 0


def test_bad_environment_names_the_variable(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["config", "validate"], env=env | {"HEGUI_PORT": "eighty"})
    assert result.exit_code == 2
    assert "HEGUI_PORT" in result.stderr


def test_keys_lifecycle(env: dict[str, str]) -> None:
    created = runner.invoke(app, ["keys", "create", "--name", "ci", "--role", "admin"], env=env)
    assert created.exit_code == 0
    key = created.stdout.strip()
    assert key.startswith("hg-")
    listed = runner.invoke(app, ["keys", "list"], env=env).stdout
    assert key[:11] in listed and "admin" in listed and key not in listed
    assert runner.invoke(app, ["keys", "revoke", key[:11]], env=env).exit_code == 0
    assert runner.invoke(app, ["keys", "list"], env=env).stdout == ""
    bad = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "root"], env=env)
    assert bad.exit_code == 2 and "role must be one of" in bad.stderr


def test_audit_verify_detects_tampering(tmp_path: Path, env: dict[str, str]) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'hegui.db'}")
    migrate(engine)
    log = AuditLog(engine)
    log.start()
    for i in range(3):
        log.append_sync(AuditDraft(f"r{i}", "input", "allow", "p", "0" * 64))
    log.close()
    ok = runner.invoke(app, ["audit", "verify"], env=env)
    assert (ok.exit_code, ok.stdout.split(",")[0]) == (0, "audit chain OK: 3 entries")
    assert json.loads(runner.invoke(app, ["audit", "verify", "--json"], env=env).stdout)["entries"] == 3
    shown = runner.invoke(app, ["audit", "show", "r1"], env=env)
    assert json.loads(shown.stdout)["seq"] == 2
    assert runner.invoke(app, ["audit", "show", "nope"], env=env).exit_code == 1
    with engine.begin() as conn:
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 2).values(action="refuse"))
    broken = runner.invoke(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1
    assert broken.stderr == "error: entry-changed: entry 2: content does not match its entry_hash\n"
    engine.dispose()
