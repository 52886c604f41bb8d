"""The connection pool under every upstream client: httpx's API on httpcore2's pool.

httpx (0.28) pools connections with httpcore 1.0, whose pool re-examines every connection on every
request it adds or finishes (an idle connection's socket polled each time) and hands a freed connection
to every queued request at once: its cost per request grows with the number of connections, and a
gateway under many concurrent requests spent a growing share of its CPU there (profiled at 64
connections: about a fifth; benchmarks/RESULTS.md, issue 16). httpcore2 (the maintained fork, already
installed with the openai and anthropic clients) keeps that bookkeeping linear and hands each freed
connection to one request. `PooledTransport` is httpx's own `AsyncHTTPTransport` on that pool: the
rest of the gateway keeps httpx's requests, responses and exceptions (an httpcore2 error is raised as
the httpx error of the same kind, so every ``except httpx.…`` still holds).

httpcore2's pool still re-examines, on every request it adds or finishes, each of its connections and each
request in flight (closed? expired? idle? reserved?): a pass costs O(connections + requests). At 256
concurrent requests that bookkeeping grew from about 1 % to about 10 % of a whole request's CPU
(py-spy, RESULTS "Upstream pool shards"). `PooledTransport` therefore keeps `SHARDS` pools, each with
its share of ``max_connections``, and sends a request to the shard with the most free connections:
every pass sees a fraction of the connections and requests, ``max_connections`` still bounds the whole,
and no request waits in a full shard while another has a free connection (a shard is full only when
all are). At one request at a time every request goes to the first shard, so its connection is reused
as before.

Its connections are asyncio's, not anyio's (upstream_net.py), and write a request in one piece
(`_OneWrite`): httpcore writes the head and the body apart, two system calls (and two segments to the
upstream) where one does; the second was a visible share of a whole request's CPU.

Used only when the environment names no proxy (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``): httpx
routes through those itself, and then the upstream keeps httpx's default transport.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import httpcore2
import httpx

from hegui.gateway.upstream_net import AsyncioBackend

# Most specific first: the first class an error is an instance of names the httpx error it becomes.
_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore2.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx.ReadTimeout),
    (httpcore2.WriteTimeout, httpx.WriteTimeout),
    (httpcore2.PoolTimeout, httpx.PoolTimeout),
    (httpcore2.TimeoutException, httpx.TimeoutException),
    (httpcore2.ConnectError, httpx.ConnectError),
    (httpcore2.ReadError, httpx.ReadError),
    (httpcore2.WriteError, httpx.WriteError),
    (httpcore2.NetworkError, httpx.NetworkError),
    (httpcore2.ProxyError, httpx.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore2.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore2.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore2.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for theirs, ours in _ERRORS:
            if isinstance(exc, theirs):
                raise ours(str(exc)) from exc
        raise


def environment_names_a_proxy() -> bool:
    """Whether httpx would route through a proxy named in the environment (its own rule: `getproxies`)."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


class _OneWrite(httpcore2.AsyncNetworkStream):
    """A connection whose writes wait for its next read (or TLS start): HTTP/1.1 sends a whole request,
    then reads, so the request leaves in one write. Nothing is held past the moment an answer is awaited."""

    def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._timeout: float | None = None
        self._socket: socket.socket | None = None

    async def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            await self._stream.write(data, timeout=self._timeout)

    # The timeout parameters are httpcore2's interface (AsyncNetworkStream), passed on to its streams.
    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if buffer:
            self._pending.append(bytes(buffer))
            self._timeout = timeout

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        await self._flush()
        return await self._stream.read(max_bytes, timeout=timeout)

    async def aclose(self) -> None:
        self._pending.clear()
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        await self._flush()
        return _OneWrite(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of every idle connection on every request the pool handles
            if self._socket is None:  # anyio builds its attribute table per lookup: look it up once
                self._socket = self._stream.get_extra_info("socket")
            return _readable(self._socket)
        return self._stream.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    """Whether a read would not wait (httpcore's own test: an idle connection that is readable was
    closed by the server); a socket without a descriptor counts as readable, its next read ending it."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class _OneWriteBackend(httpcore2.AsyncNetworkBackend):
    """asyncio connections (upstream_net.py), each writing a request in one piece (`_OneWrite`)."""

    def __init__(self) -> None:
        self._backend = AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _OneWrite(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes], on_close: Callable[[], None] = lambda: None) -> None:
        self._stream = stream
        self._on_close = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        on_close, self._on_close = self._on_close, lambda: None  # the shard's count drops once
        try:
            aclose = getattr(self._stream, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            on_close()


#: Pools a `PooledTransport` splits its connections between (module doc); at most ``max_connections``.
SHARDS = 8


class PooledTransport(httpx.AsyncBaseTransport):
    """httpx's HTTP/1.1 transport on httpcore2 pools holding at most ``max_connections`` connections in
    all, kept alive (``keepalive_expiry`` seconds when idle), TLS verified as httpx verifies it."""

    def __init__(
        self,
        *,
        max_connections: int,
        keepalive_expiry: float = 5.0,
        shards: int = SHARDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        count = max(1, min(shards, max_connections))
        self._sizes = [max_connections // count + (i < max_connections % count) for i in range(count)]
        ssl_context = ssl_context or httpx.create_ssl_context()  # another only in tests (their own CA)
        backend = _OneWriteBackend()
        self._pools = [
            httpcore2.AsyncConnectionPool(
                ssl_context=ssl_context,
                max_connections=size,
                max_keepalive_connections=size,
                keepalive_expiry=keepalive_expiry,
                network_backend=backend,
            )
            for size in self._sizes
        ]
        #: Requests each shard has in flight: sent, or answered and their body not yet closed.
        self._busy = [0] * count

    @property
    def shard_sizes(self) -> list[int]:
        return list(self._sizes)

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet finished (their body not closed), over all shards."""
        return sum(self._busy)

    def _shard(self) -> int:
        """The shard with the most free connections; the first of them on a tie."""
        best, free = 0, self._sizes[0] - self._busy[0]
        for i in range(1, len(self._sizes)):
            if self._sizes[i] - self._busy[i] > free:
                best, free = i, self._sizes[i] - self._busy[i]
        return best

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        shard = self._shard()
        self._busy[shard] += 1

        def done() -> None:
            self._busy[shard] -= 1

        try:
            with _as_httpx_errors():
                response = await self._pools[shard].handle_async_request(core)
        except BaseException:
            done()
            raise
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream, done),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
