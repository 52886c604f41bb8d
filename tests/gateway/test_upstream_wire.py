"""The upstream's wire (upstream_wire.py) against real loopback servers, on asyncio's loop and on uvloop's
(which `hegui serve` runs): kept connections, streams that arrive in pieces, TLS checked against the
host's name, ``max_connections`` and the pool timeout, and every failure raised as the httpx error of its
kind, so `Upstream` retries only what never reached the upstream."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import ssl
import sys
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fetch_tls import _certs
from tests.gateway.loopback_http import WHOLE, LoopbackServer, read_request, whole_answer

from hegui.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from hegui.gateway import upstream_wire
from hegui.gateway.upstream import Upstream
from hegui.gateway.upstream_stream import StreamLimits, upstream_chunks
from hegui.gateway.upstream_wire import AiohttpTransport, _as_httpx_errors, environment_names_a_proxy
from hegui.policy import UpstreamPolicy


def _loops() -> list[Any]:
    runners: list[Any] = [pytest.param(asyncio.run, id="asyncio")]
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return runners
    return [*runners, pytest.param(uvloop.run, id="uvloop")]


LOOPS = _loops()
LIMITS = StreamLimits(deadline=10, idle=10)


def _chunk(text: str) -> bytes:
    delta = {"index": 0, "delta": {"content": text}, "finish_reason": None}
    event = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [delta]}
    return b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n"


def _sse_head() -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def _piece(event: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(event), event)


Handler = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server(LoopbackServer):
    """A keep-alive HTTP/1.1 server answering each request with ``answer(request, reader, writer)`` (the
    request: its head and body); it keeps every request head."""

    def __init__(self, answer: Handler) -> None:
        super().__init__()
        self.answer = answer
        self.heads: list[bytes] = []

    async def __aenter__(self) -> Server:
        await super().__aenter__()
        return self

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, body = await read_request(reader)
            self.heads.append(head)
            await self.answer(head + body, reader, writer)
            await writer.drain()


async def _whole(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(whole_answer(WHOLE))


async def _stream(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(_sse_head())
    for event in (_chunk("你好"), _chunk("，世界"), b"data: [DONE]\n\n"):
        writer.write(_piece(event))
        await writer.drain()
    writer.write(b"0\r\n\r\n")


def _upstream(base_url: str, transport: httpx.AsyncBaseTransport | None = None, **kw: Any) -> Upstream:
    policy = UpstreamPolicy(name="u", type="openai", base_url=base_url, models=["m"], **kw)
    return Upstream(policy, "CN", transport)


def _with(answer: Handler, test: Callable[[Server, Upstream], Awaitable[None]], run: Any, **kw: Any) -> None:
    async def main() -> None:
        async with Server(answer) as server:
            up = _upstream(f"http://127.0.0.1:{server.port}/v1", **kw)
            assert isinstance(up.sender.transport, AiohttpTransport)
            try:
                await test(server, up)
            finally:
                await up.aclose()

    run(main())


async def _read_stream(up: Upstream) -> str:
    response = await up.open_stream("/chat/completions", {"model": "m", "stream": True})
    try:
        chunks = [c async for c in upstream_chunks("u", "/chat/completions", response, LIMITS)]
    finally:
        await response.aclose()
    return "".join(c["choices"][0]["delta"]["content"] for c in chunks)


# -- answers over kept connections ---------------------------------------------------------------------------


def test_the_upstream_uses_the_wire_when_no_proxy_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert not environment_names_a_proxy()
    assert isinstance(_upstream("http://127.0.0.1:1/v1").client._transport, AiohttpTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert environment_names_a_proxy()
    assert not isinstance(_upstream("http://127.0.0.1:1/v1").client._transport, AiohttpTransport)


@pytest.mark.parametrize("run", LOOPS)
def test_whole_answers_share_one_kept_connection(run: Any) -> None:
    async def test(server: Server, up: Upstream) -> None:
        for _ in range(3):
            assert await up.post_json("/chat/completions", {"model": "m"}) == WHOLE
        assert server.connections == 1
        assert all(h.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n") for h in server.heads)

    _with(_whole, test, run)


@pytest.mark.parametrize("run", LOOPS)
def test_a_stream_read_to_done_leaves_its_connection_for_the_next(run: Any) -> None:
    async def test(server: Server, up: Upstream) -> None:
        for _ in range(3):
            assert await _read_stream(up) == "你好，世界"
        assert server.connections == 1

    _with(_stream, test, run)


@pytest.mark.parametrize("run", LOOPS)
def test_a_stream_arrives_in_pieces_as_they_are_sent(run: Any) -> None:
    """The second event is sent only once the first has been read by the gateway: nothing is buffered."""
    first_read = asyncio.Event()

    async def answer(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_sse_head() + _piece(_chunk("一")))
        await writer.drain()
        await asyncio.wait_for(first_read.wait(), 5)
        writer.write(_piece(_chunk("二")) + _piece(b"data: [DONE]\n\n") + b"0\r\n\r\n")

    async def test(server: Server, up: Upstream) -> None:
        response = await up.open_stream("/chat/completions", {"model": "m", "stream": True})
        texts = []
        try:
            async for chunk in upstream_chunks("u", "/chat/completions", response, LIMITS):
                texts.append(chunk["choices"][0]["delta"]["content"])
                first_read.set()
        finally:
            await response.aclose()
        assert texts == ["一", "二"]

    _with(answer, test, run)


def test_no_cookie_an_upstream_sets_is_sent_back() -> None:
    async def answer(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = json.dumps(WHOLE).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nset-cookie: affinity=a1; Path=/\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )

    async def test(server: Server, up: Upstream) -> None:
        for _ in range(2):
            assert await up.post_json("/chat/completions", {"model": "m"}) == WHOLE
        assert b"affinity" not in server.heads[1]

    _with(answer, test, asyncio.run)


# -- refusals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
def test_a_redirect_is_a_502_naming_it_and_not_followed(streamed: bool) -> None:
    async def answer(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 308 Permanent Redirect\r\nlocation: /v2/chat\r\ncontent-length: 0\r\n\r\n")

    async def test(server: Server, up: Upstream) -> None:
        with pytest.raises(UpstreamError, match="answered 308, a redirect to /v2/chat") as caught:
            if streamed:
                await up.open_stream("/chat/completions", {"model": "m", "stream": True})
            else:
                await up.post_json("/chat/completions", {"model": "m"})
        assert caught.value.status() == 502
        assert len(server.heads) == 1  # not followed

    _with(answer, test, asyncio.run)


def test_of_a_huge_error_body_only_the_start_is_read() -> None:
    """A 500 whose body would be 64 MiB: the message comes from its start, and the gateway does not wait
    for (or hold) the rest; the connection is dropped, not kept."""
    sent = []

    async def answer(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = json.dumps({"error": {"message": "overloaded"}}).encode() + b" " * (64 << 20)
        writer.write(b"HTTP/1.1 500 Oops\r\ncontent-type: application/json\r\n")
        writer.write(b"content-length: %d\r\n\r\n" % len(body))
        with contextlib.suppress(ConnectionError):
            for start in range(0, len(body), 1 << 20):
                writer.write(body[start : start + (1 << 20)])
                await writer.drain()
                sent.append(start)
        await reader.read()

    async def test(server: Server, up: Upstream) -> None:
        with pytest.raises(UpstreamError, match="answered 500: overloaded"):
            await asyncio.wait_for(up.post_json("/chat/completions", {"model": "m"}), 10)

    _with(answer, test, asyncio.run, max_retries=0)
    assert len(sent) < 32  # the server could not write most of it: nobody read it


# -- failures, as httpx's errors ------------------------------------------------------------------------------


class _Counting(AiohttpTransport):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return await super().handle_async_request(request)


@pytest.mark.parametrize("run", LOOPS)
def test_a_refused_connection_is_retried_then_unavailable(run: Any) -> None:
    async def main() -> None:
        async with Server(_whole) as server:
            port = server.port
        transport = _Counting(max_connections=4)
        up = _upstream(f"http://127.0.0.1:{port}/v1", transport, max_retries=2)  # nothing listens now
        try:
            with pytest.raises(UpstreamUnavailable, match="ConnectError") as caught:
                await up.post_json("/chat/completions", {"model": "m"})
            assert caught.value.status() == 502 and caught.value.code == "upstream_unavailable"
        finally:
            await up.aclose()
        assert transport.calls == 3 and transport.in_flight == 0

    run(main())


@pytest.mark.parametrize("run", LOOPS)
def test_a_connection_that_never_completes_is_a_connect_timeout(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    async def never(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(60)

    # aiohttp connects through aiohappyeyeballs: make that connect hang, as a black-holed route does
    monkeypatch.setattr(aiohttp.connector.aiohappyeyeballs, "start_connection", never)

    async def main() -> None:
        up = _upstream("http://127.0.0.1:9/v1", connect_timeout=0.2, max_retries=1)
        try:
            with pytest.raises(UpstreamUnavailable, match="ConnectTimeout"):
                await up.post_json("/chat/completions", {"model": "m"})
        finally:
            await up.aclose()

    run(main())
    assert calls == 2  # a connect timeout is retried: the request never reached the upstream


@pytest.mark.parametrize("run", LOOPS)
@pytest.mark.parametrize(
    ("answer", "expected", "message"),
    [
        # the body stops short of its content-length: the connection closed mid-answer
        (b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{", UpstreamError, "RemoteProtocolError"),
        (b"", UpstreamError, "RemoteProtocolError"),  # closed without a word
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", UpstreamError, "RemoteProtocolError"),  # not HTTP
        (None, UpstreamTimeout, "ReadTimeout"),  # never answers
    ],
)
def test_broken_and_silent_connections(
    run: Any, answer: bytes | None, expected: type[Exception], message: str
) -> None:
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        if answer is None:
            await reader.read()
        else:
            writer.write(answer)
            await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        up = _upstream(f"http://127.0.0.1:{port}/v1", read_timeout=0.3, max_retries=2)
        try:
            with pytest.raises(expected, match=message):
                await up.post_json("/chat/completions", {"model": "m"})
        finally:
            await up.aclose()
            server.close()
            for writer in writers:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()
            await server.wait_closed()
        assert len(writers) == 1  # asked once: nothing after sending is retried

    run(main())


@pytest.mark.parametrize("run", LOOPS)
def test_a_stream_that_stalls_is_a_read_timeout(run: Any) -> None:
    async def answer(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_sse_head() + _piece(_chunk("一")))
        await writer.drain()
        await reader.read()

    async def test(server: Server, up: Upstream) -> None:
        response = await up.open_stream("/chat/completions", {"model": "m", "stream": True})
        try:
            with pytest.raises(UpstreamTimeout, match="read timeout"):
                async for _ in upstream_chunks("u", "/chat/completions", response, LIMITS):
                    pass
        finally:
            await response.aclose()

    _with(answer, test, run, read_timeout=0.3)


@pytest.mark.parametrize("run", LOOPS)
def test_a_body_the_upstream_does_not_read_times_out(run: Any) -> None:
    """32 MiB to a server that reads nothing: more than the sockets' buffers hold, so the write waits, and
    the write timeout (``read_timeout``, as httpx's client sets it) ends it, not the total timeout."""
    held: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        up = _upstream(f"http://127.0.0.1:{port}/v1", read_timeout=0.5, total_timeout=30.0)
        try:
            started = asyncio.get_running_loop().time()
            with pytest.raises(UpstreamTimeout, match="WriteTimeout"):
                await up.post_json("/chat/completions", {"model": "m", "padding": "x" * (32 << 20)})
            assert asyncio.get_running_loop().time() - started < 5
        finally:
            await up.aclose()
            server.close()
            for writer in held:
                writer.close()
            await server.wait_closed()
        assert len(held) == 1

    run(main())


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (aiohttp.ConnectionTimeoutError(), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError(), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut"), httpx.RemoteProtocolError),
        (aiohttp.ClientConnectionResetError("reset"), httpx.ReadError),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (aiohttp.InvalidURL("x://"), httpx.UnsupportedProtocol),
        (aiohttp.ClientError("other"), httpx.TransportError),
    ],
)
def test_aiohttp_errors_are_raised_as_the_httpx_error_of_their_kind(
    raised: Exception, expected: type[Exception]
) -> None:
    with pytest.raises(expected) as caught, _as_httpx_errors():
        raise raised
    assert type(caught.value) is expected


