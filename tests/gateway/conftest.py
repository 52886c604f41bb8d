"""The gateway in-process (Starlette's TestClient), on a fresh SQLite database per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from hegui.gateway import create_app
from hegui.policy import parse_policy
from hegui.settings import Settings

BASE_POLICY = """
version = "test"
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]
[[upstreams]]
name = "mock"
type = "openai"
base_url = "http://mock.invalid/v1"
models = ["mock-model"]
read_timeout = 1.0
total_timeout = 2.0
[[checks]]
name = "demo-denylist"
type = "denylist"
terms = ["演示违禁词", "hegui-forbidden-demo"]
[[checks]]
name = "mask-list"
type = "denylist"
action = "mask"
category = "A.4f"
terms = ["13800138000"]
[sanctions]
incident_minutes = 0  # every refused prompt is an incident: the tests send their bursts within seconds
"""

MakeClient = Callable[..., TestClient]


@pytest.fixture
def base_policy() -> str:
    return BASE_POLICY


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(
        policy: str = BASE_POLICY,
        mock: httpx.AsyncBaseTransport | None = None,
        **settings: object,
    ) -> TestClient:
        s = Settings(data_dir=tmp_path / f"data{len(clients)}", **settings)  # type: ignore[arg-type]
        transports = {"mock": mock} if mock else None
        app = create_app(s, policy=parse_policy(policy, "test.toml"), transports=transports)
        key, _ = app.state.hegui.keys.create(name="test")
        client = TestClient(app, headers={"authorization": f"Bearer {key}"})
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def chat_post_scope(authorization: str) -> dict[str, Any]:
    """The ASGI scope of a POST to /v1/chat/completions, for tests that drive the app's receive and send
    themselves (a client that leaves mid-body or mid-stream)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "headers": [
            (b"authorization", authorization.encode()),
            (b"content-type", b"application/json"),
            (b"host", b"t"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
