"""The upstream client: retries only on connection errors, the circuit breaker, error mapping."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from hegui.errors import UpstreamError, UpstreamRejected, UpstreamTimeout, UpstreamUnavailable
from hegui.gateway.upstream import CircuitBreaker, Upstream
from hegui.policy import UpstreamPolicy


def upstream(handler: Any, **kw: Any) -> Upstream:
    policy = UpstreamPolicy(name="u", type="openai", base_url="http://u.invalid/v1", models=["m"], **kw)
    return Upstream(policy, "CN", httpx.MockTransport(handler))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_connection_errors_are_retried_then_502() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(UpstreamUnavailable):
        run(upstream(handler, max_retries=2).post_json("/chat/completions", {}))
    assert calls == 3


def test_connection_error_then_success_is_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"ok": True})

    assert run(upstream(handler).post_json("/x", {})) == {"ok": True}
    assert calls == 2


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ReadTimeout, UpstreamTimeout),
        (httpx.ReadError, UpstreamError),
        (httpx.RemoteProtocolError, UpstreamError),
    ],
)
def test_errors_after_sending_are_never_retried(exc: type[Exception], expected: type[Exception]) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise exc("boom", request=request)  # type: ignore[call-arg]

    with pytest.raises(expected):
        run(upstream(handler, max_retries=3).post_json("/x", {}))
    assert calls == 1


@pytest.mark.parametrize(
    ("status", "expected", "client_status"),
    [
        (500, UpstreamError, 502),
        (503, UpstreamError, 502),
        (429, UpstreamError, 502),
        (400, UpstreamRejected, 400),
        (422, UpstreamRejected, 422),
    ],
)
def test_upstream_status_mapping(status: int, expected: type[UpstreamError], client_status: int) -> None:
    handler = lambda request: httpx.Response(status, json={"error": {"message": "nope"}})  # noqa: E731
    with pytest.raises(expected) as err:
        run(upstream(handler).post_json("/x", {}))
    assert err.value.status() == client_status
    assert "nope" in err.value.message


def test_total_timeout_is_504() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    with pytest.raises(UpstreamTimeout):
        run(upstream(handler, total_timeout=0.2).post_json("/x", {}))


def test_circuit_opens_after_failures_and_half_opens_after_reset() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=3, reset_seconds=10, clock=lambda: now[0])
    for _ in range(2):
        breaker.failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.state == "half-open"
    assert breaker.allow() and not breaker.allow()  # one trial request only
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


def test_open_circuit_answers_at_once_without_calling() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, json={})

    up = upstream(handler, breaker_failures=2, breaker_reset_seconds=60)
    for _ in range(2):
        with pytest.raises(UpstreamError):
            run(up.post_json("/x", {}))
    with pytest.raises(UpstreamUnavailable, match="circuit is open"):
        run(up.post_json("/x", {}))
    assert calls == 2


# -- answers that are not of their API's shape (issue 11, part 4) ------------------------------------

WHOLE = {"choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}]}


def gateway_upstream(handler: Any, **gateway: Any) -> Upstream:
    from hegui.policy import GatewayPolicy

    policy = UpstreamPolicy(name="u", type="openai", base_url="http://u.invalid/v1", models=["m"])
    return Upstream(policy, "CN", httpx.MockTransport(handler), GatewayPolicy(**gateway))


def test_a_bad_whole_answer_is_malformed_and_counts_as_a_failure() -> None:
    from hegui.errors import UpstreamMalformed

    up = gateway_upstream(lambda r: httpx.Response(200, json={"choices": "zzz"}))
    with pytest.raises(UpstreamMalformed, match="choices"):
        run(up.post_json("/chat/completions", {}))
    assert up.breaker._failures == 1


def test_a_whole_answer_over_the_answer_limit_is_refused() -> None:
    from hegui.errors import UpstreamMalformed

    big = WHOLE | {"padding": "x" * 5000}
    up = gateway_upstream(lambda r: httpx.Response(200, json=big), max_answer_bytes=4096)
    with pytest.raises(UpstreamMalformed, match="max_answer_bytes"):
        run(up.post_json("/chat/completions", {}))
    assert run(gateway_upstream(lambda r: httpx.Response(200, json=WHOLE)).post_json("/chat/completions", {}))


def test_the_request_deadline_bounds_a_whole_answer() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=WHOLE)

    with pytest.raises(UpstreamTimeout, match=r"0\.2s"):
        run(gateway_upstream(slow, request_deadline=0.2).post_json("/chat/completions", {}))


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("application/json", b'{"choices": []}', "upstream_malformed"),
        ("text/html", b"<html>busy</html>", "upstream_malformed"),
        ("", b"data: {}\n\n", "upstream_malformed"),
        ("application/json", b'{"error": {"message": "quota"}}', "upstream_error"),
    ],
)
def test_a_stream_answered_with_anything_but_sse_is_refused(
    content_type: str, body: bytes, code: str
) -> None:
    up = gateway_upstream(lambda r: httpx.Response(200, headers={"content-type": content_type}, content=body))
    with pytest.raises(UpstreamError) as err:
        run(up.open_stream("/chat/completions", {"stream": True}))
    assert err.value.code == code
