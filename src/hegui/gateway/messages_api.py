"""``POST /v1/messages``: Anthropic's Messages API, answered by translation to the chat path.

The request is inspected under its own map (messages_map.py): ``system`` (a string or text blocks), every
message's text blocks, ``tool_use`` names and inputs (every key and string of the input JSON),
``tool_result`` content (a tool's output is user-controlled text), thinking text, tool names,
descriptions and ``input_schema``; image, document and server-tool blocks are refused (400). The
(masked) request then becomes a chat request for the OpenAI-compatible upstream (`to_chat`); the chat
path inspects the answer, labels it and writes the audit entries (endpoint ``messages``); the result is
written as a Message (`to_message`) or as the Messages stream events (`MessagesEvents`). Errors are
Anthropic-shaped (``{"type": "error", "error": {...}}``).

The key may be sent as Anthropic clients send it (``x-api-key``) or as ``Authorization: Bearer``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import HeguiError, RequestError
from hegui.gateway import media_inspect, routes
from hegui.gateway.fieldcheck import request_slots
from hegui.gateway.http import authenticate, json_response, read_json, state_of
from hegui.gateway.labelling import BODY_FIELD
from hegui.gateway.messages_map import MESSAGES_REQUEST, messages_request
from hegui.gateway.schemas import recent_user_turns
from hegui.gateway.surfaces import (
    RelayEvent,
    chat_choice,
    checked_translation,
    first_field,
    require_model,
    require_stream_flag,
    rewritten,
    sse_event,
    tool_arguments_json,
)

ENDPOINT = "messages"
_KNOWN = frozenset(MESSAGES_REQUEST.fields)
_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


async def messages(request: Request) -> Response:
    try:
        return await _messages(_with_bearer(request))
    except HeguiError as exc:
        return json_response(anthropic_error(exc.status(), exc.message), status=exc.status())


def _with_bearer(request: Request) -> Request:
    """Anthropic clients send the key as ``x-api-key``: it is read as the bearer token (the same keys)."""
    if "authorization" in request.headers or "x-api-key" not in request.headers:
        return request
    scope = dict(request.scope)
    token = request.headers["x-api-key"].encode("latin-1")
    scope["headers"] = [*request.scope["headers"], (b"authorization", b"Bearer " + token)]
    return Request(scope, request.receive)


async def _messages(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    model = require_model(body)
    stream = require_stream_flag(body)
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise RequestError("'messages' is required and must be a non-empty list.", param="messages")
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict) and "type" not in tool:
            tool["type"] = "custom"  # a client tool (the type is optional); server tools name theirs
    ex = routes.open_exchange(request, principal, body, model, shape=routes.CHAT, endpoint=ENDPOINT)
    # the order the model reads them in (the joined check reads the texts in this order)
    slots = first_field(request_slots(messages_request(state.policy.media.image_parts), body), "system")
    turns = recent_user_turns(checked_chat(body), state.policy.gateway.recent_turns)
    pictures = await media_inspect.messages_media_slots(ex, body)  # None unless [media] takes images
    if pictures is not None:
        slots += pictures.slots
    outcome = await ex.complete(
        routes.CHAT,
        body,
        slots,
        turns,
        stream=stream,
        translate=to_chat,
        latest=lambda: (recent_user_turns(to_chat(body), 1) or [""])[-1],
        pictures=pictures,
    )
    if pictures is not None:
        outcome.headers.update(pictures.headers())  # image blocks passed unread say so
    return rewritten(outcome, to_message, MessagesEvents(ex.request_id, model).events)


def checked_chat(body: dict[str, Any]) -> dict[str, Any]:
    """`to_chat`, checked once before anything is recorded (`checked_translation`)."""
    return checked_translation(body, to_chat, "Anthropic's Messages API")


# -- request: Messages → chat ---------------------------------------------------------------------


def _text_of(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return [{"type": "text", "text": b.get("text", "")} for b in content or [] if b.get("type") == "text"]


def _message(message: dict[str, Any], out: list[dict[str, Any]]) -> None:
    role, content = message.get("role", "user"), message.get("content")
    if isinstance(content, str):
        out.append({"role": role, "content": content})
        return
    texts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for block in content or []:
        kind = block.get("type")
        if kind == "text":
            texts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":  # only where [media] image_parts admits images (the map refuses else)
            texts.append({"type": "image_url", "image_url": {"url": _image_url(block.get("source"))}})
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": arguments},
                }
            )
        elif kind == "tool_result":  # a tool's output: a message of its own in chat
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": block.get("tool_use_id", ""),
                    "content": _text_of(block.get("content")),
                }
            )
        # thinking blocks: inspected at input, not forwarded (a chat upstream has no place for them)
    if texts or calls:
        msg: dict[str, Any] = {"role": role, "content": texts or None}
        if calls:
            msg["tool_calls"] = calls
        out.append(msg)


def _image_url(source: dict[str, Any]) -> str:
    """An image block's source as a chat image URL (base64 as a ``data:`` URL)."""
    if source.get("type") == "base64":
        return f"data:{source.get('media_type', '')};base64,{source.get('data', '')}"
    return str(source.get("url", ""))


