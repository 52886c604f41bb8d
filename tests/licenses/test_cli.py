"""`hegui licenses scan` through the real CLI: formats and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app

runner = CliRunner()


def _scan(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["licenses", "scan", *args])
    return result.exit_code, result.stdout


def test_blocked_stack_exits_3(fixtures: Path) -> None:
    code, out = _scan(
        str(fixtures / "stack"),
        "--profile",
        "saas",
        "--commercial",
        "--mau",
        "5000",
        "--format",
        "json",
        "--exclude",
        "none",
    )
    data = json.loads(out)
    assert code == 3 and data["blocked"] is True
    assert data["summary"]["blocked"] == sum(1 for f in data["findings"] if f["severity"] == "blocked") > 0


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--non-commercial", "--fail-on", "blocked"], 3),  # the card without YAML is blocked in any use
        (["--commercial", "--fail-on", "never"], 0),
    ],
)
def test_fail_on(fixtures: Path, args: list[str], code: int) -> None:
    assert _scan(str(fixtures / "stack"), "--exclude", "none", *args)[0] == code


def test_clean_tree_exits_0(fixtures: Path) -> None:
    code, out = _scan(str(fixtures / "comfyui"), "--commercial", "--format", "markdown")
    assert code == 0 and out.startswith("# License report")


def test_cyclonedx_ml_bom(fixtures: Path) -> None:
    _, out = _scan(
        str(fixtures / "stack"),
        "--commercial",
        "--format",
        "cyclonedx",
        "--exclude",
        "none",
        "--fail-on",
        "never",
    )
    bom = json.loads(out)
    assert bom["specVersion"] == "1.6"
    types = {c["name"]: c["type"] for c in bom["components"]}
    assert types["zh-chat-8b"] == "machine-learning-model" and types["nc-dialogues"] == "data"
    zh = next(c for c in bom["components"] if c["name"] == "zh-chat-8b")
    assert zh["pedigree"]["ancestors"][0]["name"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert all("unknown" not in json.dumps(c.get("licenses", [])).lower() for c in bom["components"])


def test_notice_file(fixtures: Path) -> None:
    _, out = _scan(
        str(fixtures / "stack"),
        "--profile",
        "distributed",
        "--commercial",
        "--format",
        "notice",
        "--exclude",
        "none",
        "--fail-on",
        "never",
    )
    assert "Llama 3.1 is licensed under the Llama 3.1 Community License" in out
    assert "Gemma is provided under and subject to the Gemma Terms of Use" in out
    assert "Built with Llama" in out


def test_table_and_kb() -> None:
    result = runner.invoke(app, ["licenses", "kb"])
    assert (
        result.exit_code == 0
        and "llama3.1" in result.stdout
        and "LicenseRef-scancode-qwen-2024" in result.stdout
    )


def test_bad_option_is_usage_error(fixtures: Path) -> None:
    assert _scan(str(fixtures), "--profile", "cloud")[0] == 2
