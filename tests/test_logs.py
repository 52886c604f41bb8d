"""Log lines as JSON carry the request id: the formatter alone, then a line logged while the gateway
serves a request (by its upstream, in the request's own context) and the id the client was given."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from hegui.gateway import create_app
from hegui.logs import JsonFormatter, RequestIdFilter, bind_request_id, logging_config, open_request_context
from hegui.policy import parse_policy
from hegui.settings import Settings

POLICY = """
version = "logs"
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
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "好的"}, "finish_reason": "stop"}],
}


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "hegui.t", "levelno": 30, "levelname": "WARNING", "msg": msg})
    record.__dict__.update(extra)
    RequestIdFilter().filter(record)
    return record


def test_a_json_line_has_the_fields_a_collector_reads() -> None:
    line = json.loads(JsonFormatter().format(_record("上游 %s", upstream="mock")))
    assert set(line) == {"time", "level", "logger", "message", "request_id", "upstream"}
    assert (line["level"], line["logger"], line["message"], line["request_id"]) == (
        "warning",
        "hegui.t",
        "上游 %s",
        None,
    )
    assert line["time"].endswith("Z")


def test_uvicorns_access_line_gets_its_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "uvicorn.access",
            "levelno": 20,
            "levelname": "INFO",
            "msg": '%s - "%s %s HTTP/%s" %d',
            "args": ("127.0.0.1:5000", "POST", "/v1/chat/completions", "1.1", 200),
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == '127.0.0.1:5000 - "POST /v1/chat/completions HTTP/1.1" 200'
    assert (line["client"], line["method"], line["path"], line["status"]) == (
        "127.0.0.1:5000",
        "POST",
        "/v1/chat/completions",
        200,
    )


def test_the_id_is_the_one_bound_in_the_current_request_context() -> None:
    async def in_a_request() -> str | None:
        open_request_context()
        bind_request_id("chatcmpl-hg1")
        bind_request_id("chatcmpl-hg2")  # the first name stays: the exchange names its request once
        return json.loads(JsonFormatter().format(_record("x")))["request_id"]  # type: ignore[no-any-return]

    import asyncio

    assert asyncio.run(in_a_request()) == "chatcmpl-hg1"
    bind_request_id("outside")  # outside a request: nothing to name, nothing raised
    assert json.loads(JsonFormatter().format(_record("x")))["request_id"] is None


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_logging_config_is_accepted_by_dictconfig(fmt: str) -> None:
    config = logging_config("info", fmt)  # type: ignore[arg-type]
    logging.config.DictConfigurator(config)  # validates the shape without touching the process's logging
    assert config["loggers"]["httpx"]["level"] == "WARNING"
    assert logging_config("debug", fmt)["loggers"]["httpx"]["level"] == "DEBUG"  # type: ignore[arg-type]


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger's lines as JSON into a buffer, for one test."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


def test_a_line_logged_while_serving_a_request_carries_its_id(
    tmp_path: Path, json_lines: io.StringIO
) -> None:
    upstream_log = logging.getLogger("tests.upstream")

    def upstream(request: httpx.Request) -> httpx.Response:
        upstream_log.warning("upstream reached")  # runs in the request's task, as a library's line would
        return httpx.Response(200, json=ANSWER)

    app = create_app(
        Settings(data_dir=tmp_path / "data"),
        policy=parse_policy(POLICY, "t.toml"),
        transports={"mock": httpx.MockTransport(upstream)},
    )
    key, _ = app.state.hegui.keys.create(name="t")
    with TestClient(app, headers={"authorization": f"Bearer {key}"}) as client:
        ids = []
        for _ in range(2):
            r = client.post(
                "/v1/chat/completions",
                json={"model": "mock-model", "messages": [{"role": "user", "content": "你好"}]},
            )
            assert r.status_code == 200, r.text
            ids.append(r.headers["x-hegui-request-id"])
    lines = [json.loads(x) for x in json_lines.getvalue().splitlines()]
    reached = [x["request_id"] for x in lines if x["message"] == "upstream reached"]
    assert reached == ids and len(set(ids)) == 2
