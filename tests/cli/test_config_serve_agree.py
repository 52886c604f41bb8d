"""`hegui config validate` and `hegui serve` agree (issue 12, point 1): the same checks, before the
database is touched; an upstream without `api_key_env` is normal (a local vLLM or Ollama)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.gateway.preflight import preflight, upstream_api_key
from hegui.policy import bundled_policy_text, parse_policy

runner = CliRunner()
HEGUI = Path(sys.executable).parent / "hegui"

UPSTREAM = """
[[upstreams]]
name = "local-vllm"
type = "openai"
base_url = "http://127.0.0.1:9/v1"
{key_line}
models = ["qwen2.5-7b-instruct"]
"""


def _policy(tmp_path: Path, key_line: str) -> Path:
    path = tmp_path / "hegui.toml"
    path.write_text(bundled_policy_text() + UPSTREAM.format(key_line=key_line), encoding="utf-8")
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEGUI_") and k != "HEGUI_TEST_KEY"}
    return env | {"HEGUI_DATA_DIR": str(tmp_path / "data"), "HEGUI_FIRST_KEY": "false"}


def test_a_missing_key_variable_fails_validate_and_serve_alike_before_the_database(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'api_key_env = "HEGUI_TEST_KEY"')
    expected = (
        f"error: file {policy}, key 'upstreams.local-vllm.api_key_env': environment variable "
        "HEGUI_TEST_KEY is not set (set it, or remove api_key_env if the server needs no key)\n"
    )
    env = _env(tmp_path)
    validate = subprocess.run(
        [str(HEGUI), "config", "validate", str(policy)], env=env, capture_output=True, text=True, timeout=60
    )
    assert (validate.returncode, validate.stdout, validate.stderr) == (2, "", expected)
    serve = subprocess.run(
        [str(HEGUI), "serve", "--policy", str(policy), "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (serve.returncode, serve.stderr) == (2, expected)
    assert not (tmp_path / "data").exists(), "serve touched the data directory before checking the policy"


def test_an_upstream_without_a_key_is_valid_and_said_so(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "")
    result = runner.invoke(app, ["config", "validate", str(policy)], env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    assert (
        "  upstream 'local-vllm': http://127.0.0.1:9/v1, no API key (api_key_env not set)\n" in result.stdout
    )
    assert "  upstream 'demo': built-in demo (not a language model)\n" in result.stdout


def test_a_set_key_is_named_by_its_variable(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'api_key_env = "HEGUI_TEST_KEY"')
    result = runner.invoke(
        app, ["config", "validate", str(policy)], env=_env(tmp_path) | {"HEGUI_TEST_KEY": "sk-x"}
    )
    assert result.exit_code == 0, result.output
    assert "upstream 'local-vllm': http://127.0.0.1:9/v1, API key from HEGUI_TEST_KEY" in result.stdout


@pytest.mark.parametrize(
    ("key_line", "environ", "expected"),
    [
        ("", {}, None),
        ('api_key_env = "K"', {"K": "secret"}, "secret"),
    ],
)
def test_upstream_api_key(key_line: str, environ: dict[str, str], expected: str | None) -> None:
    policy = parse_policy(bundled_policy_text() + UPSTREAM.format(key_line=key_line), "p.toml")
    assert upstream_api_key(policy.upstreams[-1], environ) == expected
    assert preflight(policy, environ).policy is policy


def test_a_keyless_upstream_is_sent_no_authorization_header(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from hegui.gateway import create_app
    from hegui.settings import Settings

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "qwen2.5-7b-instruct",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "好"}, "finish_reason": "stop"}
            ],
        }
        return httpx.Response(200, json=body)

    policy = parse_policy(bundled_policy_text() + UPSTREAM.format(key_line=""), "p.toml")
    gateway = create_app(
        Settings(data_dir=tmp_path / "d"),
        policy=policy,
        transports={"local-vllm": httpx.MockTransport(handler)},
    )
    key, _ = gateway.state.hegui.keys.create(name="t")
    with TestClient(gateway, headers={"authorization": f"Bearer {key}"}) as client:
        response = client.post(
            "/v1/chat/completions",
            json={"model": "qwen2.5-7b-instruct", "messages": [{"role": "user", "content": "你好"}]},
        )
    assert response.status_code == 200, response.text
    assert len(seen) == 1 and "authorization" not in seen[0].headers


def test_an_unreadable_signing_key_fails_validate_and_serve_alike(tmp_path: Path) -> None:
    policy = tmp_path / "hegui.toml"
    policy.write_text(
        bundled_policy_text() + '\n[labels]\nsign_reserved_code = true\nsm2_key_file = "missing.key"\n',
        encoding="utf-8",
    )
    env = _env(tmp_path)
    validate = subprocess.run(
        [str(HEGUI), "config", "validate", str(policy)], env=env, capture_output=True, text=True, timeout=60
    )
    serve = subprocess.run(
        [str(HEGUI), "serve", "--policy", str(policy), "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert validate.returncode == serve.returncode == 2
    assert validate.stderr == serve.stderr
    assert validate.stderr.startswith(
        f"error: file {policy}, key 'labels.sm2_key_file': cannot read the SM2 key"
    )
    assert not (tmp_path / "data").exists()
