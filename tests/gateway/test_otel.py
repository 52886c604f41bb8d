"""OpenTelemetry traces (the otel extra): a request through the real app becomes a server span carrying
the hegui request id; asking for traces without the packages is a ConfigError with the install hint."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from hegui.errors import ConfigError
from hegui.gateway import create_app
from hegui.gateway.otel import instrument
from hegui.policy import parse_policy
from hegui.settings import Settings

pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
pytest.importorskip("opentelemetry.instrumentation.asgi", reason="the otel extra is not installed")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

POLICY = """
version = "otel"
[[upstreams]]
name = "mock"
type = "openai"
base_url = "http://mock.invalid/v1"
models = ["mock-model"]
"""

ANSWER = {
    "id": "x",
    "object": "chat.completion",
    "created": 1,
    "model": "mock-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "好"}, "finish_reason": "stop"}],
}


def test_a_request_is_a_server_span_with_its_request_id(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(
        Settings(data_dir=tmp_path / "data"),
        policy=parse_policy(POLICY, "t.toml"),
        transports={"mock": httpx.MockTransport(lambda _r: httpx.Response(200, json=ANSWER))},
    )
    instrument(app, provider)
    key, _ = app.state.hegui.keys.create(name="t")
    with TestClient(app, headers={"authorization": f"Bearer {key}"}) as client:
        r = client.post(
            "/v1/chat/completions",
            json={"model": "mock-model", "messages": [{"role": "user", "content": "你好"}]},
        )
        assert r.status_code == 200, r.text
        assert client.get("/readyz").status_code == 200  # probes are not traced: they would drown the rest
    servers = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    assert [s.name for s in servers] == ["POST /v1/chat/completions"]
    attributes = servers[0].attributes or {}
    assert attributes["http.status_code"] == 200
    assert attributes["hegui.request_id"] == r.headers["x-hegui-request-id"]


def test_traces_without_the_packages_are_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.asgi", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'hegui\[otel\]'") as err:
        create_app(Settings(data_dir=tmp_path / "data", otel=True), policy=parse_policy(POLICY, "t.toml"))
    assert err.value.key == "HEGUI_OTEL"


def test_hegui_otel_builds_an_otlp_exporting_provider(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="no OTLP exporter installed")
    app = create_app(Settings(data_dir=tmp_path / "data", otel=True), policy=parse_policy(POLICY, "t.toml"))
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200  # not traced, so nothing is sent anywhere
    assert isinstance(app.state.otel_provider, TracerProvider)