# -- the bound ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("run", LOOPS)
def test_max_connections_bounds_requests_in_flight(run: Any) -> None:
    """Two connections: two answers held open, a third request waits for the pool and times out (the
    bound holds); closing one frees its slot and its connection is reused."""

    async def answer(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if b"stream" not in head:
            await _whole(head, reader, writer)
            return
        writer.write(_sse_head() + _piece(_chunk("一")))
        await writer.drain()
        await reader.read()

    async def main() -> None:
        async with Server(answer) as server:
            transport = AiohttpTransport(max_connections=2)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{server.port}/v1",
                transport=transport,
                timeout=httpx.Timeout(5.0, pool=0.3),
            ) as client:
                held = []
                for _ in range(2):
                    request = client.build_request("POST", "/chat/completions", json={"stream": True})
                    held.append(await client.send(request, stream=True))  # its stream goes on
                assert transport.in_flight == 2 and server.connections == 2
                with pytest.raises(httpx.PoolTimeout):
                    await client.post("/chat/completions", json={"model": "m"})
                await held[0].aclose()
                await held[0].aclose()  # twice: counted once
                assert transport.in_flight == 1
                response = await asyncio.wait_for(client.post("/chat/completions", json={"model": "m"}), 2)
                assert response.json() == WHOLE
                assert server.connections == 3  # the stream closed early took its connection along
                await held[1].aclose()
                assert transport.in_flight == 0

    run(main())


