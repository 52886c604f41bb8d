"""A scriptable server of Anthropic's Messages API for the end-to-end tests (run as a separate process).

It stands in for an Anthropic-protocol upstream (``type = "anthropic"``). It checks what a real one
checks first: the ``x-api-key`` header (equal to FAKE_ANTHROPIC_KEY) and an ``anthropic-version``
header; without them it answers 401 / 400 in Anthropic's error shape. Its answer is "fake anthropic
heard: <last user text>", unless the last user text is ``script:<base64 JSON>`` with ``"blocks"`` (the
content blocks of the answer) and ``"stop_reason"``; streamed, the blocks are sent as Messages events
(text in two deltas, thinking as one ``thinking_delta``, tool input as one ``input_json_delta``). ``"cut": true`` ends a stream before
``message_stop``. Every request is appended to FAKE_UPSTREAM_LOG as a JSON line, headers included.

Usage: python fake_anthropic.py PORT
"""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return "".join(b.get("text", "") for b in content or [] if b.get("type") == "text")
    return ""


async def messages(request: Request) -> Response:
    body: dict[str, Any] = await request.json()
    log = os.environ.get("FAKE_UPSTREAM_LOG")
    if log:
        record = {"headers": dict(request.headers.items()), "body": body}
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    if request.headers.get("x-api-key") != os.environ.get("FAKE_ANTHROPIC_KEY", ""):
        return _error(401, "authentication_error", "invalid x-api-key")
    if not request.headers.get("anthropic-version"):
        return _error(400, "invalid_request_error", "anthropic-version header is required")
    text = _last_user_text(body)
    script: dict[str, Any] = {}
    if text.startswith("script:"):
        script = json.loads(base64.b64decode(text.removeprefix("script:")))
    blocks = script.get("blocks") or [{"type": "text", "text": f"fake anthropic heard: {text}"}]
    stop = script.get("stop_reason", "end_turn")
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 6},
    }
    if not body.get("stream"):
        return JSONResponse(message)

    def event(kind: str, data: dict[str, Any]) -> str:
        return f"event: {kind}\ndata: {json.dumps(data | {'type': kind}, ensure_ascii=False)}\n\n"

    async def events() -> Any:
        yield event("message_start", {"message": message | {"content": [], "stop_reason": None}})
        yield event("ping", {})
        for i, block in enumerate(blocks):
            if block["type"] == "text":
                yield event(
                    "content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}}
                )
                half = len(block["text"]) // 2
                for piece in (block["text"][:half], block["text"][half:]):
                    yield event(
                        "content_block_delta", {"index": i, "delta": {"type": "text_delta", "text": piece}}
                    )
            elif block["type"] == "thinking":
                start = {"type": "thinking", "thinking": "", "signature": ""}
                yield event("content_block_start", {"index": i, "content_block": start})
                delta = {"type": "thinking_delta", "thinking": block["thinking"]}
                yield event("content_block_delta", {"index": i, "delta": delta})
            else:
                start = block | {"input": {}}
                yield event("content_block_start", {"index": i, "content_block": start})
                partial = json.dumps(block["input"], ensure_ascii=False)
                delta = {"type": "input_json_delta", "partial_json": partial}
                yield event("content_block_delta", {"index": i, "delta": delta})
            yield event("content_block_stop", {"index": i})
        if script.get("cut"):
            return
        yield event(
            "message_delta",
            {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 6}},
        )
        yield event("message_stop", {})

    return StreamingResponse(events(), media_type="text/event-stream")


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/v1/messages", messages, methods=["POST"]), Route("/healthz", healthz)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
