"""A client that leaves in the middle of a stream: what it was sent is recorded, even when closing the
upstream's response fails or is cancelled as the stream unwinds."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import Message
from tests.gateway.conftest import chat_post_scope

from hegui.records.audit import iter_entries


class SlowStream(httpx.AsyncByteStream):
    """An upstream stream that sends two chunks, then waits; closing it fails as ``close_error`` says."""

    def __init__(self, close_error: BaseException | None) -> None:
        self.close_error = close_error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for word in (
            "今天天气很好，我们去公园散步吧。",
            "公园里有很多花，红的黄的都有。",
            "我们在湖边坐了一会儿。",
        ):
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "model": "mock-model",
                "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}],
            }
            yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
        await asyncio.sleep(30)  # the client leaves meanwhile
        yield b"data: [DONE]\n\n"

    async def aclose(self) -> None:
        if self.close_error is not None:
            raise self.close_error


def upstream(close_error: BaseException | None) -> httpx.MockTransport:
    async def handle(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=SlowStream(close_error)
        )

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("close_error", [None, RuntimeError("close failed"), asyncio.CancelledError()])
def test_what_a_leaving_client_was_sent_is_recorded(
    make_client: Any, close_error: BaseException | None
) -> None:
    client = make_client(mock=upstream(close_error))
    body = json.dumps(
        {
            "model": "mock-model",
            "stream": True,
            "user": "u1",
            "messages": [{"role": "user", "content": "你好"}],
        }
    ).encode()
    sent: list[Message] = []
    left = asyncio.Event()
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.start":
            asyncio.get_running_loop().call_later(0.3, left.set)  # the client reads a little, then leaves

    scope = chat_post_scope(client.headers["authorization"])

    async def run() -> None:
        # how the app ends is not the point here: what it recorded is
        with contextlib.suppress(RuntimeError, asyncio.CancelledError):
            await asyncio.wait_for(client.app(scope, receive, send), 10)

    client.portal.call(run)
    state = client.app.state.hegui
    assert sent and sent[0]["type"] == "http.response.start"
    entries = []
    for _ in range(100):
        entries = [e for e in iter_entries(state.engine) if e.stage == "output"]
        if entries:
            break
        client.portal.call(asyncio.sleep, 0.05)
    assert len(entries) == 1
    detail = json.loads(entries[0].detail)
    assert detail.get("client_disconnected") is True
