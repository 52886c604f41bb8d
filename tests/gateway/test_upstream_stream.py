"""Reading an upstream's SSE stream: chunks out up to [DONE]; every fault an error, within the deadlines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest

from hegui.errors import UpstreamError, UpstreamIncomplete, UpstreamMalformed, UpstreamTimeout
from hegui.gateway.upstream_stream import StreamLimits, upstream_chunks

CHUNK = b'data: {"choices": [{"index": 0, "delta": {"content": "x"}}]}\n\n'
DONE = b"data: [DONE]\n\n"


class _Body(httpx.AsyncByteStream):
    def __init__(self, pieces: Sequence[bytes], delay: float, tail: BaseException | None) -> None:
        self.pieces, self.delay, self.tail = pieces, delay, tail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            if self.delay:
                await asyncio.sleep(self.delay)
            yield piece
        if self.tail is not None:
            raise self.tail


async def _read(
    pieces: Sequence[bytes], *, delay: float = 0, tail: BaseException | None = None, **limits: Any
) -> list[dict[str, Any]]:
    response = httpx.Response(200, stream=_Body(pieces, delay, tail))
    got = []
    async for chunk in upstream_chunks(
        "u", "/chat/completions", response, StreamLimits(**({"deadline": 5.0, "idle": 5.0} | limits))
    ):
        got.append(chunk)
    return got


def run(pieces: Sequence[bytes], **kw: Any) -> list[dict[str, Any]]:
    return asyncio.run(_read(pieces, **kw))


def test_chunks_up_to_done() -> None:
    assert len(run([CHUNK, CHUNK, DONE, CHUNK])) == 2


@pytest.mark.parametrize(
    "pieces",
    [
        [b": ping\n\n", CHUNK, b"event: message\nid: 3\nretry: 10\n", CHUNK, DONE],
        [CHUNK[:10], CHUNK[10:] + CHUNK.replace(b"\n", b"\r\n"), DONE[:7], DONE[7:]],
        [CHUNK + CHUNK + DONE],
        [b"data:" + CHUNK[6:], CHUNK, DONE],  # no space after the colon
    ],
)
def test_sse_framing_variants(pieces: list[bytes]) -> None:
    assert len(run(pieces)) == 2


@pytest.mark.parametrize(
    ("pieces", "error", "message"),
    [
        ([CHUNK], UpstreamIncomplete, "before \\[DONE\\]"),
        ([], UpstreamIncomplete, "before \\[DONE\\]"),
        ([b"<html><body>oops</body></html>\n"], UpstreamMalformed, "not server-sent events"),
        ([b'{"choices": []}\n'], UpstreamMalformed, "not server-sent events"),
        ([b"data: {nope\n\n"], UpstreamMalformed, "not JSON"),
        ([b'data: {"choices": [5]}\n\n'], UpstreamMalformed, "choices\\[0\\]"),
        ([b"data: \xff\xfe\n\n"], UpstreamMalformed, "not UTF-8"),
        ([b"data: " + b"a" * 300], UpstreamMalformed, "over 256 bytes"),
        ([b'data: {"error": {"message": "overloaded"}}\n\n'], UpstreamError, "overloaded"),
    ],
)
def test_faults(pieces: list[bytes], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        run(pieces, max_line=256)


def test_a_broken_connection_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError, match="broke off"):
        run([CHUNK], tail=httpx.RemoteProtocolError("peer closed"))


def test_comments_do_not_reset_the_idle_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="stream_idle_timeout"):
        run([CHUNK] + [b": ping\n\n"] * 100, delay=0.05, idle=0.3)
    assert time.monotonic() - started < 1.0


def test_data_does_reset_the_idle_timeout() -> None:
    assert len(run([CHUNK] * 6 + [DONE], delay=0.1, idle=0.3)) == 6


def test_the_request_deadline_ends_a_stream_that_keeps_sending() -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="request_deadline"):
        run([CHUNK] * 100, delay=0.05, idle=1.0, deadline=0.4)
    assert 0.35 < time.monotonic() - started < 1.0


def test_time_the_consumer_spends_between_events_is_not_idle_time() -> None:
    """Only the waits for the upstream count: a consumer that takes longer than the idle timeout over
    each chunk (a slow client, a long check) does not make the stream time out."""

    async def slow() -> int:
        response = httpx.Response(200, stream=_Body([CHUNK] * 3 + [DONE], 0, None))
        got = 0
        async for _ in upstream_chunks("u", "/c", response, StreamLimits(deadline=5.0, idle=0.1)):
            got += 1
            await asyncio.sleep(0.25)
        return got

    assert asyncio.run(slow()) == 3


def test_a_cancel_that_is_not_the_timeouts_stays_a_cancel() -> None:
    """The client leaving cancels the task while it waits for the upstream: that is not a timeout."""

    async def cancelled() -> None:
        response = httpx.Response(200, stream=_Body([CHUNK] * 50, 0.2, None))
        chunks = upstream_chunks("u", "/c", response, StreamLimits(deadline=5.0, idle=1.0))
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().call_later(0.05, task.cancel)
        async for _ in chunks:
            pass

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled())


def test_a_stream_over_the_answer_limit_is_refused() -> None:
    with pytest.raises(UpstreamMalformed, match="max_answer_bytes"):
        run([CHUNK] * 100 + [DONE], max_total=len(CHUNK) * 10)


def test_one_byte_at_a_time_and_a_long_line() -> None:
    long = b'data: {"choices": [{"delta": {"content": "' + b"x" * 100_000 + b'"}}]}\n\n'
    stream = CHUNK * 50 + long + DONE
    got = run([stream[i : i + 1] for i in range(len(stream))])
    assert len(got) == 51 and len(got[-1]["choices"][0]["delta"]["content"]) == 100_000
