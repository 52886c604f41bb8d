"""The output stage: one per exchange, used by every route (whole answers, streams, media, embeddings).

Every text of an answer goes through `OutputStage.judge`: pseudonyms restored first (the user's own
values are judged, as they would be read), then the output checks, the findings kept under the field's
name. Whole answers (`answer`), the strings of answers that carry no generated text (`strings`: image
items, embeddings) and the fields of a stream that are inspected as one piece (the relay's identifiers and
unknown top-level strings) all use it; the relay's per-slot stream inspectors add their own findings at the
end. The texts of one choice are also inspected joined (joined.py); ``logprobs`` follows the policy
(echoes.py); the speech of ``message.audio`` is released only with its transcript released unchanged,
because speech cannot be masked. `decided` counts and records the stage's one decision; `failed` records a
check that errored (fail closed: the answer is withheld by the caller).

This module judges and records; it never builds an HTTP response.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hegui.errors import CheckFailed
from hegui.gateway.echoes import StreamEchoes, release_whole
from hegui.gateway.fieldcheck import SlotKey, field_name
from hegui.gateway.fields import Spec, render, walk
from hegui.gateway.joined import Piece, crossing
from hegui.gateway.shapes import Shape
from hegui.gateway.stopping import stream_stop_text
from hegui.guard.types import Action, Finding, Stage, Verdict

if TYPE_CHECKING:
    from hegui.gateway.exchange import Exchange, FieldFinding


class OutputStage:
    """The findings and the decision of one exchange's output stage."""

    def __init__(self, exchange: Exchange) -> None:
        self.ex = exchange
        self.found: list[FieldFinding] = []
        self.action = Action.ALLOW
        #: Verdicts of texts judged once per exchange (a stream repeats ``model`` in every chunk).
        self._seen: dict[str, Verdict] = {}

    @property
    def active(self) -> bool:
        """Whether anything inspects the output (else nothing is held back and echoes may pass)."""
        return bool(self.ex.state.pipeline.checks_for(Stage.OUTPUT))

    # -- judging ----------------------------------------------------------------------------------

    def judge(self, name: str, text: str) -> Verdict:
        """One text of the answer: pseudonyms restored, the output checks run, the findings kept.
        The verdict's text is what may replace the field (restored and masked)."""
        return self._judge_restored(name, self.ex.restore(text))

    def _judge_restored(self, name: str, restored: str) -> Verdict:
        verdict = self.ex.run(Stage.OUTPUT, restored)
        self._keep(name, verdict.findings, verdict.action)
        return verdict

    def judge_once(self, name: str, text: str) -> Verdict:
        """`judge`, once per distinct text of the exchange (values a stream repeats in every chunk)."""
        verdict = self._seen.get(text)
        if verdict is None:
            verdict = self._seen[text] = self.judge(name, text)
        return verdict

    def joined(self, pieces: list[Piece]) -> bool:
        """The pieces joined (joined.py): refusing findings that cross a boundary. True if any did."""
        crossed = False
        for name, f in crossing(lambda text: self.ex.run(Stage.OUTPUT, text), pieces):
            self._keep(name, (f,), f.action)
            crossed = True
        return crossed

    def add(self, name: str, verdict: Verdict) -> None:
        """Findings judged elsewhere (a stream slot's inspector) into the stage's decision."""
        self._keep(name, verdict.findings, verdict.action)

    def extend(self, found: Iterable[FieldFinding], action: Action) -> None:
        """Findings of texts judged outside this stage (the text read from generated pictures)."""
        self.found += list(found)
        self.action = max(self.action, action)

    def _keep(self, name: str, findings: Iterable[Finding], action: Action) -> None:
        self.found += [(name, f) for f in findings]
        self.action = max(self.action, action)

    # -- whole answers ----------------------------------------------------------------------------

    def answer(self, shape: Shape, answer: dict[str, Any]) -> Action:
        """Inspect a whole chat or completion answer in place (masks applied, pseudonyms restored); a
        stopping decision replaces the choices with the stop text."""
        released: dict[SlotKey, str | None] = {}
        pieces: dict[Any, list[Piece]] = {}
        for slot in shape.response_slots(answer, frozenset((self.ex.request_id, self.ex.model))):
            name = field_name(slot.key)
            text = self.ex.restore(slot.text)  # the user's own values back, before the output stage
            verdict = self._judge_restored(name, text)
            unchanged = verdict.action == Action.ALLOW and text == slot.text
            released[slot.key] = slot.text if unchanged else None
            if verdict.action.stops:
                slot.set("")  # stopped_message replaces the choices; this also empties fields outside them
            elif verdict.text != slot.text:
                slot.set(verdict.text)
            pieces.setdefault(slot.key[0], []).append(Piece(name, text))
        for group in pieces.values():
            self.joined(group)
        if self.active:
            self._answer_echoes(shape, answer, released)
            _answer_audio(answer, released)
        if self.action.stops:
            shape.stopped_message(answer, self.stop_text(stream=False))
        return self.action

    def strings(self, spec: Spec, answer: dict[str, Any]) -> Action:
        """The strings of an answer that carries no generated text (embeddings, the items of an image
        answer, ``revised_prompt`` among them): pseudonyms restored and masks applied in place."""
        for t in walk(spec, answer, request=False).texts:
            verdict = self.judge(render(t.path), t.text)
            if verdict.text != t.text:
                t.set(verdict.text)
        return self.action

    def _answer_echoes(
        self, shape: Shape, answer: dict[str, Any], released: dict[SlotKey, str | None]
    ) -> None:
        keep = self.ex.state.policy.gateway.logprobs == "released"
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

    # -- streams ----------------------------------------------------------------------------------

    def stream_echoes(self, shape: Shape, unrestored: bool) -> StreamEchoes | None:
        """The echo buffer of a stream; None when no output check is active (nothing is held back)."""
        if not self.active:
            return None
        keep = self.ex.state.policy.gateway.logprobs == "released" and unrestored
        return StreamEchoes(keep=keep, completions=_completions(shape))

    # -- the decision -----------------------------------------------------------------------------

    def stop_text(self, *, stream: bool) -> str:
        """What replaces a stopped answer: ``gateway.output_stop_text`` when set; else a whole answer gets
        the refusal for its worst finding (it replaces the whole answer), a stream the catalog's
        ``output_stopped`` notice (it ends text the client has partly read)."""
        state = self.ex.state
        if stream:
            return stream_stop_text(state)
        return state.policy.gateway.output_stop_text or state.refusals.for_findings(
            tuple(f for _, f in self.found)
        )

    async def decided(self, outputs: Any, *, label: str | None = None, **detail: Any) -> None:
        """Count and record the stage's decision (waits until durable: nothing leaves before).
        ``label`` overrides the action's name (``error`` for a stream that ended on an upstream fault)."""
        name = label or self.action.value
        self.ex.state.metrics.decision("output", name, [f for _, f in self.found])
        await self.ex.record(self.ex.draft("output", name, outputs, self.found, **detail))

    def decided_later(self, **detail: Any) -> None:
        """Queue the decision without waiting (the client went away: nothing more leaves)."""
        self.ex.record_later(self.ex.draft("output", self.action.value, "", self.found, **detail))

    async def failed(self, exc: CheckFailed) -> None:
        """A check errored: recorded (stage ``output``, action ``error``); the caller withholds the answer."""
        await self.ex.record_error("output", exc)


def _completions(shape: Shape) -> bool:
    return shape.content_field == "text"


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
