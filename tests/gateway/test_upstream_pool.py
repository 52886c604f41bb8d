"""The upstream's own connection pool (upstream_pool.py) against a real loopback server: answers and
streams through it, connections kept for the next request, and its errors raised as httpx's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpcore2
import httpx
import pytest
from tests.gateway.loopback_http import WHOLE, LoopbackServer, read_request, whole_answer

from hegui.errors import UpstreamUnavailable
from hegui.gateway.upstream import Upstream
from hegui.gateway.upstream_pool import (
    PooledTransport,
    _as_httpx_errors,
    _OneWrite,
    environment_names_a_proxy,
)
from hegui.gateway.upstream_stream import StreamLimits, upstream_chunks
from hegui.policy import UpstreamPolicy


def _chunk(text: str) -> bytes:
    delta = {"index": 0, "delta": {"content": text}, "finish_reason": None}
    event = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [delta]}
    return b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n"


class LoopbackUpstream(LoopbackServer):
    """A keep-alive HTTP/1.1 server: whole JSON answers, or chunked server-sent events ending in
    [DONE]; counts the connections it accepted."""

    async def __aenter__(self) -> LoopbackUpstream:
        await super().__aenter__()
        return self

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            _, raw = await read_request(reader)
            if json.loads(raw).get("stream"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                )
                for event in (_chunk("你好"), _chunk("，世界"), b"data: [DONE]\n\n"):
                    writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(whole_answer(WHOLE))
            await writer.drain()


def _upstream(port: int, **kw: Any) -> Upstream:
    policy = UpstreamPolicy(
        name="u", type="openai", base_url=f"http://127.0.0.1:{port}/v1", models=["m"], **kw
    )
    return Upstream(policy, "CN")


def _with_upstream(test: Callable[[LoopbackUpstream, Upstream], Awaitable[None]]) -> None:
    async def run() -> None:
        async with LoopbackUpstream() as server:
            up = _upstream(server.port)
            try:
                await test(server, up)
            finally:
                await up.aclose()

    asyncio.run(run())


def test_the_upstream_uses_the_pool_when_no_proxy_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert not environment_names_a_proxy()
    assert isinstance(_upstream(1).client._transport, PooledTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert environment_names_a_proxy()
    assert not isinstance(_upstream(1).client._transport, PooledTransport)  # httpx routes the proxy


def test_whole_answers_share_one_kept_connection() -> None:
    async def test(server: LoopbackUpstream, up: Upstream) -> None:
        for _ in range(3):
            assert await up.post_json("/chat/completions", {"model": "m"}) == WHOLE
        assert server.connections == 1

    _with_upstream(test)


def test_a_stream_read_to_done_leaves_its_connection_for_the_next_request() -> None:
    limits = StreamLimits(deadline=10, idle=10)

    async def test(server: LoopbackUpstream, up: Upstream) -> None:
        for _ in range(3):
            response = await up.open_stream("/chat/completions", {"model": "m", "stream": True})
            try:
                chunks = [c async for c in upstream_chunks("u", "/chat/completions", response, limits)]
            finally:
                await response.aclose()
            assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == "你好，世界"
        assert server.connections == 1  # each stream's connection was given back, not closed

    _with_upstream(test)


def test_a_refused_connection_is_httpx_s_connect_error() -> None:
    async def run() -> None:
        async with LoopbackUpstream() as server:
            port = server.port
        up = _upstream(port, max_retries=0)  # the server is gone: nothing listens on the port
        try:
            with pytest.raises(UpstreamUnavailable):
                await up.post_json("/chat/completions", {"model": "m"})
        finally:
            await up.aclose()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpcore2.ConnectTimeout, httpx.ConnectTimeout),
        (httpcore2.ReadTimeout, httpx.ReadTimeout),
        (httpcore2.WriteTimeout, httpx.WriteTimeout),
        (httpcore2.PoolTimeout, httpx.PoolTimeout),
        (httpcore2.ConnectError, httpx.ConnectError),
        (httpcore2.ReadError, httpx.ReadError),
        (httpcore2.WriteError, httpx.WriteError),
        (httpcore2.RemoteProtocolError, httpx.RemoteProtocolError),
        (httpcore2.LocalProtocolError, httpx.LocalProtocolError),
        (httpcore2.UnsupportedProtocol, httpx.UnsupportedProtocol),
    ],
)
def test_pool_errors_are_raised_as_the_httpx_error_of_their_kind(
    raised: type[Exception], expected: type[Exception]
) -> None:
    with pytest.raises(expected) as caught, _as_httpx_errors():
        raise raised("boom")
    assert type(caught.value) is expected and str(caught.value) == "boom"


class _Recording(httpcore2.AsyncNetworkStream):
    """A network stream that records what is written to it and answers reads with ``b"answer"``."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.writes.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return b"answer"

    async def aclose(self) -> None:
        self.writes.append(b"<closed>")


def test_a_request_leaves_in_one_write_when_its_answer_is_awaited() -> None:
    async def run() -> None:
        inner = _Recording()
        stream = _OneWrite(inner)
        await stream.write(b"POST /v1/chat/completions HTTP/1.1\r\n\r\n")
        await stream.write(b"")
        await stream.write(b'{"model": "m"}')
        assert inner.writes == []  # held until the answer is awaited
        assert await stream.read(1024) == b"answer"
        assert inner.writes == [b'POST /v1/chat/completions HTTP/1.1\r\n\r\n{"model": "m"}']
        assert await stream.read(1024) == b"answer"
        assert len(inner.writes) == 1  # nothing more to send
        await stream.write(b"never sent")
        await stream.aclose()
        assert inner.writes[-1] == b"<closed>" and len(inner.writes) == 2

    asyncio.run(run())