# -- TLS ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("run", LOOPS)
def test_tls_to_an_upstream_whose_certificate_names_it(run: Any, tmp_path: Path) -> None:
    """``localhost`` may resolve to ::1 and 127.0.0.1; the server listens on 127.0.0.1 only, so happy
    eyeballs goes on to it; the certificate is checked against the name."""
    ca, cert, key = _certs(tmp_path, "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                writer.write(whole_answer(WHOLE))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        verify = ssl.create_default_context(cafile=str(ca))
        up = _upstream(
            f"https://localhost:{port}/v1", AiohttpTransport(max_connections=4, ssl_context=verify)
        )
        other = _upstream(
            f"https://127.0.0.1:{port}/v1",  # the certificate does not name this address
            AiohttpTransport(max_connections=4, ssl_context=verify),
            max_retries=0,
        )
        untrusted = _upstream(f"https://localhost:{port}/v1", max_retries=0)  # certifi's CAs only
        try:
            for _ in range(3):
                assert await up.post_json("/chat/completions", {"model": "m"}) == WHOLE
            for refused in (other, untrusted):
                with pytest.raises(UpstreamUnavailable, match="ConnectError"):
                    await refused.post_json("/chat/completions", {"model": "m"})
        finally:
            for each in (up, other, untrusted):
                await each.aclose()
            server.close()
            await server.wait_closed()

    run(main())


def test_a_closed_transport_refuses_requests() -> None:
    async def main() -> None:
        transport = AiohttpTransport(max_connections=1)
        await transport.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await transport.handle_async_request(httpx.Request("POST", "http://127.0.0.1:9/"))

    asyncio.run(main())
    assert upstream_wire.MAX_HEAD_FIELD >= 8190


@pytest.mark.parametrize("run", LOOPS)
def test_aclose_leaves_no_unclosed_session(run: Any, caplog: pytest.LogCaptureFixture) -> None:
    """``Upstream.aclose`` closes the session made on the first request: aiohttp neither warns nor logs
    (through asyncio's logger, as it does for a session collected open) an unclosed session or connector."""

    async def test(server: Server, up: Upstream) -> None:
        for _ in range(2):
            assert await up.post_json("/chat/completions", {"model": "m"}) == WHOLE

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _with(_whole, test, run)
        gc.collect()
    assert not [w for w in caught if "nclosed" in str(w.message)]
    assert not [r for r in caplog.records if "nclosed" in r.getMessage()]
