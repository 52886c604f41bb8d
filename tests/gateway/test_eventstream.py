"""EventStreamResponse: Starlette's streaming without the task group, and the same ends: a whole stream,
a client that leaves (the stream is cancelled, the response ends quietly), a server that cancels the
request (the cancellation goes on), a failing stream or receive (raised)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.types import Message

from hegui.gateway.eventstream import EventStreamResponse

SCOPE: dict[str, Any] = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "method": "POST"}


class Events:
    """A stream of ``count`` events, the last ``wait`` long; says whether it was cancelled or closed."""

    def __init__(self, count: int, wait: float = 0.0, fail: bool = False) -> None:
        self.count, self.wait, self.fail = count, wait, fail
        self.cancelled = self.finished = False

    async def __call__(self) -> AsyncIterator[bytes]:
        try:
            for i in range(self.count):
                if i == self.count - 1 and self.wait:
                    await asyncio.sleep(self.wait)
                yield f"data: {i}\n\n".encode()
            if self.fail:
                raise RuntimeError("the stream broke")
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.finished = True


class Client:
    def __init__(self, leaves_after: float | None = None, fails: bool = False) -> None:
        self.sent: list[Message] = []
        self.leaves_after, self.fails = leaves_after, fails

    async def receive(self) -> Message:
        if self.fails:
            raise OSError("the socket broke")
        await asyncio.sleep(self.leaves_after if self.leaves_after is not None else 3600)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def run(events: Events, client: Client, *, spec: str = "2.3") -> None:
    scope = SCOPE | {"asgi": {"version": "3.0", "spec_version": spec}}

    async def main() -> None:
        before = asyncio.all_tasks()
        await EventStreamResponse(events()).__call__(scope, client.receive, client.send)
        await asyncio.sleep(0)  # the request's task is not left cancelled
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == before  # no watcher left behind

    asyncio.run(main())


@pytest.mark.parametrize("spec", ["2.3", "2.0", "2.4"])
def test_a_whole_stream_is_sent_to_its_end(spec: str) -> None:
    client = Client()
    events = Events(3)
    run(events, client, spec=spec)
    assert client.sent[0]["type"] == "http.response.start"
    assert client.sent[0]["headers"][-1] == (b"content-type", b"text/event-stream; charset=utf-8")
    assert [m.get("body") for m in client.sent[1:]] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n", b""]
    assert client.sent[-1]["more_body"] is False and events.finished and not events.cancelled


def test_a_client_that_leaves_cancels_the_stream_and_the_response_ends_quietly() -> None:
    client = Client(leaves_after=0.05)
    events = Events(3, wait=30)
    run(events, client)
    assert events.cancelled and events.finished
    assert [m.get("body") for m in client.sent[1:]] == [b"data: 0\n\n", b"data: 1\n\n"]  # no end


def test_a_cancel_from_the_server_goes_on() -> None:
    client = Client()
    events = Events(3, wait=30)

    async def main() -> None:
        task = asyncio.ensure_future(
            EventStreamResponse(events()).__call__(SCOPE, client.receive, client.send)
        )
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert events.cancelled


def test_a_failing_stream_raises() -> None:
    with pytest.raises(RuntimeError, match="the stream broke"):
        run(Events(2, fail=True), Client())


def test_a_failing_receive_ends_the_stream_and_raises() -> None:
    events = Events(3, wait=30)
    with pytest.raises(OSError, match="the socket broke"):
        run(events, Client(fails=True))
    assert events.cancelled


def test_a_stream_that_fails_as_the_client_leaves_raises_and_leaves_no_cancel_pending() -> None:
    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"data: 0\n\n"
            await asyncio.sleep(30)
            yield b"data: 1\n\n"
        finally:
            raise RuntimeError("closing the upstream failed")  # what the cancellation became

    async def main() -> None:
        client = Client(leaves_after=0.05)
        with pytest.raises(RuntimeError, match="closing the upstream failed"):
            await EventStreamResponse(events()).__call__(SCOPE, client.receive, client.send)
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
        await asyncio.sleep(0)  # not cancelled

    asyncio.run(main())
