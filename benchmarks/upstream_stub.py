"""A fast local OpenAI-compatible upstream for benchmarks: fixed small answers, loopback only.

It answers ``POST /v1/chat/completions`` (whole JSON, or Server-Sent Events when the request says
``"stream": true``), ``GET /v1/models`` and ``GET /health``. It is deliberately cheap so that it is not
the bottleneck of a proxy benchmark on a small machine: one process, uvloop, and the ``httptools``
parser driving a raw asyncio protocol (no ASGI framework; the responses are prebuilt bytes). HTTP/1.1
keep-alive, pipelining in order, chunked request bodies (the parser handles them) and ``Connection:
close`` are honoured. Streams are sent with chunked transfer encoding.

It must never be used as a model, never listen on anything but loopback, and never pretend a request
succeeded when it could not parse it (a malformed request gets 400 and the connection is closed).

Run: ``python benchmarks/upstream_stub.py --port 18001``; it prints ``READY <port>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from dataclasses import dataclass
from typing import Final, cast

import httptools
import uvloop

ANSWER: Final = "This is the benchmark stub's fixed answer. 这是基准测试桩的固定回答。"
#: Every answer ends with its request's number (``ANSWER`` stays a part of it): a proxy whose guard
#: remembers recent texts must judge each answer as new, as with a real model.
NUMBER: Final = "（第{}号）"
_MARK: Final = "\u0000"
# The streamed answer is the same text in pieces, so a proxy's stream inspector has work to do.
PIECES: Final = [
    "This is ",
    "the benchmark ",
    "stub's fixed ",
    "answer. ",
    "这是基准",
    "测试桩的",
    "固定回答。",
]
MODEL_DEFAULT: Final = "bench-model"
_CREATED: Final = int(time.time())


def _completion_body(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": _CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER + _MARK},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 24, "completion_tokens": 16, "total_tokens": 40},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def _chunk(model: str, delta: dict[str, str], finish: str | None) -> bytes:
    event = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    return b"data: " + data + b"\n\n"


def _http_chunk(payload: bytes) -> bytes:
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"


@dataclass(frozen=True)
class Numbered:
    """A prebuilt body with one place for the request's number."""

    head: bytes
    tail: bytes

    @classmethod
    def split(cls, body: bytes) -> Numbered:
        head, tail = body.split(json.dumps(_MARK)[1:-1].encode())
        return cls(head, tail)


def _whole_body(model: str) -> Numbered:
    return Numbered.split(_completion_body(model))


def _stream_body(model: str) -> Numbered:
    """The events before and after the piece that carries the number (built per request)."""
    events = [_chunk(model, {"role": "assistant", "content": ""}, None)]
    events += [_chunk(model, {"content": piece}, None) for piece in PIECES]
    head = b"".join(_http_chunk(e) for e in events)
    tail = _http_chunk(_chunk(model, {}, "stop")) + _http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"
    return Numbered(head, tail)


def _response(status: str, content_type: str, body: bytes, keep_alive: bool) -> bytes:
    conn = b"keep-alive" if keep_alive else b"close"
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n".encode()
        + b"connection: "
        + conn
        + b"\r\n\r\n"
    )
    return head + body


def _stream_response(body: bytes, keep_alive: bool) -> bytes:
    conn = b"keep-alive" if keep_alive else b"close"
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\nconnection: " + conn + b"\r\n\r\n" + body
    )


class Answers:
    """Prebuilt response bodies per model name (a proxy may rewrite the model name it forwards)."""

    def __init__(self) -> None:
        self._whole: dict[str, Numbered] = {}
        self._stream: dict[str, Numbered] = {}
        self._chunks: dict[str, Numbered] = {}
        models = {"object": "list", "data": [{"id": MODEL_DEFAULT, "object": "model", "owned_by": "stub"}]}
        self.models = json.dumps(models).encode()

    def whole(self, model: str, number: int) -> bytes:
        if model not in self._whole:
            self._whole[model] = _whole_body(model)
        body = self._whole[model]
        return body.head + NUMBER.format(number).encode() + body.tail

    def stream(self, model: str, number: int) -> bytes:
        if model not in self._stream:
            self._stream[model] = _stream_body(model)
            self._chunks[model] = Numbered.split(_chunk(model, {"content": _MARK}, None))
        body, piece = self._stream[model], self._chunks[model]
        event = piece.head + NUMBER.format(number).encode() + piece.tail
        return body.head + _http_chunk(event) + body.tail


class StubProtocol(asyncio.Protocol):
    """One connection: parse requests with httptools and answer each one immediately."""

    def __init__(self, answers: Answers, counter: list[int]) -> None:
        self._answers = answers
        self._counter = counter
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's TCP transport is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._send(_response("400 Bad Request", "text/plain", b"bad request", keep_alive=False))
            self._close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self._parser.should_keep_alive()
        self._send(self._answer(self._parser.get_method(), self._url.split(b"?", 1)[0], keep_alive))
        self._counter[0] += 1
        if not keep_alive:
            self._close()

    def _answer(self, method: bytes, path: bytes, keep_alive: bool) -> bytes:
        if method == b"POST" and path == b"/v1/chat/completions":
            try:
                request = json.loads(b"".join(self._body))
                model = str(request.get("model") or MODEL_DEFAULT)
                stream = bool(request.get("stream"))
            except (ValueError, AttributeError):
                error = b'{"error":{"message":"body is not a JSON object","type":"invalid_request_error"}}'
                return _response("400 Bad Request", "application/json", error, keep_alive)
            if stream:
                return _stream_response(self._answers.stream(model, self._counter[0]), keep_alive)
            return _response(
                "200 OK", "application/json", self._answers.whole(model, self._counter[0]), keep_alive
            )
        if method == b"GET" and path == b"/v1/models":
            return _response("200 OK", "application/json", self._answers.models, keep_alive)
        if method == b"GET" and path == b"/health":
            return _response("200 OK", "text/plain", b"ok", keep_alive)
        error = b'{"error":{"message":"not found","type":"invalid_request_error"}}'
        return _response("404 Not Found", "application/json", error, keep_alive)

    def _send(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def serve(port: int, stop_after: float) -> int:
    """Serve on 127.0.0.1:port until SIGTERM/SIGINT or ``stop_after`` seconds; return requests answered."""
    loop = asyncio.get_running_loop()
    answers = Answers()
    counter = [0]
    server = await loop.create_server(
        lambda: StubProtocol(answers, counter), host="127.0.0.1", port=port, backlog=4096, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await asyncio.wait_for(stopped.wait(), timeout=stop_after)
    except TimeoutError:
        print(f"upstream_stub: stopping after the {stop_after:.0f} s limit", file=sys.stderr)
    server.close()
    await server.wait_closed()
    return counter[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--stop-after", type=float, default=3600.0, help="stop by itself after this many seconds (a bound)"
    )
    args = parser.parse_args(argv)
    answered = uvloop.run(serve(args.port, args.stop_after))
    print(f"upstream_stub: answered {answered} requests", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
