"""The `resident_id_checksum` switch of a `pii` check (issue 12.11): validated by default, ID-shaped
numbers masked regardless when it is false. Through `hegui check` with a policy file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.guard.pii.validators import resident_id_valid

runner = CliRunner()
VALID = "11010519491231002X"
MISTYPED = "110105194912310021"  # the same ID with a wrong check character


def _policy(tmp_path: Path, switch: str) -> Path:
    path = tmp_path / "hegui.toml"
    path.write_text(
        '[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["hegui-demo"]\n'
        f'[[checks]]\nname = "pii"\ntype = "pii"\nentities = ["resident_id"]\n{switch}\n',
        encoding="utf-8",
    )
    return path


def _action(tmp_path: Path, switch: str, text: str) -> str:
    result = runner.invoke(app, ["check", "--json", "--policy", str(_policy(tmp_path, switch)), text])
    assert result.exit_code in (0, 1), result.output
    action: str = json.loads(result.stdout)["action"]
    return action


def test_the_fixtures_are_what_they_say() -> None:
    assert resident_id_valid(VALID) and not resident_id_valid(MISTYPED)


@pytest.mark.parametrize(
    ("switch", "text", "action"),
    [
        ("", f"我的身份证号是{VALID}", "mask"),
        ("", f"我的身份证号是{MISTYPED}", "allow"),
        ("resident_id_checksum = true", f"我的身份证号是{MISTYPED}", "allow"),
        ("resident_id_checksum = false", f"我的身份证号是{MISTYPED}", "mask"),
        ("resident_id_checksum = false", f"我的身份证号是{VALID}", "mask"),
        ("resident_id_checksum = false", "订单号 1101051949123100211", "allow"),  # 19 digits: not ID-shaped
    ],
)
def test_resident_id_checksum_switch(tmp_path: Path, switch: str, text: str, action: str) -> None:
    assert _action(tmp_path, switch, text) == action
