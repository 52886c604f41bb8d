"""The connections under the upstream pool: asyncio streams, with httpcore2's network interface.

httpcore2's default backend is anyio's: every read and every write opens a cancel scope (``fail_after``)
and asks sniffio which event loop runs, and its socket attributes are a table rebuilt per lookup. That
was about a sixth of the CPU of an upstream call once httpx's own per-request work was gone
(benchmarks/upstream_call.py, one call at a time: whole about 390 µs → 330 µs, streamed about
660 µs → 560 µs; more with many calls at once).
`AsyncioBackend` gives httpcore2 the same streams on asyncio's own (uvloop's, under ``hegui serve``):
one `asyncio.timeout` per wait that has a timeout, nothing per call besides.

What anyio's backend did and this one keeps:

- connecting with "happy eyeballs" (RFC 8305): the addresses a name resolves to, the families
  interleaved, each attempt started 250 ms after the previous one (at once if it failed), the first
  connection wins and the others are cancelled or closed — so a host whose IPv6 route is black-holed
  still connects over IPv4 within ``connect_timeout``; uvloop's own ``create_connection`` has no such
  option, so the race is here;
- TCP_NODELAY (asyncio and uvloop set it on every TCP transport) and httpcore2's socket options;
- its error kinds: a timeout is httpcore2's ``ConnectTimeout``/``ReadTimeout``/``WriteTimeout``, any
  other socket or TLS failure ``ConnectError``/``ReadError``/``WriteError`` (upstream_pool.py raises
  them as httpx's);
- TLS started on the connection (``start_tls``) with the pool's context and the host's name;
- closing: the transport closed, then aborted after one loop turn, so a close never waits on a peer.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

import httpcore2

T = TypeVar("T")

#: RFC 8305's "connection attempt delay", anyio's default.
HAPPY_EYEBALLS_DELAY = 0.25

AddressInfo = tuple[int, int, int, str, Any]  # getaddrinfo's: family, type, proto, canonname, address


def interleave(infos: Sequence[AddressInfo]) -> list[AddressInfo]:
    """The addresses in the resolver's order, alternating between families (the first one's first)."""
    families: dict[int, list[AddressInfo]] = {}
    for info in infos:
        families.setdefault(info[0], []).append(info)
    queues = list(families.values())
    ordered: list[AddressInfo] = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


async def race(
    attempts: Sequence[Callable[[], Coroutine[Any, Any, T]]], delay: float, discard: Callable[[T], None]
) -> T:
    """The first attempt to succeed; each started ``delay`` seconds after the previous one, or as soon
    as every attempt running has failed. The others are cancelled, and any that succeeded too are given
    to ``discard``. Raises OSError (naming every failure) when all fail."""
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[T]] = set()
    failures: list[OSError] = []
    waiting = list(attempts)
    won: asyncio.Task[T] | None = None
    try:
        while waiting or running:
            if waiting:
                running.add(loop.create_task(waiting.pop(0)()))
            done, pending = await asyncio.wait(
                running, timeout=delay if waiting else None, return_when=asyncio.FIRST_COMPLETED
            )
            running = set(pending)
            for task in done:
                if task.exception() is None and won is None:
                    won = task
                elif task.exception() is None:
                    discard(task.result())
                else:
                    error = task.exception()
                    if not isinstance(error, OSError):
                        assert error is not None
                        raise error  # a fault of ours, not of the network
                    failures.append(error)
            if won is not None:
                return won.result()
        raise OSError(f"every connection attempt failed: {'; '.join(map(str, failures))}")
    finally:
        for task in running:
            task.cancel()
        for outcome in await asyncio.gather(*running, return_exceptions=True):
            if not isinstance(outcome, BaseException):
                discard(outcome)


async def _attempt(info: AddressInfo, local_address: str | None) -> socket.socket:
    family, kind, proto, _, address = info
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        if local_address is not None:
            sock.bind((local_address, 0))
        await asyncio.get_running_loop().sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


async def connect(host: str, port: int, local_address: str | None = None) -> socket.socket:
    """A connected TCP socket to ``host``, by happy eyeballs over its addresses (module doc). An address
    given as such is not resolved (the resolver runs in a thread)."""
    infos: Sequence[AddressInfo]
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    else:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        infos = [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]
    attempts = [functools.partial(_attempt, info, local_address) for info in interleave(infos)]
    if not attempts:
        raise OSError(f"{host!r} resolves to no address")
    return await race(attempts, HAPPY_EYEBALLS_DELAY, socket.socket.close)


class AsyncioStream(httpcore2.AsyncNetworkStream):
    """One connection, as httpcore2 reads and writes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    # The timeout parameters are httpcore2's interface (AsyncNetworkStream).
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        try:
            if timeout is None:
                return await self._reader.read(max_bytes)
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:  # before OSError: TimeoutError is one
            raise httpcore2.ReadTimeout(f"no byte read within {timeout}s") from exc
        except OSError as exc:
            raise httpcore2.ReadError(str(exc) or exc.__class__.__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            if timeout is None:
                await self._writer.drain()
            else:
                async with asyncio.timeout(timeout):
                    await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore2.WriteTimeout(f"not written within {timeout}s") from exc
        except OSError as exc:
            raise httpcore2.WriteError(str(exc) or exc.__class__.__name__) from exc

    async def aclose(self) -> None:
        transport = self._writer.transport
        if not transport.is_closing():
            transport.close()
            await asyncio.sleep(0)  # one turn to send what is buffered, then no waiting on the peer
            transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except BaseException as exc:
            await self.aclose()
            if isinstance(exc, TimeoutError):
                raise httpcore2.ConnectTimeout(f"TLS not established within {timeout}s") from exc
            if isinstance(exc, OSError):  # ssl.SSLError included
                raise httpcore2.ConnectError(str(exc) or exc.__class__.__name__) from exc
            raise
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    """httpcore2's network backend on asyncio streams (module doc)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                sock = await connect(host, port, local_address)
                try:
                    for option in socket_options or ():
                        sock.setsockopt(*option)
                    reader, writer = await asyncio.open_connection(sock=sock)
                except BaseException:
                    sock.close()
                    raise
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(f"not connected within {timeout}s") from exc
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc) or exc.__class__.__name__) from exc
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
