"""An upstream that speaks Anthropic's Messages API (``type = "anthropic"`` in the policy).

The gateway talks to every upstream in chat completions (routes, relay, shape checks, deadlines); an
Anthropic upstream is reached through this httpx transport, which turns each chat request into a
Messages request (``POST {base_url}/messages`` with ``x-api-key`` and ``anthropic-version``) and the
answer back into a chat completion, or its SSE events into chat chunks. So everything after it (the
upstream shape checks, the stream deadlines, the output stage, labels, audit) is the chat path's, for
/v1/chat/completions, /v1/responses and /v1/messages alike.

Only chat is served: other paths (completions, embeddings, images) get a 404 in the OpenAI shape. An
event stream that ends without ``message_stop`` ends without ``[DONE]`` (the relay then reports the
truncated answer); an ``error`` event becomes an ``{"error": …}`` chunk (the upstream's own failure).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

DEFAULT_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def _finish(stop_reason: Any) -> str | None:
    if stop_reason is None:
        return None
    return _FINISH.get(str(stop_reason), "content_filter" if stop_reason == "refusal" else "stop")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text"
    )


def to_messages_request(chat: dict[str, Any]) -> dict[str, Any]:
    """The Messages request for a chat request (what the chat path forwards)."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += blocks
        else:
            messages.append({"role": role, "content": blocks})

    for m in chat.get("messages") or []:
        role = m.get("role")
        if role in ("system", "developer"):
            system.append(_text(m.get("content")))
        elif role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": m.get("tool_call_id", ""),
                "content": _text(m.get("content")),
            }
            add("user", [block])
        else:
            blocks: list[dict[str, Any]] = []
            text = _text(m.get("content"))
            if text:
                blocks.append({"type": "text", "text": text})
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = {"_raw": fn.get("arguments")}
                blocks.append(
                    {"type": "tool_use", "id": call.get("id", ""), "name": fn.get("name", ""), "input": args}
                )
            if blocks:
                add("assistant" if role == "assistant" else "user", blocks)
    out: dict[str, Any] = {
        "model": chat.get("model"),
        "max_tokens": chat.get("max_tokens") or chat.get("max_completion_tokens") or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        out["system"] = "\n\n".join(system)
    for key in ("temperature", "top_p", "stream"):
        if chat.get(key) is not None:
            out[key] = chat[key]
    stop = chat.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else stop
    tools = [
        {
            "name": (t.get("function") or {}).get("name", ""),
            "description": (t.get("function") or {}).get("description", ""),
            "input_schema": (t.get("function") or {}).get("parameters") or {"type": "object"},
        }
        for t in chat.get("tools") or []
        if t.get("type") == "function"
    ]
    if tools:
        out["tools"] = tools
    choice = chat.get("tool_choice")
    if choice in ("auto", "none"):
        out["tool_choice"] = {"type": choice}
    elif choice == "required":
        out["tool_choice"] = {"type": "any"}
    elif isinstance(choice, dict):
        out["tool_choice"] = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    return out


def to_chat_answer(message: dict[str, Any]) -> dict[str, Any]:
    """The chat completion for a Message (an error body is passed on as an OpenAI-shaped error)."""
    if message.get("type") == "error":
        error = message.get("error") or {}
        return {"error": {"message": str(error.get("message", "error")), "type": str(error.get("type", ""))}}
    text, reasoning, calls = [], [], []
    for block in message.get("content") or []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            text.append(block.get("text", ""))
        elif kind == "thinking":
            reasoning.append(block.get("thinking", ""))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": arguments},
                }
            )
        elif isinstance(
            block, dict
        ):  # a block type hegui does not translate: its strings still reach the checks
            text.append(json.dumps(block, ensure_ascii=False))
    answer_message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if reasoning:
        answer_message["reasoning_content"] = "".join(reasoning)
    if calls:
        answer_message["tool_calls"] = calls
    usage = message.get("usage") or {}
    inp, out = usage.get("input_tokens") or 0, usage.get("output_tokens") or 0
    return {
        "id": message.get("id", ""),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": answer_message,
                "finish_reason": _finish(message.get("stop_reason")) or "stop",
            }
        ],
        "usage": {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out},
    }


