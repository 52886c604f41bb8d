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

Its connections write a request in one piece (`_OneWrite`): httpcore writes the head and the body apart,
two system calls (and two segments to the upstream) where one does; the second was a visible share of
a whole request's CPU.

Used only when the environment names no proxy (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``): httpx
routes through those itself, and then the upstream keeps httpx's default transport.
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import httpcore2
import httpx

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
        return self._stream.get_extra_info(info)


class _OneWriteBackend(httpcore2.AsyncNetworkBackend):
    """The default (anyio) connections, each writing a request in one piece (`_OneWrite`)."""

    def __init__(self) -> None:
        self._backend = httpcore2.AnyIOBackend()

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
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


class PooledTransport(httpx.AsyncBaseTransport):
    """httpx's HTTP/1.1 transport on an httpcore2 pool of at most ``max_connections`` connections, all
    kept alive (``keepalive_expiry`` seconds when idle), TLS verified as httpx verifies it."""

    def __init__(self, *, max_connections: int, keepalive_expiry: float = 5.0) -> None:
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
            network_backend=_OneWriteBackend(),
        )

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
        with _as_httpx_errors():
            response = await self._pool.handle_async_request(core)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
