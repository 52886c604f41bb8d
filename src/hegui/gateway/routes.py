"""The OpenAI-compatible routes: chat completions, completions, embeddings, models."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hegui.errors import CheckFailed, ContentRefused
from hegui.gateway import fieldmap, media_inspect
from hegui.gateway.bounds import check_bounds
from hegui.gateway.exchange import Exchange, FieldFinding
from hegui.gateway.fieldcheck import request_slots
from hegui.gateway.history import without_own_labels
from hegui.gateway.http import authenticate, end_user, json_response, read_json, session_of, state_of
from hegui.gateway.outputs import inspect_answer, inspect_strings
from hegui.gateway.relay import DONE, StreamRelay, slot_field, sse
from hegui.gateway.schemas import (
    ChatRequest,
    CompletionRequest,
    EmbeddingRequest,
    Slot,
    parse,
    recent_user_turns,
)
from hegui.gateway.shapes import ChatShape, CompletionShape, Shape
from hegui.gateway.state import Principal
from hegui.guard.types import Action, Stage

CHAT = ChatShape()
COMPLETION = CompletionShape()


def _headers(ex: Exchange) -> dict[str, str]:
    return {"x-hegui-request-id": ex.request_id}


async def chat_completions(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    req = parse(ChatRequest, body)
    ex = open_exchange(request, principal, body, req.model, shape=CHAT, endpoint="chat.completions")
    turns = recent_user_turns(body, state.policy.gateway.recent_turns)
    media = state.policy.media
    spec = fieldmap.chat_request(media.image_parts == "ocr", media.audio_parts == "transcribe")
    slots = request_slots(spec, body)
    pictures = await media_inspect.chat_media_slots(ex, body)  # None unless [media] reads images or audio
    if pictures is not None:
        slots += pictures.slots
    return await _complete(ex, CHAT, body, slots, turns, stream=req.stream, pictures=pictures)


async def completions(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    req = parse(CompletionRequest, body)
    ex = open_exchange(request, principal, body, req.model, shape=COMPLETION, endpoint="completions")
    slots = request_slots(fieldmap.COMPLETIONS.request, body)
    return await _complete(ex, COMPLETION, body, slots, [], stream=req.stream)


async def _inspect_input(
    ex: Exchange,
    slots: list[Slot],
    turns: list[str],
    body: dict[str, Any],
    latest: Callable[[], str] | None = None,
) -> tuple[Action, list[FieldFinding]]:
    return await ex.input_stage(slots, turns, latest or (lambda: _latest_turn(body)))


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


async def _stream_response(
    relay: StreamRelay, headers: dict[str, str], label_headers: dict[str, str]
) -> StreamingResponse:
    """The stream's response. Headers leave before the body, so the events up to the first released
    generated text are read first (they carry no text: a role chunk, or a stop): the AIGC label header goes
    only on a stream that carries generated text (issue 12.5), like the explicit label and the AIGC field."""
    events = relay.events()
    head: list[bytes] = []
    try:
        async for event in events:
            head.append(event)
            if relay.begun:
                break
    except BaseException:
        await events.aclose()
        raise

    async def body() -> AsyncIterator[bytes]:
        for event in head:
            yield event
        async for event in events:
            yield event

    labelled = headers | label_headers if relay.begun else headers
    return StreamingResponse(body(), media_type="text/event-stream", headers=labelled)


async def _discard(opening: asyncio.Future[httpx.Response]) -> None:
    """Stop an upstream stream that may not be used (its input decision could not be recorded)."""
    if not opening.done():
        opening.cancel()
    try:
        response = await opening
    except BaseException:  # cancelled or failed: there is nothing to close
        return
    await response.aclose()


def _latest_turn(body: dict[str, Any]) -> str:
    if "messages" in body:
        turns = recent_user_turns(body, 1)
        return turns[-1] if turns else ""
    value = body.get("prompt", body.get("input"))
    return value if isinstance(value, str) else "\n".join(v for v in value or [] if isinstance(v, str))


async def _complete(
    ex: Exchange,
    shape: Shape,
    body: dict[str, Any],
    slots: list[Slot],
    turns: list[str],
    *,
    stream: bool,
    translate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    latest: Callable[[], str] | None = None,
    pictures: media_inspect.ImageSlots | None = None,
) -> Response:
    """The chat and completion path. ``translate``: another API's request (/v1/responses, /v1/messages)
    whose ``slots`` are its own fields, turned into the chat request the upstream receives after the
    input stage and egress have rewritten those fields (so masks and pseudonyms reach the upstream)."""
    state = ex.state
    action, found = await _inspect_input(ex, slots, turns, body, latest)
    inputs = {s.field: s.text for s in slots}
    input_draft = ex.draft("input", action.value, inputs, found)
    if action.stops:
        await ex.record(input_draft)
        text = await ex.refusal_text(found)
        await ex.keep(ex.prompt, text, action, action)
        if stream:
            chunks = [*(sse(c) for c in shape.refusal_chunks(ex.request_id, ex.model, text)), DONE]
            return StreamingResponse(iter(chunks), media_type="text/event-stream", headers=_headers(ex))
        return json_response(shape.refusal(ex.request_id, ex.model, text), headers=_headers(ex))
    if pictures is not None:  # text drawn in an image (or spoken) cannot be masked: a mask refuses
        await pictures.refuse_masked(ex, found)

    recorded = ex.record_later(input_draft)
    await ex.egress(slots, body)
    if translate is not None:
        body = translate(body)
    without_own_labels(body, state.labeller.prefix, state.labeller.suffix)  # the upstream's copy only
    if stream:
        # Open the upstream while the input decision commits; the first byte waits for both.
        opening = asyncio.ensure_future(ex.upstream_call(lambda: ex.upstream.open_stream(shape.path, body)))
        try:
            await asyncio.wrap_future(recorded)
        except BaseException:
            await _discard(opening)
            raise
        response = await opening
        relay = StreamRelay(ex, shape, response)
        return await _stream_response(relay, _headers(ex), state.labeller.headers(ex.request_id))

    answer = await ex.upstream_call(lambda: ex.upstream.post_json(shape.path, body))
    answer["id"] = ex.request_id
    try:
        out_action, out_found = await ex.off_loop(
            Stage.OUTPUT, functools.partial(inspect_answer, ex, shape, answer)
        )
    except CheckFailed as exc:
        await ex.record_error("output", exc)
        raise
    if out_action.stops:
        shape.stopped_message(
            answer,
            state.policy.gateway.output_stop_text
            or state.refusals.for_findings(tuple(f for _, f in out_found)),
        )
    state.metrics.decision("output", out_action.value, [f for _, f in out_found])
    outputs = {slot_field(s.key): s.text for s in shape.response_slots(answer)}
    await ex.record(ex.draft("output", out_action.value, outputs, out_found))
    released = [s.text for s in shape.response_slots(answer) if s.key[1] == shape.content_field]
    await ex.keep(ex.prompt, "\n".join(released), action, out_action)
    if out_action.stops:
        return json_response(answer, headers=_headers(ex))
    state.labeller.label_answer(answer, ex.request_id)
    return json_response(answer, headers=_headers(ex) | state.labeller.headers(ex.request_id))


async def embeddings(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    req = parse(EmbeddingRequest, body)
    ex = open_exchange(
        request, principal, body, req.model, shape=None, endpoint="embeddings", id_prefix="emb-"
    )
    slots = request_slots(fieldmap.EMBEDDINGS.request, body)
    action, found = await _inspect_input(ex, slots, [], body)
    await ex.record(ex.draft("input", action.value, {s.field: s.text for s in slots}, found))
    if action.stops:
        raise ContentRefused(await ex.refusal_text(found), param="input")
    await ex.egress(slots, body)
    answer = await ex.upstream_call(lambda: ex.upstream.post_json("/embeddings", body))
    await inspect_strings(ex, fieldmap.EMBEDDINGS.answer, answer)
    return json_response(answer, headers=_headers(ex))


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