class ChunkWriter:
    """Anthropic stream events → chat chunks (one ``data:`` line each)."""

    def __init__(self) -> None:
        self.base: dict[str, Any] = {
            "id": "",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "",
        }
        self.tools: dict[int, int] = {}  # block index → tool call index
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = self.base | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def event(self, data: dict[str, Any]) -> list[bytes]:
        kind = data.get("type")
        if kind == "message_start":
            message = data.get("message") or {}
            self.base["id"] = message.get("id", "")
            self.base["model"] = message.get("model", "")
            self.usage["prompt_tokens"] = (message.get("usage") or {}).get("input_tokens") or 0
            return [self._chunk({"role": "assistant"})]
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                idx = self.tools[data.get("index", 0)] = len(self.tools)
                call = {
                    "index": idx,
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": ""},
                }
                return [self._chunk({"tool_calls": [call]})]
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            return []
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if dtype == "thinking_delta":
                return [self._chunk({"reasoning_content": delta.get("thinking", "")})]
            if dtype == "input_json_delta":
                idx = self.tools.get(data.get("index", 0), 0)
                call = {"index": idx, "function": {"arguments": delta.get("partial_json", "")}}
                return [self._chunk({"tool_calls": [call]})]
            return []  # signatures, citations: no text to relay
        if kind == "message_delta":
            self.usage["completion_tokens"] = (data.get("usage") or {}).get("output_tokens") or 0
            finish = _finish((data.get("delta") or {}).get("stop_reason"))
            chunk = self.base | {
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish or "stop"}],
                "usage": self.usage | {"total_tokens": sum(self.usage.values())},
            }
            return [b"data: " + orjson.dumps(chunk) + b"\n\n"]
        if kind == "message_stop":
            return [b"data: [DONE]\n\n"]
        if kind == "error":
            error = data.get("error") or {}
            body = {
                "error": {"message": str(error.get("message", "error")), "type": str(error.get("type", ""))}
            }
            return [b"data: " + orjson.dumps(body) + b"\n\n"]
        return []  # ping, content_block_stop


async def _chat_stream(response: httpx.Response) -> AsyncIterator[bytes]:
    writer = ChunkWriter()
    try:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            try:
                data = orjson.loads(line[5:].strip())
            except orjson.JSONDecodeError:
                yield b"data: " + line[5:].strip().encode() + b"\n\n"  # the shape check refuses it
                return
            for out in writer.event(data if isinstance(data, dict) else {}):
                yield out
    finally:
        await response.aclose()


class AnthropicTransport(httpx.AsyncBaseTransport):
    """Chat completions in, Anthropic Messages out (see the module's docstring)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, version: str = DEFAULT_VERSION) -> None:
        self.inner = inner
        self.version = version

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/chat/completions"):
            body = {
                "error": {"message": "an upstream of type 'anthropic' serves chat only", "type": "not_found"}
            }
            return httpx.Response(404, json=body)
        chat = orjson.loads(await request.aread())
        url = request.url.copy_with(path=request.url.path.removesuffix("/chat/completions") + "/messages")
        headers = {"content-type": "application/json", "anthropic-version": self.version}
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            headers["x-api-key"] = auth[7:]
        outgoing = httpx.Request(
            "POST",
            url,
            headers=headers,
            content=orjson.dumps(to_messages_request(chat)),
            extensions=request.extensions,
        )
        response = await self.inner.handle_async_request(outgoing)
        stream = bool(chat.get("stream"))
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code >= 400 or not stream or media != "text/event-stream":
            content = await response.aread()
            await response.aclose()
            try:
                value: Any = orjson.loads(content)
            except orjson.JSONDecodeError:
                return httpx.Response(response.status_code, content=content, headers={"content-type": media})
            if isinstance(value, dict) and (response.status_code >= 400 or value.get("type") == "error"):
                return httpx.Response(response.status_code, json=to_chat_answer(value | {"type": "error"}))
            answer = to_chat_answer(value) if isinstance(value, dict) else value
            return httpx.Response(response.status_code, json=answer)
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_Stream(_chat_stream(response))
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Stream(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks:
            yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            await aclose()
