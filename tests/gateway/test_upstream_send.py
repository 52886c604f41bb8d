"""JSON requests sent straight through the upstream's transport (upstream_send.py): the same request as
httpx's client would send, the client's timeouts on it, no redirect followed, no cookie kept, the proxy
the environment names still used, and a stream closed early giving its connection back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from tests.gateway.loopback_http import WHOLE, LoopbackServer, read_request, whole_answer

from hegui.errors import UpstreamError, UpstreamTimeout
from hegui.gateway.upstream import Upstream
from hegui.gateway.upstream_send import DirectSender
from hegui.gateway.upstream_wire import AiohttpTransport
from hegui.policy import UpstreamPolicy

EVENT = (
    b'data: {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", '
    b'"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": null}]}\n\n'
)


def _policy(base_url: str, **kw: Any) -> UpstreamPolicy:
    return UpstreamPolicy(name="u", type="openai", base_url=base_url, models=["m"], **kw)


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


# -- the request itself ---------------------------------------------------------------------------------


def test_the_request_is_the_one_the_client_would_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("U_KEY", "sk-upstream")
    up = Upstream(_policy("http://u.invalid:8080/v1/", api_key_env="U_KEY"), "CN", httpx.MockTransport(print))
    body = b'{"model": "m"}'
    ours = up.sender.request("/chat/completions", body)
    theirs = up.client.build_request("POST", "/chat/completions", content=body)
    assert str(ours.url) == str(theirs.url) == "http://u.invalid:8080/v1/chat/completions"
    assert ours.headers.raw == theirs.headers.raw  # the same headers, in the same order
    assert ours.headers["authorization"] == "Bearer sk-upstream"
    assert ours.content == body and ours.method == "POST"
    assert ours.extensions["timeout"] == theirs.extensions["timeout"]


def test_the_policy_s_timeouts_go_on_every_request() -> None:
    policy = _policy("http://u.invalid/v1", connect_timeout=1.5, read_timeout=7.0)
    up = Upstream(policy, "CN", httpx.MockTransport(print))
    timeout = up.sender.request("/embeddings", b"{}").extensions["timeout"]
    assert timeout == {"connect": 1.5, "read": 7.0, "write": 7.0, "pool": 1.5}


def test_the_answer_knows_its_request_and_no_cookie_is_kept_or_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=WHOLE, headers={"set-cookie": "affinity=a1; Path=/"})

    up = Upstream(_policy("http://u.invalid/v1"), "CN", httpx.MockTransport(handler))

    async def twice() -> httpx.Response:
        await up.post_json("/chat/completions", {"model": "m"})
        response = await up._send("/chat/completions", {"model": "m"})
        await response.aclose()
        return response

    response = run(twice())
    assert response.request is seen[1]
    assert [r.headers.get("cookie") for r in seen] == [None, None]
    assert not up.client.cookies


def test_a_closed_upstream_sends_nothing() -> None:
    up = Upstream(_policy("http://u.invalid/v1"), "CN", httpx.MockTransport(print))
    run(up.aclose())
    with pytest.raises(RuntimeError, match="closed"):
        run(up.sender.send(up.sender.request("/x", b"{}")))


# -- redirects -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("streamed", [False, True])
def test_a_redirect_is_a_502_that_names_it_and_is_not_followed(status: int, streamed: bool) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(status, headers={"location": "https://moved.invalid/v2/chat"}, json=WHOLE)

    up = Upstream(_policy("http://u.invalid/v1"), "CN", httpx.MockTransport(handler))
    call = up.open_stream if streamed else up.post_json
    with pytest.raises(UpstreamError) as err:
        run(call("/chat/completions", {"model": "m"}))
    assert type(err.value) is UpstreamError and err.value.status() == 502
    assert f"answered {status}, a redirect to https://moved.invalid/v2/chat" in err.value.message
    assert calls == ["http://u.invalid/v1/chat/completions"]  # asked once, never at the new address
    assert up.breaker._failures == 1


def test_a_multipart_request_is_not_redirected_either() -> None:
    from hegui.gateway.upstream import FormFile

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
        return httpx.Response(307, headers={"location": "/elsewhere"})

    up = Upstream(_policy("http://u.invalid/v1"), "CN", httpx.MockTransport(handler))
    files = [FormFile("image", "a.png", b"\x89PNG", "image/png")]
    with pytest.raises(UpstreamError, match="a redirect to /elsewhere"):
        run(up.post_json("/images/edits", {"prompt": "p"}, files=files))


# -- against a real loopback server -----------------------------------------------------------------------


class ScriptedServer(LoopbackServer):
    """A keep-alive HTTP/1.1 server answering each request with what ``answer(head)`` gives: the bytes to
    write, then (``hang``) nothing more. It keeps every request head, and counts connections and the ones
    the client closed."""

    def __init__(self, answer: Callable[[bytes], tuple[bytes, bool]]) -> None:
        super().__init__()
        self.answer = answer
        self.heads: list[bytes] = []
        self.closed_by_client = 0

    async def __aenter__(self) -> ScriptedServer:
        await super().__aenter__()
        return self

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, _ = await read_request(reader)
            self.heads.append(head)
            data, hang = self.answer(head)
            writer.write(data)
            await writer.drain()
            if hang:
                await reader.read()  # until the client closes the connection
                self.closed_by_client += 1
                return


def _whole() -> bytes:
    return whole_answer(WHOLE)


def _one_event_then_nothing(_head: bytes) -> tuple[bytes, bool]:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    return head + b"%x\r\n%s\r\n" % (len(EVENT), EVENT), True


def _with_server(
    answer: Callable[[bytes], tuple[bytes, bool]],
    test: Callable[[ScriptedServer, Upstream], Awaitable[None]],
    **policy: Any,
) -> None:
    async def main() -> None:
        async with ScriptedServer(answer) as server:
            up = Upstream(_policy(f"http://127.0.0.1:{server.port}/v1", **policy), "CN")
            assert isinstance(up.sender.transport, AiohttpTransport)
            try:
                await test(server, up)
            finally:
                await up.aclose()

    asyncio.run(main())


def test_the_read_timeout_fires_on_an_upstream_that_never_answers() -> None:
    async def test(server: ScriptedServer, up: Upstream) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(UpstreamTimeout, match="ReadTimeout"):
            await up.post_json("/chat/completions", {"model": "m"})
        assert 0.3 <= loop.time() - started < 3.0  # the read timeout, not the 30 s total
        assert len(server.heads) == 1  # sent once: a timeout after sending is never retried

    _with_server(lambda head: (b"", True), test, read_timeout=0.3, total_timeout=30.0, max_retries=2)


def test_the_pool_timeout_fires_when_every_connection_is_held() -> None:
    async def test(server: ScriptedServer, up: Upstream) -> None:
        held = await up.open_stream("/chat/completions", {"model": "m", "stream": True})
        try:
            with pytest.raises(UpstreamTimeout, match="PoolTimeout"):
                await up.open_stream("/chat/completions", {"model": "m", "stream": True})
        finally:
            await held.aclose()
        assert len(server.heads) == 1

    _with_server(_one_event_then_nothing, test, max_connections=1, connect_timeout=0.3)


def test_a_stream_closed_early_gives_its_connection_back() -> None:
    """The client went away after the first event: closing the answer closes the upstream's connection
    (the rest of the answer is not waited for) and frees its place in the pool for the next request."""

    async def test(server: ScriptedServer, up: Upstream) -> None:
        transport = up.sender.transport
        assert isinstance(transport, AiohttpTransport)
        for _ in range(3):
            response = await up.open_stream("/chat/completions", {"model": "m", "stream": True})
            assert transport.in_flight == 1
            first = await anext(response.aiter_bytes())
            assert first.startswith(b"data: ")
            await response.aclose()
            assert transport.in_flight == 0
        for _ in range(50):  # the server sees each close
            if server.closed_by_client == 3:
                break
            await asyncio.sleep(0.02)
        assert server.connections == server.closed_by_client == 3

    # max_connections = 1: the second and third streams get a connection only if the first was freed
    _with_server(_one_event_then_nothing, test, max_connections=1, connect_timeout=2.0)


def test_whole_answers_keep_their_connection() -> None:
    async def test(server: ScriptedServer, up: Upstream) -> None:
        for _ in range(3):
            assert await up.post_json("/chat/completions", {"model": "m"}) == WHOLE
        assert server.connections == 1
        assert all(head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n") for head in server.heads)

    _with_server(lambda head: (_whole(), False), test)


def test_a_proxy_named_by_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx routes through ``HTTP_PROXY`` itself; the direct path sends through the same transport."""

    async def main() -> None:
        async with ScriptedServer(lambda head: (_whole(), False)) as proxy:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            up = Upstream(_policy("http://upstream.invalid/v1"), "CN")
            try:
                assert not isinstance(up.sender.transport, AiohttpTransport)
                assert await up.post_json("/chat/completions", {"model": "m"}) == WHOLE
            finally:
                await up.aclose()
            # the proxy got the request in absolute form, for the upstream's host
            assert proxy.heads[0].startswith(b"POST http://upstream.invalid/v1/chat/completions HTTP/1.1")
            assert b"\r\nHost: upstream.invalid\r\n" in proxy.heads[0]

    asyncio.run(main())


def test_the_sender_picks_the_client_s_own_transport() -> None:
    transport = httpx.MockTransport(print)
    client = httpx.AsyncClient(base_url="http://u.invalid/v1", transport=transport)
    assert DirectSender(client).transport is transport
