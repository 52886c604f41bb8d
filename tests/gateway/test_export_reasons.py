"""`hegui data export` says why turns are not in the export, counted per reason (issue 12.8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hegui.cli import app
from hegui.records.consent import record_consent

runner = CliRunner()


def chat(client: Any, content: str, user: str | None) -> None:
    body: dict[str, Any] = {"model": "hegui-demo", "messages": [{"role": "user", "content": content}]}
    if user:
        body["user"] = user
    assert client.post("/v1/chat/completions", json=body).status_code == 200


def test_export_counts_what_was_left_out_and_why(make_client: Any, tmp_path: Path) -> None:
    client = make_client()
    for i in range(3):  # the first-start key is an api-channel key: opt-in, no consent yet
        chat(client, f"第{i}个问题：今天天气如何", "alice")
    chat(client, "没有用户的问题", None)
    record_consent(client.app.state.hegui.engine, "default", "bob", True, channel="api", source="test")
    chat(client, "这是演示违禁词", "bob")
    chat(client, "鲍勃的一个正常问题，关于天气", "bob")
    env = {"HEGUI_DATA_DIR": str(tmp_path / "data0"), "HEGUI_POLICY_FILE": ""}
    out = tmp_path / "export"
    result = runner.invoke(app, ["data", "export", str(out)], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"exported 1 records to {out} (export ")
    assert lines[1:] == [
        "  left out: 3 no_consent:default:api: API-channel users are opt-in (records.consent_default_api = "
        "false) and no training consent was recorded for them",
        "  left out: 1 no_user: the request carried no end-user id (`user`)",
        "  left out: 1 refused_or_masked: the guard refused or masked the input or the answer",
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["left_out"] == {"no_consent:default:api": 3, "no_user": 1, "refused_or_masked": 1}
