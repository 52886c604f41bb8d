"""``POST /v1/responses``: the OpenAI Responses API, answered by translation to the chat path.

Translation, not pass-through: the OpenAI-compatible servers hegui fronts (vLLM, Ollama, llama.cpp, most
hosted models) speak chat completions, and one output stage (the chat one) then serves every surface.

1. The request is inspected under its own map (responses_map.py): ``instructions``, every input item
   (message text parts, ``function_call`` names and arguments, ``function_call_output`` — a tool's output
   is user-controlled text —, reasoning text), tool names, descriptions and schemas, ``text.format``
   schemas, metadata; content and items hegui cannot inspect or translate are refused (400).
2. The (masked) request becomes a chat request (`to_chat`); the chat path forwards it, inspects the
   answer, labels it and writes the audit entries (endpoint ``responses``).
3. The inspected chat answer is written as a Response (`to_response`), its stream as the Responses
   stream events (`ResponsesEvents`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import RequestError
from hegui.gateway import media_inspect, routes
from hegui.gateway.fieldcheck import request_slots
from hegui.gateway.http import authenticate, read_json, state_of
from hegui.gateway.labelling import BODY_FIELD
from hegui.gateway.responses_map import RESPONSES_REQUEST, responses_request
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
)

ENDPOINT = "responses"
#: Request fields that have a chat counterpart or are only inspected; any other key is forwarded as the
#: chat route forwards unknown keys (after the input stage has inspected every string in it).
_KNOWN = frozenset(RESPONSES_REQUEST.fields)
_SAME = ("temperature", "top_p", "parallel_tool_calls", "user", "stream")


async def responses(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    model = require_model(body)
    stream = require_stream_flag(body)
    if body.get("input") is None:
        raise RequestError("'input' is required (a string or a list of input items).", param="input")
    _name_item_types(body.get("input"))
    ex = routes.open_exchange(request, principal, body, model, shape=routes.CHAT, endpoint=ENDPOINT)
    # the order the model reads them in (the joined check reads the texts in this order)
    spec = responses_request(state.policy.media.image_parts)
    slots = first_field(request_slots(spec, body), "instructions")
    turns = recent_user_turns(checked_chat(body), state.policy.gateway.recent_turns)
    pictures = await media_inspect.responses_media_slots(ex, body)  # None unless [media] takes images
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
        outcome.headers.update(pictures.headers())  # image parts passed unread say so
    return rewritten(outcome, to_response, ResponsesEvents(ex.request_id, model).events)


def _name_item_types(items: Any) -> None:
    """An input item without ``type`` is a message (EasyInputMessage); naming it lets the map tell it
    from an unknown item type, which is refused."""
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and "type" not in item and "role" in item:
                item["type"] = "message"


def checked_chat(body: dict[str, Any]) -> dict[str, Any]:
    """`to_chat`, checked once before anything is recorded (`checked_translation`)."""
    return checked_translation(body, to_chat, "the Responses API")


# -- request: Responses → chat --------------------------------------------------------------------


def _parts(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    out: list[dict[str, Any]] = []
    for part in content or []:
        kind = part.get("type")
        if kind == "input_image":  # only where [media] image_parts admits images (the map refuses else)
            image = {"url": part.get("image_url", "")}
            if part.get("detail"):
                image["detail"] = part["detail"]
            out.append({"type": "image_url", "image_url": image})
            continue
        text = part.get("refusal") if kind == "refusal" else part.get("text")
        out.append({"type": "text", "text": text or ""})
    return out


def to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The chat request for a Responses request (after its input stage: masks applied)."""
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
    for item in items if isinstance(items, list) else []:
        kind = item.get("type")
        if kind == "message":
            role = "system" if item.get("role") == "developer" else item.get("role", "user")
            messages.append({"role": role, "content": _parts(item.get("content"))})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id") or item.get("id") or "call",
                "type": "function",
                "function": {"name": item.get("name", ""), "arguments": item.get("arguments", "")},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id") or "",
                    "content": _parts(item.get("output")),
                }
            )
        # reasoning items: inspected at input, not forwarded (a chat upstream has no place for them)
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    for key in _SAME:
        if body.get(key) is not None:
            chat[key] = body[key]
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    if body.get("stream"):
        chat["stream_options"] = {"include_usage": True}
    tools = [
        {
            "type": "function",
            "function": {
                k: t[k] for k in ("name", "description", "parameters", "strict") if t.get(k) is not None
            },
        }
        for t in body.get("tools") or []
    ]
    if tools:
        chat["tools"] = tools
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        chat["tool_choice"] = choice
    elif isinstance(choice, dict):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name", "")}}
    fmt = (body.get("text") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "description", "schema", "strict") if fmt.get(k) is not None}
        chat["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    for key, value in body.items():
        if key not in _KNOWN:
            chat[key] = value
    return chat


# -- answer: chat → Responses ---------------------------------------------------------------------


def _usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    inp, out = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.get("total_tokens") or inp + out,
    }


