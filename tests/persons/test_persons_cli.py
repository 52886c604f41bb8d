"""`hegui persons add|list|import|authorize|revoke|export` through typer's CliRunner, on a SQLite file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.persons.model import RegistrySnapshot, Scope
from hegui.records.audit import iter_entries
from hegui.records.db import make_engine

runner = CliRunner()


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    return {"HEGUI_DATA_DIR": str(tmp_path / "data"), "HEGUI_DATABASE_URL": "", "HEGUI_POLICY_FILE": ""}


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["persons", *args], env=env)
    return result.exit_code, result.output


def test_add_import_authorize_list_revoke_export(tmp_path: Path, env: dict[str, str]) -> None:
    code, out = run(
        env, "add", "林晓雯", "--kind", "public_figure", "--alias", "小雯姐", "--misspelling", "林小雯"
    )
    assert (code, out) == (0, "linxiaowen: 林晓雯 (public_figure) registered\n")
    code, out = run(env, "add", "林晓雯", "--kind", "employee")
    assert code == 2 and "already registered" in out
    table = tmp_path / "p.csv"
    table.write_text(
        "key,name,kind,aliases\nchen,陈思远,licensed,思远\nlinxiaowen,林晓雯,public_figure,小雯姐\n"
    )
    code, out = run(env, "import", str(table))
    # 林晓雯 from the table has no misspelling: it is updated to what the table says.
    assert (code, out) == (0, "1 added · 1 updated · 0 unchanged\n")
    evidence = tmp_path / "contract.pdf"
    evidence.write_bytes(b"%PDF fictional")
    code, out = run(
        env,
        "authorize",
        "chen",
        "--scope",
        "voice",
        "--tenant",
        "acme",
        "--purpose",
        "有声书",
        "--grantor",
        "陈思远本人",
        "--evidence",
        str(evidence),
        "--expires",
        "2099-12-31",
    )
    assert code == 0, out
    match = re.match(
        r"authorization ([0-9a-f]{32}): chen · voice · tenant acme \(evidence sha256 [0-9a-f]{12}…\)", out
    )
    assert match, out
    auth_id = match.group(1)
    code, out = run(env, "list")
    assert code == 0
    assert "chen  陈思远  licensed  (思远, chensiyuan)" in out
    assert f"    {auth_id}  acme  voice  active  until 2099-12-31  有声书" in out
    assert out.endswith("2 person(s) · 1 authorization(s)\n")
    code, out = run(env, "revoke", auth_id, "--by", "ops", "--reason", "合同终止")
    assert (code, out) == (0, f"authorization {auth_id} revoked (chen · voice · tenant acme)\n")
    code, out = run(env, "revoke", auth_id, "--by", "ops", "--reason", "again")
    assert code == 2 and "already revoked" in out
    snap_file = tmp_path / "persons.json"
    code, out = run(env, "export", "--out", str(snap_file))
    assert code == 0 and out.endswith(f"2 person(s) · 1 authorization(s) → {snap_file}\n")
    snap = RegistrySnapshot.from_json(json.loads(snap_file.read_text(encoding="utf-8")))
    (a,) = snap.authorizations
    assert (a.person, a.scope, a.revoked_at is not None) == ("chen", Scope.VOICE, True)
    # Every change is in the audit chain: two registrations, the authorization and its revocation.
    eng = make_engine(f"sqlite:///{Path(env['HEGUI_DATA_DIR']) / 'hegui.db'}")
    try:
        entries = [e for e in iter_entries(eng) if e.stage == "persons"]
    finally:
        eng.dispose()
    assert [e.action for e in entries] == ["register", "register", "authorize", "revoke"]
    assert json.loads(entries[1].detail)["persons"] == ["chen", "linxiaowen"]
    assert json.loads(entries[3].detail)["by"].startswith("ops (cli:")


def test_remove_takes_the_person_out_and_is_audited(env: dict[str, str]) -> None:
    assert run(env, "add", "林晓雯", "--kind", "public_figure")[0] == 0
    code, out = run(env, "remove", "linxiaowen", "--by", "ops", "--reason", "本人要求删除")
    assert (code, out) == (0, "linxiaowen: 林晓雯 removed; 0 authorization(s) revoked\n")
    code, out = run(env, "list")
    assert code == 0 and "林晓雯" not in out
    code, out = run(env, "remove", "linxiaowen", "--by", "ops", "--reason", "again")
    assert code == 1 and "no person 'linxiaowen'" in out  # not found: exit 1, as for other records
    eng = make_engine(f"sqlite:///{Path(env['HEGUI_DATA_DIR']) / 'hegui.db'}")
    try:
        entries = [e for e in iter_entries(eng) if e.stage == "persons"]
    finally:
        eng.dispose()
    assert [e.action for e in entries] == ["register", "remove"]
    detail = json.loads(entries[1].detail)
    assert detail["person"] == "linxiaowen" and detail["reason"] == "本人要求删除"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "林晓雯", "--kind", "star"], "--kind: unknown kind 'star'"),
        (
            [
                "authorize",
                "nobody",
                "--scope",
                "voice",
                "--tenant",
                "t",
                "--purpose",
                "p",
                "--grantor",
                "g",
                "--evidence",
                "e",
            ],
            "no registered person 'nobody'",
        ),
        (
            [
                "authorize",
                "x",
                "--scope",
                "face",
                "--tenant",
                "t",
                "--purpose",
                "p",
                "--grantor",
                "g",
                "--evidence",
                "e",
            ],
            "--scope must be one of name, likeness, voice",
        ),
        (
            [
                "authorize",
                "x",
                "--scope",
                "voice",
                "--tenant",
                "t",
                "--purpose",
                "p",
                "--grantor",
                "g",
                "--evidence",
                "e",
                "--expires",
                "soon",
            ],
            "--expires takes an ISO date",
        ),
        (["revoke", "nope", "--by", "a", "--reason", "b"], "no authorization 'nope'"),
    ],
)
def test_bad_input_is_one_line_exit_2(env: dict[str, str], args: list[str], message: str) -> None:
    code, out = run(env, *args)
    expected = 1 if message.startswith("no ") else 2  # not found: 1; bad input: 2
    assert code == expected and message in out and out.count("\n") == 1, out
