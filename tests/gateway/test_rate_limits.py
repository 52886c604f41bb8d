"""Rate limits at the gateway: 429 with Retry-After and an OpenAI-shaped error, per key, tenant and end
user, token quotas charged from the upstream's usage, per-key quotas, metrics (in-process counters)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from hegui.cluster.config import Quota
from hegui.records.key_limits import KeyLimits

from .conftest import BASE_POLICY, MakeClient


def chat(client: Any, text: str = "hello", **extra: Any) -> httpx.Response:
    body = {"model": "hegui-demo", "messages": [{"role": "user", "content": text}], **extra}
    response: httpx.Response = client.post("/v1/chat/completions", json=body)
    return response


def assert_429(response: httpx.Response, kind: str, scope: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    assert error["type"] == kind
    assert f"for this {scope}" in error["message"]


def test_no_limits_table_limits_nothing(make_client: MakeClient) -> None:
    client = make_client()
    assert all(chat(client).status_code == 200 for _ in range(12))


def test_requests_per_minute_per_key(make_client: MakeClient) -> None:
    client = make_client(BASE_POLICY + "[limits.key]\nrequests_per_minute = 3\n")
    assert [chat(client).status_code for _ in range(3)] == [200, 200, 200]
    assert_429(chat(client), "requests", "key")
    # Other routes and other verbs are not model requests.
    assert client.get("/v1/models").status_code == 200
    metrics = client.get("/metrics").text
    assert 'hegui_rate_limited_total{limit="requests",scope="key"} 1.0' in metrics


def test_end_users_have_their_own_quota(make_client: MakeClient) -> None:
    client = make_client(BASE_POLICY + "[limits.user]\nrequests_per_minute = 2\n")
    assert [chat(client, user="ann").status_code for _ in range(2)] == [200, 200]
    assert_429(chat(client, user="ann"), "requests", "user")
    assert chat(client, user="bob").status_code == 200
    # The header names the end user as well as the body does.
    assert (
        client.post(
            "/v1/chat/completions",
            json={"model": "hegui-demo", "messages": [{"role": "user", "content": "x"}]},
            headers={"x-hegui-user": "ann"},
        ).status_code
        == 429
    )
    # Without an end user, no user quota applies.
    assert chat(client).status_code == 200


def test_a_tenant_counts_all_its_keys(make_client: MakeClient) -> None:
    client = make_client(BASE_POLICY + "[limits.tenant]\nrequests_per_minute = 2\n")
    other, _ = client.app.state.hegui.keys.create(name="second key")  # same tenant: default
    assert chat(client).status_code == 200
    assert (
        client.post(
            "/v1/chat/completions",
            json={"model": "hegui-demo", "messages": [{"role": "user", "content": "x"}]},
            headers={"authorization": f"Bearer {other}"},
        ).status_code
        == 200
    )
    assert_429(chat(client), "requests", "tenant")


def test_a_key_of_its_own(make_client: MakeClient) -> None:
    client = make_client(BASE_POLICY + "[limits.key]\nrequests_per_minute = 100\n")
    state = client.app.state.hegui
    key = state.keys.list()[0]
    KeyLimits(state.engine).set(state.keys, str(key.id), Quota(requests_per_minute=1))
    state.replicas.key_limits.expire()  # as the key-changed event does
    assert chat(client).status_code == 200
    assert_429(chat(client), "requests", "key")


def _usage_upstream(total: int) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "mock-model",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": total - 1, "completion_tokens": 1, "total_tokens": total},
            },
        )

    return httpx.MockTransport(handler)


def test_tokens_per_minute_from_the_upstreams_usage(make_client: MakeClient) -> None:
    client = make_client(BASE_POLICY + "[limits.key]\ntokens_per_minute = 100\n", mock=_usage_upstream(40))
    mock = {"model": "mock-model", "messages": [{"role": "user", "content": "hi"}]}
    codes = [client.post("/v1/chat/completions", json=mock).status_code for _ in range(4)]
    # 40 + 40 + 40 reaches 100 after the third: the fourth is refused (estimates were 1 token each).
    assert codes == [200, 200, 200, 429]
    assert_429(client.post("/v1/chat/completions", json=mock), "tokens", "key")
    metrics = client.get("/metrics").text
    assert "hegui_rate_limit_tokens_total 120.0" in metrics


def test_whole_answers_settle_to_the_reported_usage(make_client: MakeClient) -> None:
    # The demo upstream reports 0 tokens: the prompt's estimate (50, above the whole quota) is taken
    # back when the answer arrives, so the quota never runs out.
    client = make_client(BASE_POLICY + "[limits.key]\ntokens_per_minute = 30\n")
    for _ in range(4):
        assert chat(client, "很长的提示" * 10).status_code == 200


def test_a_stream_without_usage_is_charged_its_estimate(make_client: MakeClient) -> None:
    client = make_client(BASE_POLICY + "[limits.key]\ntokens_per_minute = 30\n")
    assert chat(client, "很长的提示" * 10, stream=True).status_code == 200
    assert_429(chat(client, "short", stream=True), "tokens", "key")


def _streaming_upstream(total: int) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        base = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "mock-model"}
        events = [
            base | {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "很长的回答" * 20}}]},
            base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            base
            | {
                "choices": [],
                "usage": {"prompt_tokens": 1, "completion_tokens": total - 1, "total_tokens": total},
            },
        ]
        body = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx.MockTransport(handler)


def test_a_streams_estimate_is_corrected_to_its_usage(make_client: MakeClient) -> None:
    client = make_client(BASE_POLICY + "[limits.key]\ntokens_per_minute = 30\n", mock=_streaming_upstream(5))
    body = {"model": "mock-model", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    # 100 generated characters estimated as they flow, then 5 tokens by the upstream's count: 5 × 5 = 25.
    codes = [client.post("/v1/chat/completions", json=body).status_code for _ in range(7)]
    assert codes == [200] * 6 + [429]


def test_anthropic_clients_key_is_limited_too(make_client: MakeClient) -> None:
    client = make_client(BASE_POLICY + "[limits.key]\nrequests_per_minute = 1\n")
    key = client.headers.pop("authorization").split(" ", 1)[1]
    body = {"model": "hegui-demo", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    assert client.post("/v1/messages", json=body, headers={"x-api-key": key}).status_code == 200
    assert_429(client.post("/v1/messages", json=body, headers={"x-api-key": key}), "requests", "key")


def test_a_long_stream_keeps_its_slot_by_renewing_its_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the gate itself: a stream limited only by concurrent_streams (no tokens counted)."""
    import asyncio

    from prometheus_client import CollectorRegistry

    from hegui.cluster.config import LimitsPolicy
    from hegui.cluster.limiter import Holder, RateLimiter
    from hegui.cluster.windows import LocalWindows
    from hegui.errors import RateLimited
    from hegui.gateway import limits, token_usage
    from hegui.records.keys import ApiKey

    class Clock:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

    class Keys:
        key = ApiKey(1, "hg-x", "k", "t", "client", "api", "", None)

        def is_cached(self, token: str) -> bool:
            return True

        def authenticate(self, token: str) -> ApiKey:
            return self.key

    class NoKeyLimits:
        stale = False

        def quota(self, key_id: int) -> None:
            return None

    clock = Clock()
    monkeypatch.setattr(token_usage, "_RENEW_SECONDS", 0.0)
    limiter = RateLimiter(
        LimitsPolicy(key=Quota(concurrent_streams=1)), LocalWindows(clock=clock, lease_seconds=10)
    )
    during: list[bool] = []

    async def streaming_app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for _ in range(3):
            clock.now += 8  # 24 s in all, more than twice the lease
            await send({"type": "http.response.body", "body": b"data: {}\n\n", "more_body": True})
        try:  # another stream now: the slot must still be held
            await limiter.admit(Holder(1, "t", None), stream=True, prompt_tokens=0)
            during.append(False)
        except RateLimited:
            during.append(True)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    gate = limits.RateLimitGate(
        streaming_app,
        limiter=limiter,
        keys=Keys(),  # type: ignore[arg-type]
        key_limits=NoKeyLimits(),  # type: ignore[arg-type]
        metrics=limits.LimitMetrics(CollectorRegistry()),
        max_body=1 << 20,
    )
    body = orjson.dumps({"model": "m", "stream": True, "messages": []})
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"authorization", b"Bearer hg-x")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    asyncio.run(gate(scope, receive, send))
    assert during == [True]
