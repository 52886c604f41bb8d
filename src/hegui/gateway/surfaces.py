"""What /v1/responses and /v1/messages share: they run the chat path and rewrite its answer.

Both surfaces are answered by translation to the chat completion path (`Exchange.complete`): their own
fields are the input stage's slots, the upstream receives a chat request, and the chat answer goes
through the one output stage (outputs.py for whole answers, the relay for streams) with its labels and
audit entries. What leaves is then only rewritten into the surface's shape: the rewrite reads the chat
outcome (its body, or the relay's events) *after* inspection, so it can only carry text the output stage
released.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

from hegui.errors import RequestError
from hegui.gateway.eventstream import EventStreamResponse
from hegui.gateway.http import json_response
from hegui.gateway.outcome import Outcome, StreamAnswer, WholeAnswer
from hegui.gateway.schemas import Slot, recent_user_turns


@dataclass(frozen=True, slots=True)
class RelayEvent:
    """One event of the chat path's stream: a chunk, the end (``[DONE]``), or an error object."""

    chunk: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    done: bool = False


async def relay_events(events: AsyncIterator[bytes]) -> AsyncIterator[RelayEvent]:
    """The chat path's stream, event by event (each piece it yields is one ``data:`` event)."""
    async for raw in events:
        for line in raw.split(b"\n"):
            if not line.startswith(b"data: "):
                continue
            data = line[6:]
            if data == b"[DONE]":
                yield RelayEvent(done=True)
                continue
            value = orjson.loads(data)
            if isinstance(value, dict) and isinstance(value.get("error"), dict):
                yield RelayEvent(error=value["error"])
            elif isinstance(value, dict):
                yield RelayEvent(chunk=value)


def rewritten(
    outcome: Outcome,
    whole: Callable[[dict[str, Any]], dict[str, Any]],
    events: Callable[[AsyncIterator[RelayEvent]], AsyncIterator[bytes]],
) -> Response:
    """The chat outcome in the surface's shape: ``whole`` rewrites an answer, ``events`` a stream; the
    chat path's headers (request id, implicit label) are kept."""
    if isinstance(outcome, WholeAnswer):
        return json_response(whole(outcome.body), headers=outcome.headers)
    assert isinstance(outcome, StreamAnswer)
    return EventStreamResponse(events(relay_events(outcome.events)), headers=outcome.headers)


def sse_event(kind: str, data: dict[str, Any]) -> bytes:
    """A named server-sent event (both APIs name their events)."""
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def require_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("'model' is required and must be a non-empty string.", param="model")
    return model


def require_stream_flag(body: dict[str, Any]) -> bool:
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise RequestError("'stream' must be a boolean.", param="stream")
    return stream


def tool_arguments_json(arguments: str) -> dict[str, Any]:
    """A tool call's arguments as an object (Anthropic's ``tool_use.input``); text that is not a JSON
    object is kept under ``_raw`` rather than lost."""
    try:
        value = orjson.loads(arguments) if arguments else {}
    except orjson.JSONDecodeError:
        return {"_raw": arguments}
    return value if isinstance(value, dict) else {"_raw": arguments}


def chat_choice(answer: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The first choice's message and finish reason (the surfaces ask for one choice)."""
    for choice in answer.get("choices") or []:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            message = choice.get("message")
            return (message if isinstance(message, dict) else {}), choice.get("finish_reason")
    return {}, None


def checked_translation(
    body: dict[str, Any], to_chat: Callable[[dict[str, Any]], dict[str, Any]], api: str
) -> dict[str, Any]:
    """``to_chat(body)``, run once before anything is recorded: a body whose items or blocks are not of the
    shape of ``api`` (a string where an object belongs, a list where a string belongs) is a 400 here,
    before the input stage, so the translation after it cannot fail half-way."""
    try:
        chat = to_chat(body)
        recent_user_turns(chat, 1)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        raise RequestError(
            f"The request does not have the shape of {api}: {exc.__class__.__name__}."
        ) from None
    return chat


def first_field(slots: list[Slot], prefix: str) -> list[Slot]:
    """The slots whose field starts with ``prefix`` (the system text) first, as the upstream receives
    them, whatever the body's key order."""
    return sorted(slots, key=lambda s: not s.field.startswith(prefix))
