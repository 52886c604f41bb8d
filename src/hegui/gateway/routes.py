"""The OpenAI-compatible routes: chat completions, completions, embeddings, models.

HTTP only: read and bound the body, authenticate, parse, open the exchange, turn its outcome into a
response. What happens to the request between is the exchange's (exchange.py).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hegui.gateway import fieldmap, media_inspect
from hegui.gateway.bounds import check_bounds
from hegui.gateway.eventstream import EventStreamResponse
from hegui.gateway.exchange import Exchange
from hegui.gateway.fieldcheck import request_slots
from hegui.gateway.http import authenticate, end_user, json_response, read_json, session_of, state_of
from hegui.gateway.outcome import Outcome, WholeAnswer
from hegui.gateway.schemas import (
    ChatRequest,
    CompletionRequest,
    EmbeddingRequest,
    parse,
    recent_user_turns,
)
from hegui.gateway.shapes import ChatShape, CompletionShape, Shape
from hegui.gateway.state import Principal

CHAT = ChatShape()
COMPLETION = CompletionShape()


def respond(outcome: Outcome) -> Response:
    """An exchange's outcome as HTTP: JSON, or server-sent events."""
    if isinstance(outcome, WholeAnswer):
        return json_response(outcome.body, headers=outcome.headers)
    return EventStreamResponse(outcome.events, headers=outcome.headers)


async def chat_completions(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    req = parse(ChatRequest, body)
    ex = open_exchange(request, principal, body, req.model, shape=CHAT, endpoint="chat.completions")
    turns = recent_user_turns(body, state.policy.gateway.recent_turns)
    media = state.policy.media
    spec = fieldmap.chat_request(media.image_parts, media.audio_parts == "transcribe")
    slots = request_slots(spec, body)
    pictures = await media_inspect.chat_media_slots(ex, body)  # None unless [media] reads images or audio
    if pictures is not None:
        slots += pictures.slots
    outcome = await ex.complete(
        CHAT, body, slots, turns, stream=req.stream, latest=lambda: latest_turn(body), pictures=pictures
    )
    if pictures is not None:
        outcome.headers.update(pictures.headers())  # image parts passed unread say so
    return respond(outcome)


async def completions(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    req = parse(CompletionRequest, body)
    ex = open_exchange(request, principal, body, req.model, shape=COMPLETION, endpoint="completions")
    slots = request_slots(fieldmap.COMPLETIONS.request, body)
    outcome = await ex.complete(
        COMPLETION, body, slots, [], stream=req.stream, latest=lambda: latest_turn(body)
    )
    return respond(outcome)


def open_exchange(
    request: Request,
    principal: Principal,
    body: dict[str, Any],
    model: str,
    *,
    shape: Shape | None,
    endpoint: str,
    id_prefix: str = "",
) -> Exchange:
    """The exchange of one request: the model's upstream (404 if none), the end user, the session.
    A request that asks for more than the policy allows (``n``, ``size``) is a 400 here."""
    state = state_of(request)
    check_bounds(body, state.policy.gateway, endpoint)
    return Exchange(
        state,
        principal,
        shape,
        state.router.for_model(model),
        model=model,
        end_user=end_user(request, body),
        endpoint=endpoint,
        id_prefix=id_prefix,
        session=session_of(request),
    )


def latest_turn(body: dict[str, Any]) -> str:
    """The user's newest turn as forwarded (read after the input stage: masked when masked)."""
    if "messages" in body:
        turns = recent_user_turns(body, 1)
        return turns[-1] if turns else ""
    value = body.get("prompt", body.get("input"))
    return value if isinstance(value, str) else "\n".join(v for v in value or [] if isinstance(v, str))


async def embeddings(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    req = parse(EmbeddingRequest, body)
    ex = open_exchange(
        request, principal, body, req.model, shape=None, endpoint="embeddings", id_prefix="emb-"
    )
    slots = request_slots(fieldmap.EMBEDDINGS.request, body)
    return respond(await ex.embed(body, slots, lambda: latest_turn(body)))


async def list_models(request: Request) -> Response:
    state = state_of(request)
    authenticate(request)
    data = [
        {"id": m, "object": "model", "created": 0, "owned_by": up.name} for m, up in state.router.models()
    ]
    return json_response({"object": "list", "data": data})


async def get_model(request: Request) -> Response:
    state = state_of(request)
    authenticate(request)
    model = request.path_params["model"]
    up = state.router.for_model(model)
    return json_response({"id": model, "object": "model", "created": 0, "owned_by": up.name})
