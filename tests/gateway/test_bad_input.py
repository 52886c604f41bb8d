"""Bad input gets a 4xx with an OpenAI-shaped error body, and leaves no record behind."""

from __future__ import annotations

from typing import Any

import pytest

from hegui.records.audit import iter_entries, verify_chain

OK_CHAT = {"model": "hegui-demo", "messages": [{"role": "user", "content": "hi"}]}

CASES: list[tuple[str, str, dict[str, Any], int, str, str | None]] = [
    # (id, path, request kwargs, status, code, param)
    (
        "malformed-json",
        "/v1/chat/completions",
        {"content": b'{"model": "hegui-demo", "messages": ['},
        400,
        "invalid_request",
        None,
    ),
    ("not-an-object", "/v1/chat/completions", {"content": b"[1, 2]"}, 400, "invalid_request", None),
    ("empty-body", "/v1/chat/completions", {"content": b""}, 400, "invalid_request", None),
    (
        "invalid-utf8",
        "/v1/chat/completions",
        {"content": b'{"model": "hegui-demo", "messages": [{"role": "user", "content": "\xff\xfe"}]}'},
        400,
        "invalid_request",
        None,
    ),
    (
        "missing-messages",
        "/v1/chat/completions",
        {"json": {"model": "hegui-demo"}},
        400,
        "invalid_request",
        "messages",
    ),
    (
        "empty-messages",
        "/v1/chat/completions",
        {"json": {"model": "hegui-demo", "messages": []}},
        400,
        "invalid_request",
        "messages",
    ),
    (
        "messages-not-list",
        "/v1/chat/completions",
        {"json": {"model": "hegui-demo", "messages": "hi"}},
        400,
        "invalid_request",
        "messages",
    ),
    (
        "model-not-string",
        "/v1/chat/completions",
        {"json": {"model": 7, "messages": OK_CHAT["messages"]}},
        400,
        "invalid_request",
        "model",
    ),
    (
        "stream-not-bool",
        "/v1/chat/completions",
        {"json": OK_CHAT | {"stream": "yes"}},
        400,
        "invalid_request",
        "stream",
    ),
    (
        "bad-role",
        "/v1/chat/completions",
        {"json": {"model": "hegui-demo", "messages": [{"role": "robot", "content": "x"}]}},
        400,
        "invalid_request",
        "messages",
    ),
    (
        "image-part",
        "/v1/chat/completions",
        {
            "json": {
                "model": "hegui-demo",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            }
        },
        400,
        "invalid_request",
        "messages",
    ),
    (
        "unknown-model",
        "/v1/chat/completions",
        {"json": OK_CHAT | {"model": "gpt-nope"}},
        404,
        "model_not_found",
        "model",
    ),
    (
        "too-large",
        "/v1/chat/completions",
        {"json": {"model": "hegui-demo", "messages": [{"role": "user", "content": "x" * 5000}]}},
        413,
        "request_too_large",
        None,
    ),
    (
        "token-prompt",
        "/v1/completions",
        {"json": {"model": "hegui-demo", "prompt": [1, 2, 3]}},
        400,
        "invalid_request",
        "prompt",
    ),
    (
        "missing-prompt",
        "/v1/completions",
        {"json": {"model": "hegui-demo"}},
        400,
        "invalid_request",
        "prompt",
    ),
    (
        "embedding-tokens",
        "/v1/embeddings",
        {"json": {"model": "hegui-demo", "input": [[1, 2]]}},
        400,
        "invalid_request",
        "input",
    ),
]


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "code", "param"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_request_is_4xx_with_openai_error_and_no_record(
    make_client: Any, path: str, kwargs: dict[str, Any], status: int, code: str, param: str | None
) -> None:
    client = make_client(max_body_bytes=4096)
    response = client.post(path, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert error["param"] == param
    assert error["message"]
    engine = client.app.state.hegui.engine  # type: ignore[attr-defined]
    assert list(iter_entries(engine)) == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"authorization": "Bearer hg-wrong"}, 401),
        ({"authorization": "Basic abc"}, 401),
        ({"authorization": "Bearer "}, 401),
    ],
)
def test_missing_or_wrong_key_is_401(make_client: Any, headers: dict[str, str], status: int) -> None:
    client = make_client()
    client.headers.pop("authorization")
    response = client.post("/v1/chat/completions", json=OK_CHAT, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["type"] == "authentication_error"
    assert list(iter_entries(client.app.state.hegui.engine)) == []  # type: ignore[attr-defined]


def test_revoked_key_is_401(make_client: Any) -> None:
    client = make_client()
    state = client.app.state.hegui  # type: ignore[attr-defined]
    key, info = state.keys.create(name="short-lived")
    assert (
        client.post(
            "/v1/chat/completions", json=OK_CHAT, headers={"authorization": f"Bearer {key}"}
        ).status_code
        == 200
    )
    state.keys.revoke(info.prefix)
    assert (
        client.post(
            "/v1/chat/completions", json=OK_CHAT, headers={"authorization": f"Bearer {key}"}
        ).status_code
        == 401
    )


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/v1/chat/completions", 405), ("POST", "/v1/nothing", 404)]
)
def test_unknown_route_or_method_is_openai_shaped(
    make_client: Any, method: str, path: str, status: int
) -> None:
    response = make_client().request(method, path)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_refused_embedding_input_is_400_and_recorded(make_client: Any) -> None:
    client = make_client()
    response = client.post("/v1/embeddings", json={"model": "hegui-demo", "input": ["fine", "演示违禁词"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "content_filter"
    entries = list(iter_entries(client.app.state.hegui.engine))  # type: ignore[attr-defined]
    assert [(e.stage, e.action) for e in entries] == [("input", "refuse")]
    assert '"field":"input[1]"' in entries[0].findings
    assert verify_chain(client.app.state.hegui.engine).entries == 1  # type: ignore[attr-defined]
