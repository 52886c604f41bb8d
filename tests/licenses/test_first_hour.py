"""What a first `hegui licenses scan` must get right (issue 12, point 4): a missing path is bad input,
a card names its model, one ceiling is one breach, and an assumed non-commercial use is said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.licenses.report import NOT_COMMERCIAL_NOTE
from hegui.licenses.scan_cards import card_name

runner = CliRunner()


def test_a_path_that_does_not_exist_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = runner.invoke(app, ["licenses", "scan", str(missing)])
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"error: {missing}: no such file or folder\n",
    )


def _json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["licenses", "scan", *args, "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_one_threshold_breach_is_reported_once_per_license(fixtures: Path) -> None:
    data = _json(str(fixtures / "stack"), "--commercial", "--mau", "800000000")
    findings = data["findings"]
    assert isinstance(findings, list)
    breaches = sorted((f["component"], f["license"]) for f in findings if f["rule"] == "user-threshold")
    assert breaches == [
        ("model:DeepSeek-R1-Distill-Llama-8B", "llama3.1"),
        ("model:llama-qwen-merge", "llama3.1"),
        ("model:llama-qwen-merge", "qwen"),
        ("model:zh-chat-8b", "llama3.1"),
    ]


def test_the_assumed_non_commercial_use_is_said(fixtures: Path) -> None:
    assert _json(str(fixtures / "stack"))["notes"] == [NOT_COMMERCIAL_NOTE]
    assert _json(str(fixtures / "stack"), "--non-commercial")["notes"] == []
    assert _json(str(fixtures / "stack"), "--commercial")["notes"] == []
    table = runner.invoke(app, ["licenses", "scan", str(fixtures / "stack"), "--fail-on", "never"])
    assert "note: --commercial not given: non-commercial use assumed" in table.stdout


def test_a_card_names_its_component(tmp_path: Path) -> None:
    folder = tmp_path / "snapshot-3f2a9c"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / "README.md").write_text(
        "---\nlicense: apache-2.0\n---\n# Acme-Chat-7B: our assistant\n\nText.\n", encoding="utf-8"
    )
    data = _json(str(tmp_path))
    components = data["components"]
    assert isinstance(components, list)
    assert [c["ref"] for c in components if c["kind"] == "model"] == ["model:Acme-Chat-7B"]


@pytest.mark.parametrize(
    ("data", "body", "expected"),
    [
        ({"model_name": "Named"}, "# Title\n", "Named"),
        ({"model-index": [{"name": "Indexed"}]}, "# Title\n", "Indexed"),
        ({"pretty_name": "Pretty"}, "", "Pretty"),
        ({}, "intro\n# zh-chat-8b: a Llama fine-tune\n", "zh-chat-8b"),
        ({}, "# A model card without YAML or a name\n", "folder"),
        ({}, "no heading\n", "folder"),
        ({"base_model": "meta-llama/Llama-3.1-8B"}, "# Llama-3.1-8B\n", "folder"),
    ],
)
def test_card_name(data: dict[str, object], body: str, expected: str) -> None:
    assert card_name(data, body, "folder") == expected
