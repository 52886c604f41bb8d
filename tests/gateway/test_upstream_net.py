"""The upstream pool's asyncio connections (upstream_net.py): happy eyeballs, TLS against a real loopback
server (on asyncio's loop and on uvloop's, which `hegui serve` runs), and every network failure raised
as the error of its kind."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpcore2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fetch_tls import _certs
from tests.gateway.loopback_http import WHOLE, read_request, whole_answer

from hegui.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from hegui.gateway import upstream_net
from hegui.gateway.upstream import Upstream
from hegui.gateway.upstream_net import AsyncioBackend, interleave, race
from hegui.gateway.upstream_pool import PooledTransport
from hegui.policy import UpstreamPolicy


def _loops() -> list[Any]:
    runners: list[Any] = [pytest.param(asyncio.run, id="asyncio")]
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return runners
    return [*runners, pytest.param(uvloop.run, id="uvloop")]


LOOPS = _loops()


# -- happy eyeballs ---------------------------------------------------------------------------------------


def _info(family: int, host: str) -> upstream_net.AddressInfo:
    return (family, socket.SOCK_STREAM, 6, "", (host, 443))


V4, V6 = socket.AF_INET, socket.AF_INET6


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([(V6, "a"), (V6, "b"), (V4, "c"), (V4, "d")], ["a", "c", "b", "d"]),
        ([(V4, "c"), (V6, "a"), (V6, "b")], ["c", "a", "b"]),
        ([(V4, "c"), (V4, "d")], ["c", "d"]),
        ([], []),
    ],
)
def test_addresses_alternate_between_families(given: list[tuple[int, str]], expected: list[str]) -> None:
    ordered = interleave([_info(family, host) for family, host in given])
    assert [info[4][0] for info in ordered] == expected


class Attempts:
    """Scripted connection attempts: each ``(seconds, outcome)``, an outcome a name or an OSError."""

    def __init__(self, script: list[tuple[float, str | OSError]]) -> None:
        self.script = script
        self.started: list[float] = []
        self.cancelled: list[int] = []
        self.discarded: list[str] = []

    def make(self) -> list[Callable[[], Coroutine[Any, Any, str]]]:
        def attempt(i: int) -> Callable[[], Coroutine[Any, Any, str]]:
            async def run() -> str:
                self.started.append(round(asyncio.get_running_loop().time() - self.t0, 2))
                seconds, outcome = self.script[i]
                try:
                    await asyncio.sleep(seconds)
                except asyncio.CancelledError:
                    self.cancelled.append(i)
                    raise
                if isinstance(outcome, OSError):
                    raise outcome
                return outcome

            return run

        return [attempt(i) for i in range(len(self.script))]

    def race(self, delay: float = 0.1) -> str:
        async def main() -> str:
            self.t0 = asyncio.get_running_loop().time()
            return await race(self.make(), delay, self.discarded.append)

        return asyncio.run(main())


def test_a_silent_address_is_overtaken_after_the_delay() -> None:
    attempts = Attempts([(10.0, "v6"), (0.0, "v4")])
    assert attempts.race() == "v4"
    assert attempts.started[1] == pytest.approx(0.1, abs=0.05)
    assert attempts.cancelled == [0]  # the silent one is not left running


def test_a_failed_address_gives_way_at_once() -> None:
    attempts = Attempts([(0.0, ConnectionRefusedError("v6 refused")), (0.0, "v4")])
    assert attempts.race(delay=5.0) == "v4"
    assert attempts.started[1] < 0.05


def test_the_first_to_connect_wins_and_a_later_winner_is_closed() -> None:
    attempts = Attempts([(0.15, "slow"), (0.0, "fast")])
    assert attempts.race(delay=0.1) == "fast"
    assert attempts.cancelled == [0] and attempts.discarded == []
    both = Attempts([(0.0, "first"), (0.0, "second")])
    assert both.race(delay=0.0) == "first"
    assert both.discarded in ([], ["second"])  # "second" connected too: closed, never leaked


def test_every_address_failing_names_each_failure() -> None:
    attempts = Attempts([(0.0, ConnectionRefusedError("v6 refused")), (0.0, OSError("v4 unreachable"))])
    with pytest.raises(OSError, match="v6 refused; v4 unreachable"):
        attempts.race()


def test_an_address_is_connected_to_without_the_resolver() -> None:
    async def main() -> None:
        accepted: list[asyncio.StreamWriter] = []
        server = await asyncio.start_server(lambda r, w: accepted.append(w), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()

        async def no_resolver(*args: object, **kwargs: object) -> list[upstream_net.AddressInfo]:
            raise AssertionError("an address literal went to the resolver")

        loop.getaddrinfo = no_resolver  # type: ignore[method-assign,assignment]
        try:
            sock = await upstream_net.connect("127.0.0.1", port)
            assert sock.getpeername() == ("127.0.0.1", port)
            sock.close()
            with pytest.raises(AssertionError, match="resolver"):
                await upstream_net.connect("localhost", port)
        finally:
            server.close()
            for writer in accepted:
                writer.close()
            await server.wait_closed()

    asyncio.run(main())


# -- against loopback servers ------------------------------------------------------------------------------


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            await read_request(reader)
            writer.write(whole_answer(WHOLE))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        writer.close()


def _upstream(base_url: str, transport: PooledTransport | None = None, **kw: Any) -> Upstream:
    policy = UpstreamPolicy(name="u", type="openai", base_url=base_url, models=["m"], **kw)
    return Upstream(policy, "CN", transport)


@pytest.mark.parametrize("run", LOOPS)
def test_tls_to_an_upstream_whose_certificate_names_it(run: Any, tmp_path: Path) -> None:
    """``localhost`` resolves to ::1 and 127.0.0.1 where IPv6 is on; the server listens on 127.0.0.1 only,
    so the race goes on to it; the certificate is checked against the name."""
    ca, cert, key = _certs(tmp_path, "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    async def main() -> None:
        server = await asyncio.start_server(_serve, "127.0.0.1", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        verify = ssl.create_default_context(cafile=str(ca))
        up = _upstream(f"https://localhost:{port}/v1", PooledTransport(max_connections=4, ssl_context=verify))
        try:
            for _ in range(3):
                assert await up.post_json("/chat/completions", {"model": "m"}) == WHOLE
            other = _upstream(
                f"https://127.0.0.1:{port}/v1",  # the certificate does not name this address
                PooledTransport(max_connections=4, ssl_context=verify),
                max_retries=0,
            )
            try:
                with pytest.raises(UpstreamUnavailable, match="ConnectError"):
                    await other.post_json("/chat/completions", {"model": "m"})
            finally:
                await other.aclose()
        finally:
            await up.aclose()
            server.close()
            await server.wait_closed()

    run(main())


@pytest.mark.parametrize("run", LOOPS)
def test_a_connection_that_never_completes_is_a_connect_timeout(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    async def never(host: str, port: int, local_address: str | None = None) -> socket.socket:
        nonlocal calls
        calls += 1
        await asyncio.sleep(60)
        raise AssertionError("unreachable")

    monkeypatch.setattr(upstream_net, "connect", never)

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
def test_a_body_the_upstream_does_not_read_is_a_write_timeout(run: Any) -> None:
    """32 MiB to a server that reads nothing: more than the sockets' buffers hold, so the write waits,
    and the write timeout (``read_timeout``, as httpx's client sets it) ends it."""
    held: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        up = _upstream(f"http://127.0.0.1:{port}/v1", read_timeout=0.5, total_timeout=30.0)
        try:
            with pytest.raises(UpstreamTimeout, match="WriteTimeout"):
                await up.post_json("/chat/completions", {"model": "m", "padding": "x" * (32 << 20)})
        finally:
            await up.aclose()
            server.close()
            for writer in held:
                writer.close()
            await server.wait_closed()

    run(main())


def test_the_stream_s_errors_are_httpcore2_s() -> None:
    async def main() -> None:
        backend = AsyncioBackend()
        accepted: list[asyncio.StreamWriter] = []
        server = await asyncio.start_server(lambda r, w: accepted.append(w), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stream = await backend.connect_tcp("127.0.0.1", port, timeout=1.0)
        try:
            with pytest.raises(httpcore2.ReadTimeout):
                await stream.read(1024, timeout=0.05)
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
            assert stream.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            await stream.aclose()
            server.close()
            for writer in accepted:
                writer.close()
            await server.wait_closed()
        with pytest.raises(httpcore2.ConnectError):
            await backend.connect_tcp("127.0.0.1", port, timeout=1.0)  # nothing listens any more

    asyncio.run(main())
