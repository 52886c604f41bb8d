"""The model routes served ahead of FastAPI's router (hotroutes.py) answer as FastAPI did: documented in
the OpenAPI document, errors through the app's handlers, other methods and paths left to FastAPI."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.types import Message
from tests.gateway.conftest import chat_post_scope

from hegui.gateway import hotroutes, routes

MODEL_ROUTES = (
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/images/generations",
    "/v1/responses",
    "/v1/messages",
)


def test_the_model_routes_are_still_in_the_openapi_document(make_client: Any) -> None:
    client = make_client()
    paths = client.get("/hegui/openapi.json").json()["paths"]
    for path in MODEL_ROUTES:
        assert "post" in paths[path], path
    assert "get" in paths["/v1/models"] and "get" in paths["/healthz"]
    assert client.get("/hegui/docs").status_code == 200


def test_the_model_routes_are_served_by_the_hot_path(make_client: Any) -> None:
    client = make_client()
    stack = client.app.middleware_stack
    found = []
    while stack is not None:  # the built middleware chain, outermost first
        if isinstance(stack, hotroutes.HotRoutes):
            found.append(sorted(stack.routes))
        stack = getattr(stack, "app", None)
    assert found == [sorted(MODEL_ROUTES)]


def test_an_error_of_the_gateway_is_its_openai_shaped_answer(make_client: Any) -> None:
    client = make_client()
    r = client.post("/v1/chat/completions", json={"model": "no-such-model", "messages": []})
    assert r.status_code in (400, 404) and r.json()["error"]["type"]
    r = client.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_another_method_or_path_is_fastapis_answer(make_client: Any) -> None:
    client = make_client()
    r = client.get("/v1/chat/completions")
    assert r.status_code == 405
    assert r.json() == {
        "error": {
            "message": "Method Not Allowed",
            "type": "invalid_request_error",
            "param": None,
            "code": "405",
        }
    }
    r = client.post("/v1/chat/completion", json={})
    assert r.status_code == 404 and r.json()["error"]["message"] == "Unknown URL."


def test_an_unexpected_error_is_the_500_of_the_app_and_is_logged(
    make_client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()

    def broken(*_args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(routes, "check_bounds", broken)
    sent: list[Message] = []
    body = b'{"model": "hegui-demo", "messages": [{"role": "user", "content": "hi"}]}'
    given = False

    async def receive() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    with caplog.at_level(logging.INFO), pytest.raises(RuntimeError, match="a bug"):
        # Starlette's ServerErrorMiddleware answers, then raises on to the server (which logs it)
        client.portal.call(client.app, chat_post_scope(client.headers["authorization"]), receive, send)
    assert sent[0]["status"] == 500
    assert b'"code":"internal_error"' in sent[1]["body"]
    assert "unexpected error; the request was not served" in caplog.text
