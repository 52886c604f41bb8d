"""The SSE relay: upstream stream in, inspected stream out.

Every piece of generated text goes through a StreamInspector (one per slot: choice × field), so the
client receives only text that no later character can turn into a match. On a stopping finding the
upstream response is closed (generation stops), the output decision is recorded, and the stream ends
with ``finish_reason: "content_filter"``. The end of a stream (the last text, the finish reasons,
``[DONE]``) is sent only after the output decision is durable in the audit chain.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from hegui.errors import CheckFailed, HeguiError, StorageError, UpstreamError
from hegui.gateway.echoes import Entry
from hegui.gateway.fieldcheck import AnswerSlot, SlotKey, field_name
from hegui.gateway.joined import Piece
from hegui.gateway.labelling import BODY_FIELD
from hegui.gateway.outcome import StreamAnswer
from hegui.gateway.outputs import strip_chunk
from hegui.gateway.shapes import Shape
from hegui.gateway.stopping import stop_content
from hegui.gateway.upstream_stream import StreamLimits, upstream_chunks
from hegui.guard.stream import StreamInspector
from hegui.guard.types import Action, Stage

if TYPE_CHECKING:
    from hegui.gateway.exchange import Exchange

log = logging.getLogger(__name__)


def sse(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


DONE = b"data: [DONE]\n\n"


class StreamRelay:
    def __init__(self, exchange: Exchange, shape: Shape, response: httpx.Response) -> None:
        self.ex = exchange
        self.out = exchange.output
        self.shape = shape
        self.response = response
        self.inspectors: dict[SlotKey, StreamInspector] = {}
        self.template: dict[str, Any] = {
            "id": exchange.request_id,
            "object": shape.chunk_object,
            "created": 0,
            "model": exchange.model,
        }
        self.choices: set[int] = set()
        self.deferred: list[dict[str, Any]] = []  # chunks held until the output decision is durable
        self.stopped = False
        self.error: HeguiError | None = None
        self.recorded = False
        self.labeller = exchange.state.labeller
        vault = exchange.egress_vault
        self.restorer = exchange.state.egress.restorer(vault) if vault is not None else None
        self.begun: set[int] = set()  # choices whose generated text has begun (and got the label prefix)
        self.closed: set[int] = set()  # choices that got the label suffix
        self.settled = False  # the inspectors' findings are in the output stage's decision
        self.joined_choices: set[int] = set()
        self.known = frozenset((exchange.request_id, exchange.model))
        self.echoes = self.out.stream_echoes(shape, self.restorer is None)
        self.tail_echoes: dict[int, dict[str, list[Entry]]] = {}

    def _inspector(self, key: SlotKey) -> StreamInspector:
        insp = self.inspectors.get(key)
        if insp is None:
            insp = self.inspectors[key] = StreamInspector(self.ex.state.pipeline, Stage.OUTPUT, self.ex.ctx)
        return insp

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return self.template | {"choices": choices}

    def _handle(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        """Inspect one upstream chunk; return what may be sent now (None: nothing yet)."""
        chunk["id"] = self.ex.request_id
        choices = [c for c in chunk.get("choices") or [] if isinstance(c, dict)]
        strip_chunk(chunk, choices, self.echoes)
        echoed: dict[int, dict[str, list[Entry]]] = {}
        for slot in self.shape.chunk_slots(chunk, self.known):
            if slot.whole or slot.key[0] is None:
                self._whole(slot)
            else:
                self._feed(slot, echoed)
            if self.stopped:
                return None
        for k in ("created", "model", "system_fingerprint"):
            if k in chunk:
                self.template[k] = chunk[k]
        finishing = []
        for choice in choices:
            idx = choice.get("index", 0)
            self.choices.add(idx)
            if self.echoes is not None and idx in echoed:
                self.echoes.attach(choice, echoed[idx])
            if choice.get("finish_reason"):
                finishing.append(idx)
        tails: list[tuple[SlotKey, str]] = []
        for idx in finishing:
            for key, insp in self.inspectors.items():
                if key[0] == idx:
                    released = self._finish(key, insp)
                    if self.stopped:
                        return None
                    if released:
                        tails.append((key, self._open(key, released)))
            self._join_choice(idx)
            if self.stopped:
                return None
            tails += self._suffix(idx)
        if finishing:
            head, end = self._split_finish(chunk, choices)
            if _meaningful(head):
                self.deferred.append(head)
            self.deferred += self._tail_chunks(tails)
            self.deferred.append(end)
            return None
        if self.deferred:
            self.deferred.append(chunk)
            return None
        return chunk if _meaningful(chunk) else None

    def _feed(self, slot: AnswerSlot, echoed: dict[int, dict[str, list[Entry]]]) -> None:
        """A streamed text slot: through the restorer and its inspector; ``slot`` gets what is released."""
        text = self.restorer.feed(slot.key, slot.text) if self.restorer else slot.text
        insp = self._inspector(slot.key)
        step = insp.feed(text)
        if step.stopped:
            self.stopped = True
            return
        self._echo(slot.key, text, insp, echoed)
        slot.set(self._open(slot.key, step.release))

    def _echo(
        self, key: SlotKey, text: str, insp: StreamInspector, into: dict[int, dict[str, list[Entry]]]
    ) -> None:
        """The logprobs entries of ``key`` whose text the inspector has now released unchanged."""
        if self.echoes is None:
            return
        self.echoes.fed(key, text)
        if any(f.action == Action.MASK for f in insp.verdict().findings):
            self.echoes.kill(key)
            return
        entries = self.echoes.release(key, len(self.echoes.text(key)) - insp.pending)
        if entries:
            into.setdefault(key[0], {}).setdefault(key[1], []).extend(entries)

    def _whole(self, slot: AnswerSlot) -> None:
        """A field inspected as one piece, in the chunk that carries it (identifiers, unknown top-level
        strings): a stopping finding stops the stream, a mask rewrites it. A value is inspected once per
        stream (``model`` and ``system_fingerprint`` come with every chunk); the response id and the
        requested model name are hegui's and the operator's own words and are not inspected."""
        verdict = self.out.judge_once(field_name(slot.key), slot.text)
        if verdict.action.stops:
            self.stopped = True
        elif verdict.text != slot.text:
            slot.set(verdict.text)

    def _split_finish(
        self, chunk: dict[str, Any], choices: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A finishing chunk as its own text (sent before the held-back tails) and its finish reasons
        and usage (sent after them), so that the text stays in order."""
        ends = []
        for choice in choices:
            if choice.get("finish_reason"):
                end = self.shape.tail_choice((choice.get("index", 0), self.shape.content_field), "")
                ends.append(end | {"finish_reason": choice["finish_reason"], "logprobs": None})
                choice["finish_reason"] = None
        end_chunk = self._chunk(ends)
        if "usage" in chunk:
            end_chunk["usage"] = chunk.pop("usage")
        return chunk, end_chunk

    def _finish_all(self) -> None:
        tails: list[tuple[SlotKey, str]] = []
        for key, insp in self.inspectors.items():
            released = self._finish(key, insp)
            if self.stopped:
                return
            if released:
                tails.append((key, self._open(key, released)))
        for idx in sorted({key[0] for key in self.inspectors}):
            self._join_choice(idx)
            if self.stopped:
                return
        for idx in sorted(self.begun):  # choices the upstream never finished
            tails += self._suffix(idx)
        self.deferred[:0] = self._tail_chunks(tails)

    def _join_choice(self, idx: int) -> None:
        """At the end of a choice, before its held-back tails leave: its fields joined (joined.py), so a
        term split across two fields (the end of one, the start of the next) stops the stream; the
        parts still held back are then never sent."""
        if idx in self.joined_choices:
            return
        self.joined_choices.add(idx)
        pieces = [Piece(field_name(k), i.verdict().text) for k, i in self.inspectors.items() if k[0] == idx]
        if self.out.joined(pieces):
            self.stopped = True

    def _finish(self, key: SlotKey, insp: StreamInspector) -> str:
        """End one slot: the restorer's held-back tail through the inspector, then the inspector's."""
        released = ""
        if self.restorer is not None:
            tail = self.restorer.finish(key)
            if tail:
                step = insp.feed(tail)
                if step.stopped:
                    self.stopped = True
                    return ""
                released = step.release
        step = insp.finish()
        if step.stopped:
            self.stopped = True
            return ""
        if self.echoes is not None:
            self._echo(key, "", insp, self.tail_echoes)
        return released + step.release

    def _open(self, key: SlotKey, release: str) -> str:
        """Released text of a slot; the first generated text of a choice gets the label's prefix (a
        choice that never releases generated text is never labelled)."""
        if key[1] == self.shape.content_field and release and key[0] not in self.begun:
            self.begun.add(key[0])
            return self.labeller.prefix + release
        return release

    def _suffix(self, idx: int) -> list[tuple[SlotKey, str]]:
        """The explicit label's tail for a choice whose text has begun (once)."""
        if idx not in self.begun or idx in self.closed or not self.labeller.suffix:
            return []
        self.closed.add(idx)
        return [((idx, self.shape.content_field), self.labeller.suffix)]

    def _tail_chunks(self, tails: list[tuple[SlotKey, str]]) -> list[dict[str, Any]]:
        """One chunk per slot for the text released at the end (pieces of one slot joined); a choice's
        last logprobs entries go with its first tail chunk."""
        merged: dict[SlotKey, str] = {}
        for key, text in tails:
            merged[key] = merged.get(key, "") + text
        chunks = []
        for key, text in merged.items():
            choice = self.shape.tail_choice(key, text)
            echoed = self.tail_echoes.pop(key[0], None)
            if echoed and self.echoes is not None:
                self.echoes.attach(choice, echoed)
            chunks.append(self._chunk([choice]))
        return chunks

    def _stop_chunk(self, text: str = "") -> dict[str, Any]:
        """The last chunk of a stopped stream: content_filter, the label for generated text already sent
        (none when none was), and the stop text."""
        choices = []
        for idx in sorted(self.choices or {0}):
            tail = self.labeller.suffix if idx in self.begun and idx not in self.closed else ""
            choices.append(self.shape.stop_choice(idx, stop_content(text, tail)))
        chunk = self._chunk(choices)
        if self.begun:
            chunk[BODY_FIELD] = self.labeller.body_field(self.ex.request_id)
        return chunk

    def _settle(self) -> None:
        """The stream slots' findings into the output stage's decision (once, when the stream ends)."""
        if not self.settled:
            self.settled = True
            for key, insp in self.inspectors.items():
                self.out.add(field_name(key), insp.verdict())

    async def _record_output(self, **detail: Any) -> None:
        self._settle()
        action = self.out.action
        label = "error" if self.error is not None and action == Action.ALLOW else None
        released = {field_name(k): i.verdict().text for k, i in self.inspectors.items()}
        self.recorded = True
        answer = "\n".join(t for k, t in released.items() if k.endswith(f".{self.shape.content_field}"))
        await self.ex.keep(self.ex.prompt, answer, self.ex.input_action, action)  # rides with the decision
        await self.out.decided(released, label=label, stream=True, **detail)

    async def answer(self, headers: dict[str, str], label_headers: dict[str, str]) -> StreamAnswer:
        """The stream as the exchange's answer. Headers leave before the body, so the events up to the
        first released generated text are read first (they carry no text: a role chunk, or a stop): the
        AIGC label header goes only on a stream that carries generated text (issue 12.5), like the
        explicit label and the AIGC field."""
        events = self.events()
        head: list[bytes] = []
        try:
            async for event in events:
                head.append(event)
                if self.begun:
                    break
        except BaseException:
            await events.aclose()
            raise

        async def body() -> AsyncIterator[bytes]:
            if head:
                yield b"".join(head)  # one write for what was read ahead, not one per event
            async for event in events:
                yield event

        return StreamAnswer(body(), headers | label_headers if self.begun else headers)

    async def events(self) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in self._upstream_events():
                out = await self.ex.off_loop(Stage.OUTPUT, functools.partial(self._handle, chunk))
                if self.stopped:
                    break
                if out is not None:
                    yield sse(out)
            await self.response.aclose()
            if self.stopped:
                await self._record_output(stopped=True)
                yield sse(self._stop_chunk(self.out.stop_text(stream=True))) + DONE
                return
            if isinstance(self.error, UpstreamError):
                async for event in self._fail(self.error):
                    yield event
                return
            await self.ex.off_loop(Stage.OUTPUT, self._finish_all)
            if self.stopped:
                await self._record_output(stopped=True)
                yield sse(self._stop_chunk(self.out.stop_text(stream=True))) + DONE
                return
            await self._record_output()
            if self.deferred and self.begun:
                self.deferred[-1][BODY_FIELD] = self.labeller.body_field(self.ex.request_id)
            # the end in one write: the held chunks and [DONE] leave together, after the decision
            yield b"".join([*(sse(chunk) for chunk in self.deferred), DONE])
        except CheckFailed as exc:
            await self.response.aclose()
            self.error = exc
            await self._record_output(error=exc.code, message=exc.message[:300], stopped=True)
            yield sse(self._stop_chunk(self.ex.state.refusals.notice("check_failed"))) + DONE
        except StorageError as exc:
            # The decision could not be recorded: the rest of the answer is withheld.
            yield sse(exc.to_openai())
        finally:
            # Recorded before the upstream's response is closed: closing awaits, and as a stream unwinds
            # from a client that left, that await can be cancelled or fail, and nothing after it would run.
            if not self.recorded:  # the client went away: record what was released, without waiting
                self._settle()
                self.out.decided_later(stream=True, client_disconnected=True)
            await self.response.aclose()

    async def _upstream_events(self) -> AsyncIterator[dict[str, Any]]:
        """The upstream's checked chunks; a fault (bad chunk, no [DONE], a deadline) ends them and is
        kept in ``self.error``."""
        gateway = self.ex.state.policy.gateway
        limits = StreamLimits(
            deadline=gateway.request_deadline,
            idle=gateway.stream_idle_timeout,
            max_total=gateway.max_answer_bytes,
            max_n=gateway.max_n,
        )
        try:
            async for chunk in upstream_chunks(self.ex.upstream.name, self.shape.path, self.response, limits):
                yield chunk
        except UpstreamError as exc:
            self.error = exc

    async def _fail(self, error: UpstreamError) -> AsyncIterator[bytes]:
        """End a stream on an upstream fault: text the inspectors still hold back is dropped, never
        released (it was not inspected whole); choices whose text has begun get the label's tail; the
        fault is recorded (and durable) before the client sees the error event. No ``[DONE]`` follows,
        as with the OpenAI API, so a client that ignores the error event still cannot take the
        truncated answer for a whole one; the official clients raise ``APIError`` on it."""
        self.ex.upstream.breaker.failure()
        await self._record_output(error=error.code, message=error.message[:300], fault="upstream")
        tails = [t for idx in sorted(self.begun) for t in self._suffix(idx)]
        if tails:
            last = self._tail_chunks(tails)
            last[-1][BODY_FIELD] = self.labeller.body_field(self.ex.request_id)
            for chunk in last:
                yield sse(chunk)
        yield sse(error.to_openai())


def _meaningful(chunk: dict[str, Any]) -> bool:
    if chunk.get("usage"):
        return True
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta")
        if delta is None:  # legacy completions: the text itself
            if choice.get("text"):
                return True
            continue
        for key, value in delta.items():
            if value not in (None, "", []):
                return True
            if key == "role":
                return True
    return False
