"""Reading an upstream's server-sent events: checked chunks out, every fault an error, never a hang.

The relay reads an upstream stream only through :func:`upstream_chunks`. It yields each ``data:`` event
parsed and checked against the shape of its API (upstream_shapes.py) and returns only at ``data: [DONE]``.
Everything else ends the stream with an Upstream* error the relay turns into an error event:

- a line that is not server-sent events (an HTML page sent as ``text/event-stream``), an event that is
  not JSON or not of the chunk's shape → ``UpstreamMalformed``;
- the connection closed before ``[DONE]`` → ``UpstreamIncomplete`` (a truncated answer is not an answer);
- no data event for ``idle`` seconds → ``UpstreamTimeout``. SSE comments (``: ping``) are read and
  dropped but do not reset this wait: a keep-alive shows that the connection is open, not that anything
  is being generated, and an upstream that only pings would otherwise hold the stream open for ever;
- the whole stream past its ``deadline`` → ``UpstreamTimeout``;
- a line longer than ``max_line`` bytes, or more than ``max_total`` bytes in all → ``UpstreamMalformed``
  (memory is bounded per event and per answer).

Each ``data:`` line is taken as one event, as the OpenAI API sends them (one JSON object per line);
``event:``, ``id:`` and ``retry:`` lines are allowed and ignored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from hegui.errors import UpstreamError, UpstreamIncomplete, UpstreamMalformed, UpstreamTimeout
from hegui.gateway.upstream_shapes import check_chunk

MAX_LINE = 4 * 1024 * 1024
_SSE_FIELDS = frozenset({"event", "id", "retry"})


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """How long an upstream stream may take: in all (``deadline``) and between two data events."""

    deadline: float
    idle: float
    max_total: int = 256 * 1024 * 1024
    max_n: int = 16
    max_line: int = MAX_LINE


async def _lines(
    chunks: AsyncIterator[bytes], upstream: str, max_line: int, max_total: int
) -> AsyncGenerator[str]:
    """Lines of a byte stream (``\n``, ``\r\n``), strictly UTF-8, each at most ``max_line`` bytes.

    Each piece is scanned once and the partial line grows in place, so an upstream that sends one byte at
    a time costs linear time, not quadratic."""
    partial, total = bytearray(), 0
    async for piece in chunks:
        total += len(piece)
        if total > max_total:
            raise UpstreamMalformed(
                f"upstream {upstream!r} sent a stream over {max_total} bytes (gateway.max_answer_bytes)"
            )
        start = 0
        while (cut := piece.find(b"\n", start)) >= 0:
            partial += piece[start:cut]
            line = bytes(partial)
            partial.clear()
            start = cut + 1
            yield _decode(line.removesuffix(b"\r"), upstream, max_line)
        partial += piece[start:]
        if len(partial) > max_line:
            raise UpstreamMalformed(f"upstream {upstream!r} sent a stream line over {max_line} bytes")
    if partial:
        yield _decode(bytes(partial).removesuffix(b"\r"), upstream, max_line)


def _decode(line: bytes, upstream: str, max_line: int) -> str:
    if len(line) > max_line:
        raise UpstreamMalformed(f"upstream {upstream!r} sent a stream line over {max_line} bytes")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise UpstreamMalformed(f"upstream {upstream!r} sent a stream line that is not UTF-8") from None


async def _next_data(lines: AsyncIterator[str], upstream: str) -> str | None:
    """The next ``data:`` value; None at the end of the stream."""
    async for line in lines:
        if not line or line.startswith(":"):  # event boundary, comment (keep-alive)
            continue
        field, _, value = line.partition(":")
        if field == "data":
            return value.removeprefix(" ").strip()
        if field in _SSE_FIELDS:
            continue
        raise UpstreamMalformed(
            f"upstream {upstream!r} sent a line that is not server-sent events: {line[:60]!r}"
        )
    return None


#: How long the rest of a stream after ``[DONE]`` (normally only the end of its chunked body) is waited for.
TAIL_WAIT = 0.1


async def _read_tail(lines: AsyncIterator[str]) -> None:
    """Read the stream to its end when the end follows ``[DONE]`` at once: a response read to its end
    gives its connection back to the pool, one closed early is dropped, and the next stream would pay a
    new connection (measured: a visible share of a streamed request's CPU). Nothing read here is
    relayed: the answer ended at ``[DONE]``."""
    try:
        async with asyncio.timeout(TAIL_WAIT):
            async for _ in lines:
                pass
    except (TimeoutError, UpstreamError, httpx.HTTPError):
        return  # the answer is whole; only this connection is closed instead of reused


class _Watch:
    """The idle timeout and the deadline of one stream, on one timer for the whole stream.

    An ``asyncio.timeout`` around each wait for an event armed and cancelled a timer per event (a timer
    handle pushed on the loop's heap each time): about 6 % of a streamed request's CPU, and a long answer
    has hundreds of events. Here a wait only records when it began (``waiting``); the one timer, when it
    fires, cancels the task if the wait has lasted ``idle`` seconds or the deadline has passed, and is
    otherwise set again for when that could first be so. It fires about once per ``idle`` seconds.
    As before, only the waits count: time the consumer spends between events is not idle time."""

    def __init__(self, idle: float, end: float) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None  # an async generator is iterated by a task
        self._task = task
        self._cancelling = task.cancelling()
        self._idle, self._end = idle, end
        #: When the current wait for an event began; None between waits.
        self.waiting: float | None = None
        #: What this watch cancelled the task for: "idle" or "deadline"; None if it did not.
        self.expired: str | None = None
        self._handle = self._loop.call_at(min(self._loop.time() + idle, end), self._check)

    def _check(self) -> None:
        now = self._loop.time()
        if self.waiting is None:  # between waits: nothing to time out yet
            self._handle = self._loop.call_at(min(now + self._idle, self._end), self._check)
            return
        due = min(self.waiting + self._idle, self._end)
        if now < due:
            self._handle = self._loop.call_at(due, self._check)
            return
        self.expired = "idle" if self.waiting + self._idle < self._end else "deadline"
        self._task.cancel()

    def timed_out(self) -> bool:
        """After a CancelledError: whether it was this watch's own (then taken back), not another's."""
        return self.expired is not None and self._task.uncancel() <= self._cancelling

    def close(self) -> None:
        self._handle.cancel()


async def upstream_chunks(
    upstream: str, path: str, response: httpx.Response, limits: StreamLimits
) -> AsyncIterator[dict[str, Any]]:
    """The checked chunks of an open upstream stream, up to ``[DONE]``; raises Upstream* errors."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limits.deadline
    lines = _lines(response.aiter_bytes(), upstream, limits.max_line, limits.max_total)
    idle = UpstreamTimeout(
        f"upstream {upstream!r} sent no data for {limits.idle:g}s (gateway.stream_idle_timeout)"
    )
    late = UpstreamTimeout(
        f"upstream {upstream!r} did not finish within the request deadline of {limits.deadline:g}s "
        "(gateway.request_deadline)"
    )
    watch = _Watch(limits.idle, end)
    try:
        while True:
            now = loop.time()
            if now >= end:
                raise late
            watch.waiting = now
            try:
                data = await _next_data(lines, upstream)
            except asyncio.CancelledError:
                if not watch.timed_out():
                    raise  # not ours: the client left, the server stops
                raise (idle if watch.expired == "idle" else late) from None
            watch.waiting = None
            if data is None:
                raise UpstreamIncomplete(f"upstream {upstream!r} closed the stream before [DONE]")
            if data == "[DONE]":
                await _read_tail(lines)
                return
            yield check_chunk(upstream, path, data, max_n=limits.max_n)
    except httpx.TimeoutException:
        raise UpstreamTimeout(f"upstream {upstream!r} stopped sending (read timeout)") from None
    except httpx.TransportError as exc:
        raise UpstreamError(f"upstream {upstream!r} broke off the stream: {exc.__class__.__name__}") from None
    finally:
        watch.close()
        await lines.aclose()
