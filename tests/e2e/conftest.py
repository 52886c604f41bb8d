"""A started gateway (uvicorn on loopback) with the demo upstream and a scriptable second upstream."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import create_key, fake_upstream, free_port, hegui_env, hegui_server

POLICY = """
version = "e2e"
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]

[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{fake_port}/v1"
models = ["fake-model"]
read_timeout = 2.0
total_timeout = 3.0
connect_timeout = 1.0
max_retries = 1
breaker_failures = 1000

[[upstreams]]
name = "down"
type = "openai"
base_url = "http://127.0.0.1:{down_port}/v1"
models = ["down-model"]
connect_timeout = 1.0
max_retries = 2
breaker_failures = 1000

[[checks]]
name = "demo-denylist"
type = "denylist"
terms = ["演示违禁词", "hegui-forbidden-demo"]
"""


@dataclass(frozen=True)
class Gateway:
    base_url: str
    key: str
    env: dict[str, str]
    data_dir: Path
    upstream_log: Path


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("e2e")
    fake_port, down_port, port = free_port(), free_port(), free_port()
    policy = root / "hegui.toml"
    policy.write_text(POLICY.format(fake_port=fake_port, down_port=down_port), encoding="utf-8")
    env = hegui_env(root / "data", policy)
    key = create_key(env)
    upstream_log = root / "upstream.jsonl"
    with fake_upstream(fake_port, upstream_log), hegui_server(port, env, root / "hegui.log"):
        yield Gateway(f"http://127.0.0.1:{port}/v1", key, env, root / "data", upstream_log)
