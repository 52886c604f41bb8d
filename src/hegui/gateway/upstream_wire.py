"""The wire under every upstream client: httpx's transport interface on aiohttp's client.

The gateway speaks httpx to its upstreams (`httpx.Response`, ``except httpx.ConnectError`` …, and the
transports tests and the demo inject). What is under httpx decides the CPU of an upstream call: the
pure-Python HTTP/1.1 of h11 and httpcore2 was about half of it (benchmarks/upstream_call.py, one call at
a time: about 345 µs whole and 655 µs streamed; a bare aiohttp session about 157 µs and 208 µs).
`AiohttpTransport` is an ``httpx.AsyncBaseTransport`` on one ``aiohttp.ClientSession``: aiohttp's C
HTTP parser, its pool, its happy-eyeballs connector (aiohappyeyeballs, RFC 8305, 250 ms between
attempts) and its TLS, so the gateway keeps no network code of its own. Measured through it: about
245 µs whole and 395 µs streamed one call at a time, about half of before at 8 and 64 calls at once
(benchmarks/RESULTS.md, ``upstream_call``).

Why our own ~150 lines and not the ``httpx-aiohttp`` package (0.2.0, one maintainer, a few months old):
its error map turns every ``aiohttp.ClientConnectionError`` (a server that disconnected mid-answer
included) into ``httpx.ConnectTimeout`` — which `Upstream` retries, so a generation could be started
twice — and has no pool timeout; it keeps cookies (aiohttp's default jar) and builds its timeouts and
URL per request. What this one does:

- **Errors** become the httpx error of the same kind (`_as_httpx_errors`): no connection (refused,
  unresolvable, TLS handshake or certificate failure) → ``ConnectError``, no connection in time →
  ``ConnectTimeout`` (both retried by `Upstream`: the request never left); no byte read within the read
  timeout → ``ReadTimeout``; a connection broken or an answer not HTTP → ``RemoteProtocolError``,
  ``ReadError``; anything else of aiohttp's → ``TransportError``.
- **Timeouts** from ``request.extensions["timeout"]`` (httpx's four): ``connect`` bounds a new
  connection (DNS, TCP and TLS), ``read`` each wait for bytes of the answer (its head and every piece of
  its body), ``pool`` the wait for a free slot (``PoolTimeout``). aiohttp has no write timeout and starts
  the read timeout once the body is written: a body larger than a connection's buffer must be written
  and answered within ``write`` + ``read`` (`_send_limit`; past it ``WriteTimeout``). aiohttp rounds
  timeouts of 5 s and more up to a whole second (its ``timeout_ceil_threshold``).
- **At most ``max_connections``** requests in flight — sent, or answered and their body not yet
  closed — by a semaphore of ours, so a pool wait is told apart from a connect wait (aiohttp's own limit
  is off: each request holds at most one connection). Idle connections are kept ``keepalive_expiry``
  seconds.
- **Bodies stream**: ``aiter_bytes`` yields each piece as it arrives (server-sent events are not
  buffered). aiohttp does not decompress (``auto_decompress=False``) and adds no ``Accept-Encoding`` of
  its own: an answer is compressed only as the request's headers (httpx's) allow, and httpx decodes it as
  it did over httpcore2, so the byte limits of `Upstream` and `upstream_stream` count what they counted.
- **The request as httpx built it**: its headers (``Host``, ``Content-Length``, the API key) and body,
  written with the head in one piece when it is small.
- **No cookies** (``DummyCookieJar``), **no redirects** followed (``Upstream._refuse`` turns a 3xx into a
  502), **no proxy** from the environment (``trust_env=False``: with a proxy named there, `Upstream`
  keeps httpx's default transport instead), **TLS verified** with httpx's context
  (``httpx.create_ssl_context()``: certifi's CAs, ``SSL_CERT_FILE``/``SSL_CERT_DIR``) and the host's
  name.
- **The session is made on the first request**, inside the running loop (asyncio's or uvloop's), and
  closed by ``aclose``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ssl
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import httpx
import yarl

#: What an aiohttp error becomes; the first class it is an instance of wins (most specific first).
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS (certificate) included
    (aiohttp.ServerFingerprintMismatch, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # a body cut short or malformed
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # an answer that is not HTTP
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx.ReadError),  # reset, OS errors on a live connection
    (aiohttp.ClientError, httpx.TransportError),
)

#: The largest request body written in one piece (aiohttp's own threshold, `payload.TOO_LARGE_BYTES_BODY`).
_ONE_PIECE = 1 << 20

#: A request body the connection's write buffer takes at once (asyncio's and uvloop's high-water mark).
_BUFFERED = 64 * 1024

#: Longest line and header field of an answer's head (aiohttp's default is 8190; h11 allowed ~100 KiB).
MAX_HEAD_FIELD = 64 * 1024


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as exc:
        for theirs, ours in _ERRORS:
            if isinstance(exc, theirs):
                raise ours(str(exc) or exc.__class__.__name__) from exc
        raise  # not reached: ClientError is the last entry


def environment_names_a_proxy() -> bool:
    """Whether httpx would route through a proxy named in the environment (its own rule: `getproxies`)."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def _send_limit(request: httpx.Request, size: int) -> float | None:
    """How long sending a body of ``size`` bytes and awaiting the answer's head may take: the write and
    read timeouts together. aiohttp has no write timeout and starts its read timeout only once the body is
    written, so an upstream that reads nothing would hold a large request until the total timeout. A body
    the connection's buffer takes whole (``_BUFFERED``) never waits to be written: none for it."""
    if size <= _BUFFERED:
        return None
    given = request.extensions.get("timeout", {})
    write, read = given.get("write"), given.get("read")
    return None if write is None or read is None else write + read