def _status(finish: str | None) -> tuple[str, dict[str, str] | None]:
    if finish == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    if finish == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    return "completed", None


def _message_item(rid: str, kind: str, text: str, status: str = "completed") -> dict[str, Any]:
    part: dict[str, Any] = (
        {"type": "refusal", "refusal": text}
        if kind == "refusal"
        else {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    )
    suffix = "_refusal" if kind == "refusal" else ""
    return {
        "type": "message",
        "id": f"msg_{rid}{suffix}",
        "role": "assistant",
        "status": status,
        "content": [part],
    }


def _reasoning_item(rid: str, text: str) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": f"rs_{rid}",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}],
        "status": "completed",
    }


def _call_item(rid: str, i: int, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{rid}_{i}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def response_object(
    rid: str,
    model: str,
    created: Any,
    output: list[dict[str, Any]],
    status: str,
    incomplete: dict[str, str] | None,
    usage: dict[str, Any] | None,
    label: Any = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": created if isinstance(created, int | float) else 0,
        "model": model,
        "status": status,
        "output": output,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": None,
        "top_p": None,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }
    if label is not None:
        out[BODY_FIELD] = label
    return out


def to_response(answer: dict[str, Any]) -> dict[str, Any]:
    """The Response for an inspected (and labelled) chat answer."""
    rid = str(answer.get("id", ""))
    message, finish = chat_choice(answer)
    output: list[dict[str, Any]] = []
    if isinstance(message.get("reasoning_content"), str) and message["reasoning_content"]:
        output.append(_reasoning_item(rid, message["reasoning_content"]))
    if isinstance(message.get("content"), str) and message["content"]:
        output.append(_message_item(rid, "text", message["content"]))
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        output.append(_message_item(rid, "refusal", message["refusal"]))
    for i, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        output.append(
            _call_item(rid, i, call.get("id", ""), fn.get("name", ""), fn.get("arguments", ""), "completed")
        )
    status, incomplete = _status(finish)
    return response_object(
        rid,
        str(answer.get("model", "")),
        answer.get("created"),
        output,
        status,
        incomplete,
        _usage(answer.get("usage")),
        answer.get(BODY_FIELD),
    )


class ResponsesEvents:
    """The Responses stream events for the chat path's (inspected) stream.

    Each chat delta becomes a delta event of its output item (``output_text`` for content, ``refusal``,
    ``reasoning_text``, ``function_call_arguments``); items are opened on their first text and closed
    at the end, then ``response.completed`` (or ``response.incomplete`` for a stopped or cut answer)
    carries the whole Response, with the implicit label. An error from the chat path (an upstream fault,
    an unrecorded decision) becomes an ``error`` event and ``response.failed``.
    """

    def __init__(self, rid: str, model: str) -> None:
        self.seq = 0
        self.rid = rid
        self.model = model
        self.created: Any = 0
        self.items: list[dict[str, Any]] = []  # in output order
        self.open: dict[Any, dict[str, Any]] = {}  # slot → item
        self.texts: dict[Any, str] = {}
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None
        self.label: Any = None
        self.started = False

    def _ev(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return sse_event(kind, data)

    def _response(
        self, status: str, incomplete: dict[str, str] | None = None, error: Any = None
    ) -> dict[str, Any]:
        return response_object(
            self.rid, self.model, self.created, self.items, status, incomplete, self.usage, self.label, error
        )

    async def events(self, source: AsyncIterator[RelayEvent]) -> AsyncIterator[bytes]:
        async for event in source:
            if event.chunk is not None:
                for out in self._chunk(event.chunk):
                    yield out
            elif event.error is not None:
                for out in self._start():
                    yield out
                for out in self._fail(event.error):
                    yield out
                return
            elif event.done:
                for out in self._start():
                    yield out
                for out in self._end():
                    yield out
                return

    def _start(self) -> list[bytes]:
        if self.started:
            return []
        self.started = True
        return [
            self._ev("response.created", response=self._response("in_progress")),
            self._ev("response.in_progress", response=self._response("in_progress")),
        ]

    def _chunk(self, chunk: dict[str, Any]) -> list[bytes]:
        self.rid = str(chunk.get("id") or self.rid)
        self.model = str(chunk.get("model") or self.model)
        self.created = chunk.get("created", self.created)
        out = self._start()
        if isinstance(chunk.get("usage"), dict):
            self.usage = _usage(chunk["usage"])
        if chunk.get(BODY_FIELD) is not None:
            self.label = chunk[BODY_FIELD]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # one choice is asked for; others (if any upstream sends them) are not written
            delta = choice.get("delta") or {}
            for slot, kind in (
                ("reasoning", "reasoning_content"),
                ("text", "content"),
                ("refusal", "refusal"),
            ):
                if isinstance(delta.get(kind), str) and delta[kind]:
                    out += self._text(slot, delta[kind])
            for call in delta.get("tool_calls") or []:
                out += self._call(call)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return out

    def _add(self, slot: Any, item: dict[str, Any]) -> list[bytes]:
        self.items.append(item)
        self.open[slot] = item
        self.texts[slot] = ""
        return [self._ev("response.output_item.added", output_index=len(self.items) - 1, item=item)]

    def _text(self, slot: str, text: str) -> list[bytes]:
        out: list[bytes] = []
        if slot not in self.open:
            if slot == "reasoning":
                item = _reasoning_item(self.rid, "") | {"status": "in_progress", "content": []}
                out += self._add(slot, item)
            else:
                item = _message_item(self.rid, slot, "", "in_progress")
                part = item["content"][0]
                item["content"] = []
                out += self._add(slot, item)
                out.append(self._ev("response.content_part.added", **self._where(slot), part=part))
        self.texts[slot] += text
        kind = {"text": "response.output_text.delta", "refusal": "response.refusal.delta"}.get(
            slot, "response.reasoning_text.delta"
        )
        extra: dict[str, Any] = {"logprobs": []} if slot == "text" else {}
        out.append(self._ev(kind, **self._where(slot), delta=text, **extra))
        return out

    def _call(self, call: dict[str, Any]) -> list[bytes]:
        idx = call.get("index", 0)
        slot = ("call", idx)
        fn = call.get("function") or {}
        out: list[bytes] = []
        if slot not in self.open:
            item = _call_item(
                self.rid, idx, call.get("id") or f"call_{idx}", fn.get("name") or "", "", "in_progress"
            )
            out += self._add(slot, item)
        elif fn.get("name"):
            self.open[slot]["name"] += fn["name"]
        if fn.get("arguments"):
            self.texts[slot] += fn["arguments"]
            out.append(
                self._ev("response.function_call_arguments.delta", **self._where(slot), delta=fn["arguments"])
            )
        return out

    def _where(self, slot: Any) -> dict[str, Any]:
        item = self.open[slot]
        return {"item_id": item["id"], "output_index": self.items.index(item), "content_index": 0}

    def _end(self) -> list[bytes]:
        out: list[bytes] = []
        for slot, item in list(self.open.items()):
            text = self.texts[slot]
            where = self._where(slot)
            if item["type"] == "function_call":
                item["arguments"] = text
                out.append(
                    self._ev(
                        "response.function_call_arguments.done", **where, arguments=text, name=item["name"]
                    )
                )
            elif item["type"] == "reasoning":
                item["content"] = [{"type": "reasoning_text", "text": text}]
                out.append(self._ev("response.reasoning_text.done", **where, text=text))
            else:
                part = _message_item(self.rid, slot, text)["content"][0]
                item["content"] = [part]
                if slot == "text":
                    out.append(self._ev("response.output_text.done", **where, text=text, logprobs=[]))
                else:
                    out.append(self._ev("response.refusal.done", **where, refusal=text))
                out.append(self._ev("response.content_part.done", **where, part=part))
            item["status"] = "completed"
            out.append(self._ev("response.output_item.done", output_index=where["output_index"], item=item))
        status, incomplete = _status(self.finish)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        out.append(self._ev(kind, response=self._response(status, incomplete)))
        return out

    def _fail(self, error: dict[str, Any]) -> list[bytes]:
        code = str(error.get("code") or error.get("type") or "error")
        message = str(error.get("message") or "the answer could not be completed")
        return [
            self._ev("error", code=code, message=message, param=None),
            self._ev(
                "response.failed",
                response=self._response("failed", error={"code": "server_error", "message": message}),
            ),
        ]
