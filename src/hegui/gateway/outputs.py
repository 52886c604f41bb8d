"""The output stage of chat and completion answers, field by field: whole answers here, streams in the
relay (which uses the stream helpers below).

Every text slot of the answer (fieldmap.py) is inspected; the texts of one choice are also inspected
joined (joined.py); ``logprobs`` follows the policy (echoes.py); the speech of ``message.audio`` is
released only with its transcript released unchanged, because speech cannot be masked.
"""

from __future__ import annotations

from typing import Any

from hegui.errors import CheckFailed, ContentRefused
from hegui.gateway.echoes import StreamEchoes, release_whole
from hegui.gateway.exchange import Exchange, FieldFinding
from hegui.gateway.fieldcheck import SlotKey, field_name
from hegui.gateway.fields import Spec, render, walk
from hegui.gateway.joined import Piece, crossing
from hegui.gateway.shapes import Shape
from hegui.guard.types import Action, Stage


def checks_active(ex: Exchange) -> bool:
    """Whether anything inspects the output (else nothing is held back and echoes may pass)."""
    return bool(ex.state.pipeline.checks_for(Stage.OUTPUT))


def _completions(shape: Shape) -> bool:
    return shape.content_field == "text"


def inspect_answer(ex: Exchange, shape: Shape, answer: dict[str, Any]) -> tuple[Action, list[FieldFinding]]:
    """Inspect a whole answer in place (masks applied, pseudonyms restored); the caller stops it."""
    action, found = Action.ALLOW, []
    released: dict[SlotKey, str | None] = {}
    pieces: dict[Any, list[Piece]] = {}
    for slot in shape.response_slots(answer, frozenset((ex.request_id, ex.model))):
        text = ex.restore(slot.text)  # the user's own values back, before the output stage
        verdict = ex.run(Stage.OUTPUT, text)
        name = field_name(slot.key)
        found += [(name, f) for f in verdict.findings]
        action = max(action, verdict.action)
        unchanged = verdict.action == Action.ALLOW and text == slot.text
        released[slot.key] = slot.text if unchanged else None
        if verdict.action.stops:
            slot.set("")  # stopped_message replaces the choices; this also empties fields outside them
        elif verdict.text != slot.text:
            slot.set(verdict.text)
        pieces.setdefault(slot.key[0], []).append(Piece(name, text))
    for group in pieces.values():
        for name, f in crossing(lambda t: ex.run(Stage.OUTPUT, t), group):
            found.append((name, f))
            action = max(action, f.action)
    if checks_active(ex):
        _answer_echoes(ex, shape, answer, released)
        _answer_audio(answer, released)
    return action, found


def _answer_echoes(
    ex: Exchange, shape: Shape, answer: dict[str, Any], released: dict[SlotKey, str | None]
) -> None:
    keep = ex.state.policy.gateway.logprobs == "released"
    completions = _completions(shape)
    for choice in answer.get("choices") or []:
        if not isinstance(choice, dict) or choice.get("logprobs") is None:
            continue
        if not keep:
            choice["logprobs"] = None
            continue
        idx = choice.get("index", 0)
        names = ("text",) if completions else ("content", "refusal")
        choice["logprobs"] = release_whole(
            choice["logprobs"], {n: released.get((idx, n)) for n in names}, completions=completions
        )


def _answer_audio(answer: dict[str, Any], released: dict[SlotKey, str | None]) -> None:
    for choice in answer.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        audio = message.get("audio") if isinstance(message, dict) else None
        if (
            isinstance(audio, dict)
            and "data" in audio
            and released.get((choice.get("index", 0), "audio.transcript")) is None
        ):
            audio.pop("data")


def stream_echoes(ex: Exchange, shape: Shape, unrestored: bool) -> StreamEchoes | None:
    """The echo buffer of a stream; None when no output check is active (nothing is held back)."""
    if not checks_active(ex):
        return None
    keep = ex.state.policy.gateway.logprobs == "released" and unrestored
    return StreamEchoes(keep=keep, completions=_completions(shape))


def strip_chunk(chunk: dict[str, Any], choices: list[dict[str, Any]], echoes: StreamEchoes | None) -> None:
    """What a chunk may not carry as sent: its ``logprobs`` go to the echo buffer; streamed speech is
    dropped while output checks are active (its transcript is held back and speech cannot be masked);
    ``obfuscation`` padding is dropped (it is no text, and nothing unchecked leaves)."""
    chunk.pop("obfuscation", None)
    if echoes is None:
        return
    for choice in choices:
        echoes.take(choice)
        delta = choice.get("delta")
        audio = delta.get("audio") if isinstance(delta, dict) else None
        if isinstance(audio, dict):
            audio.pop("data", None)


async def inspect_strings(
    ex: Exchange, spec: Spec, answer: dict[str, Any]
) -> tuple[Action, list[FieldFinding]]:
    """The output stage on the strings of an answer that carries no generated text (embeddings, the
    items of an image answer): masks applied in place; a stopping finding is recorded and refused."""
    action, found = Action.ALLOW, []
    try:
        for t in walk(spec, answer, request=False).texts:
            verdict = await ex.judge(Stage.OUTPUT, ex.restore(t.text))
            found += [(render(t.path), f) for f in verdict.findings]
            action = max(action, verdict.action)
            if verdict.text != t.text:
                t.set(verdict.text)
    except CheckFailed as exc:
        await ex.record_error("output", exc)
        raise
    if action.stops:
        await ex.record(ex.draft("output", action.value, "", found))
        raise ContentRefused(ex.state.refusals.for_findings(tuple(f for _, f in found)))
    return action, found
