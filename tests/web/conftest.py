"""The gateway in-process with the public pages and the console, on a fresh SQLite database."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hegui.gateway import create_app
from hegui.policy import parse_policy
from hegui.settings import Settings

POLICY = """
version = "test"
[provider]
name = "example-ai"
filing_number = "网信算备110000000000001号"
filing_url = "https://beian.example/110000000000001"
complaint_contact = "complaints@example.com"
[labels]
producer = "001191110102MACQD9K64010000"  # a 27-character provider code (as in tests/label), so labels pass LBL-07
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]
[cases]
report_rate_per_hour = {rate}
evidence_max_bytes = 2048
evidence_max_files = 2
"""

MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(rate: int = 100, extra: str = "") -> TestClient:
        s = Settings(data_dir=tmp_path / f"data{len(clients)}")  # type: ignore[call-arg]
        app = create_app(s, policy=parse_policy(POLICY.replace("{rate}", str(rate)) + extra, "test.toml"))
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def login(client: TestClient, role: str = "admin") -> str:
    """Log in with a new key of ``role``; returns the key."""
    key, _ = client.app.state.hegui.keys.create(name=f"staff-{role}", role=role)  # type: ignore[attr-defined]
    page = client.get("/console/login")
    r = client.post("/console/login", data={"key": key, "csrf": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/console", r.text
    return str(key)