class _Body(httpx.AsyncByteStream):
    """An answer's body, piece by piece as it arrives; closing it releases the connection and the slot."""

    def __init__(self, response: aiohttp.ClientResponse, done: Callable[[], None]) -> None:
        self._response = response
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for piece in self._response.content.iter_any():
                yield piece

    async def aclose(self) -> None:
        done, self._done = self._done, None
        if done is None:
            return
        try:
            # Read to its end, the connection goes back to aiohttp's pool; otherwise it is closed.
            self._response.release()
        finally:
            done()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's transport on an aiohttp session: HTTP/1.1, at most ``max_connections`` requests in flight,
    idle connections kept ``keepalive_expiry`` seconds, TLS verified as httpx verifies it (module doc)."""

    def __init__(
        self,
        *,
        max_connections: int,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max = max(1, max_connections)
        self._keepalive = keepalive_expiry
        self._ssl = ssl_context or httpx.create_ssl_context()  # another only in tests (their own CA)
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(self._max)
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}
        self._urls: dict[str, yarl.URL] = {}
        self._closed = False
        #: Requests holding a slot (module doc).
        self._busy = 0

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet finished (their body not closed)."""
        return self._busy

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the upstream transport is closed")
        # limit=0: our slots bound the connections (a pool wait told apart from a connect wait)
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=self._keepalive, ssl=self._ssl)
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            # Only the request's own headers: no Accept-Encoding or User-Agent of aiohttp's added
            skip_auto_headers=("Accept-Encoding", "User-Agent"),
            timeout=aiohttp.ClientTimeout(total=None),
            max_line_size=MAX_HEAD_FIELD,
            max_field_size=MAX_HEAD_FIELD,
        )
        return self._session

    def _timeout(self, request: httpx.Request) -> tuple[aiohttp.ClientTimeout, float | None]:
        """aiohttp's timeouts for the request's connect and read timeouts, and its pool timeout."""
        given = request.extensions.get("timeout", {})
        key = (given.get("connect"), given.get("read"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read = key
            timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect, sock_read=read)
            if len(self._timeouts) < 16:
                self._timeouts[key] = timeout
        return timeout, given.get("pool")

    def _url(self, request: httpx.Request) -> yarl.URL:
        text = str(request.url)
        url = self._urls.get(text)
        if url is None:
            url = yarl.URL(text, encoded=True)
            if len(self._urls) < 64:  # the gateway calls a handful of fixed paths per upstream
                self._urls[text] = url
        return url

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        timeout, pool = self._timeout(request)
        try:
            content = request.content
        except httpx.RequestNotRead:
            content = await request.aread()
        # aiohttp writes bytes in one piece and warns past 1 MiB (a loop blocked while it copies);
        # a larger body (a long conversation, an image edit's files) goes as a buffer, 64 KiB at a time.
        data: bytes | io.BytesIO | None = content or None
        if len(content) > _ONE_PIECE:
            data = io.BytesIO(content)
        if self._slots.locked():
            try:
                async with asyncio.timeout(pool):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout(f"no free connection within {pool}s") from None
        else:
            await self._slots.acquire()
        self._busy += 1
        try:
            response = await self._send(session, request, data, timeout, _send_limit(request, len(content)))
        except BaseException:
            self._give()
            raise
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("ascii", errors="replace")
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response, self._give),
            extensions=extensions,
        )

    async def _send(
        self,
        session: aiohttp.ClientSession,
        request: httpx.Request,
        data: bytes | io.BytesIO | None,
        timeouts: aiohttp.ClientTimeout,
        limit: float | None,
    ) -> aiohttp.ClientResponse:
        """The answer's head; the request written within ``limit`` seconds if one is given (`_send_limit`)."""
        send = session.request(
            request.method,
            self._url(request),
            headers=request.headers.multi_items(),
            data=data,
            allow_redirects=False,
            timeout=timeouts,
        )
        with _as_httpx_errors():
            if limit is None:
                return await send
            try:
                async with asyncio.timeout(limit):
                    return await send
            except TimeoutError:
                # aiohttp's read timeout, started once the body is written, ends sooner than this: the
                # body was still being written.
                raise httpx.WriteTimeout(f"the request was not written within {limit:g}s") from None

    def _give(self) -> None:
        """A request's slot, back (its body closed, or it failed)."""
        self._busy -= 1
        self._slots.release()

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