def to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The chat request for a Messages request (after its input stage: masks applied)."""
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _text_of(system)})
    for message in body.get("messages") or []:
        _message(message, messages)
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    for key in ("max_tokens", "temperature", "top_p", "stream"):
        if body.get(key) is not None:
            chat[key] = body[key]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    if body.get("stream"):
        chat["stream_options"] = {"include_usage": True}
    tools = []
    for tool in body.get("tools") or []:
        fn = {"name": tool.get("name", ""), "parameters": tool.get("input_schema") or {}}
        if tool.get("description"):
            fn["description"] = tool["description"]
        tools.append({"type": "function", "function": fn})
    if tools:
        chat["tools"] = tools
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind == "tool":
            chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name", "")}}
        elif kind in ("auto", "none"):
            chat["tool_choice"] = kind
        elif kind == "any":
            chat["tool_choice"] = "required"
        if choice.get("disable_parallel_tool_use"):
            chat["parallel_tool_calls"] = False
    for key, value in body.items():
        if key not in _KNOWN:
            chat[key] = value
    return chat


# -- answer: chat → Messages ----------------------------------------------------------------------


def _usage(usage: Any) -> dict[str, Any]:
    usage = usage if isinstance(usage, dict) else {}
    return {
        "input_tokens": usage.get("prompt_tokens") or 0,
        "output_tokens": usage.get("completion_tokens") or 0,
    }


def to_message(answer: dict[str, Any]) -> dict[str, Any]:
    """The Message for an inspected (and labelled) chat answer."""
    message, finish = chat_choice(answer)
    content: list[dict[str, Any]] = []
    for key in ("content", "refusal"):
        if isinstance(message.get(key), str) and message[key]:
            content.append({"type": "text", "text": message[key]})
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": fn.get("name", ""),
                "input": tool_arguments_json(fn.get("arguments", "")),
            }
        )
    out: dict[str, Any] = {
        "id": answer.get("id", ""),
        "type": "message",
        "role": "assistant",
        "model": answer.get("model", ""),
        "content": content,
        "stop_reason": _STOP.get(finish or "", "end_turn"),
        "stop_sequence": None,
        "usage": _usage(answer.get("usage")),
    }
    if answer.get(BODY_FIELD) is not None:
        out[BODY_FIELD] = answer[BODY_FIELD]
    return out


class MessagesEvents:
    """The Messages stream events for the chat path's (inspected) stream: ``message_start``, one content
    block per text or tool call (``content_block_start`` / ``_delta`` / ``_stop``; tool input as
    ``input_json_delta``, after the text), ``message_delta`` (stop reason, usage, the implicit label), ``message_stop``;
    an error from the chat path becomes an ``error`` event."""

    def __init__(self, rid: str, model: str) -> None:
        self.started = False
        self.blocks: dict[Any, int] = {}  # slot → block index
        self.current: Any = None
        self.count = 0  # blocks opened so far (the next block's index)
        self.calls: dict[int, dict[str, str]] = {}  # tool calls by index, written at the end
        self.finish: str | None = None
        self.usage: Any = None
        self.label: Any = None
        self.rid = rid
        self.model = model

    async def events(self, source: AsyncIterator[RelayEvent]) -> AsyncIterator[bytes]:
        async for event in source:
            if event.chunk is not None:
                for out in self._chunk(event.chunk):
                    yield out
            elif event.error is not None:
                message = str(event.error.get("message") or "the answer could not be completed")
                yield sse_event("error", anthropic_error(502, message))
                return
            elif event.done:
                for out in self._end():
                    yield out
                return

    def _start(self) -> list[bytes]:
        if self.started:
            return []
        self.started = True
        message: dict[str, Any] = {
            "id": self.rid,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [sse_event("message_start", {"type": "message_start", "message": message})]

    def _open(self, slot: Any, block: dict[str, Any]) -> list[bytes]:
        out = self._close()
        index = self.count
        self.count += 1
        self.blocks[slot] = index
        self.current = slot
        out.append(
            sse_event(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
            )
        )
        return out

    def _close(self) -> list[bytes]:
        if self.current is None:
            return []
        index = self.blocks[self.current]
        self.current = None
        return [sse_event("content_block_stop", {"type": "content_block_stop", "index": index})]

    def _delta(self, slot: Any, delta: dict[str, Any]) -> bytes:
        data = {"type": "content_block_delta", "index": self.blocks[slot], "delta": delta}
        return sse_event("content_block_delta", data)

    def _chunk(self, chunk: dict[str, Any]) -> list[bytes]:
        self.rid = str(chunk.get("id") or self.rid)
        self.model = str(chunk.get("model") or self.model)
        out = self._start()
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if chunk.get(BODY_FIELD) is not None:
            self.label = chunk[BODY_FIELD]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            for key in ("content", "refusal"):
                text = delta.get(key)
                if isinstance(text, str) and text:
                    if self.current != key:
                        # a text block resumed after a tool call is a new block
                        self.blocks.pop(key, None)
                        out += self._open(key, {"type": "text", "text": ""})
                    out.append(self._delta(key, {"type": "text_delta", "text": text}))
            for call in delta.get("tool_calls") or []:
                # held until the end: the name streams through its inspector like any text, and a
                # tool_use block must carry its whole name when it starts
                held = self.calls.setdefault(call.get("index", 0), {"id": "", "name": "", "arguments": ""})
                fn = call.get("function") or {}
                held["id"] = held["id"] or call.get("id") or ""
                held["name"] += fn.get("name") or ""
                held["arguments"] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return out

    def _end(self) -> list[bytes]:
        out = self._start()
        for idx, call in sorted(self.calls.items()):
            slot = ("call", idx)
            block: dict[str, Any] = {"type": "tool_use", "id": call["id"], "name": call["name"], "input": {}}
            out += self._open(slot, block)
            if call["arguments"]:
                out.append(self._delta(slot, {"type": "input_json_delta", "partial_json": call["arguments"]}))
        out += self._close()
        data: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": _STOP.get(self.finish or "", "end_turn"), "stop_sequence": None},
            "usage": {"output_tokens": _usage(self.usage)["output_tokens"]},
        }
        if self.label is not None:
            data[BODY_FIELD] = self.label
        out.append(sse_event("message_delta", data))
        out.append(sse_event("message_stop", {"type": "message_stop"}))
        return out
