"""A keep-alive HTTP/1.1 server on loopback for the upstream tests: the lifecycle (listen on a free port,
count connections, close kept-alive ones on the way out) and the reading of one request. Each test's
server says only how it answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

#: A whole chat completion, as an upstream answers.
WHOLE = {
    "id": "x",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "好的"}, "finish_reason": "stop"}],
}


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One request with a ``Content-Length`` body: its head and its body. Raises
    asyncio.IncompleteReadError when the client closes the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


def whole_answer(answer: dict[str, Any]) -> bytes:
    """A 200 with ``answer`` as its JSON body."""
    body = json.dumps(answer).encode()
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


class LoopbackServer:
    """Subclasses answer a connection in ``handle``; errors of a connection the client closed end it."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> LoopbackServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:  # a kept-alive connection outlives the server's close
            writer.close()
            with contextlib.suppress(ConnectionError):  # one the client reset
                await writer.wait_closed()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            await self.handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()  # the client closed it (or __aexit__ did)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
