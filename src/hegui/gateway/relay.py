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
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from hegui.errors import CheckFailed, HeguiError, StorageError, UpstreamError, UpstreamTimeout
from hegui.gateway.exchange import Exchange, FieldFinding
from hegui.gateway.labelling import BODY_FIELD
from hegui.gateway.shapes import Shape, SlotKey
from hegui.guard.stream import StreamInspector
from hegui.guard.types import Action, Stage

log = logging.getLogger(__name__)


def sse(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


DONE = b"data: [DONE]\n\n"


def slot_field(key: SlotKey) -> str:
    return f"choices[{key[0]}]." + (
        f"tool_calls[{key[2]}].function.arguments" if key[1] == "tool" else str(key[1])
    )


class StreamRelay:
    def __init__(self, exchange: Exchange, shape: Shape, response: httpx.Response) -> None:
        self.ex = exchange
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
        for k in ("created", "model", "system_fingerprint"):
            if k in chunk:
                self.template[k] = chunk[k]
        for slot in self.shape.chunk_slots(chunk):
            text = self.restorer.feed(slot.key, slot.text) if self.restorer else slot.text
            step = self._inspector(slot.key).feed(text)
            if step.stopped:
                self.stopped = True
                return None
            release = step.release
            if slot.key[1] == self.shape.content_field and slot.key[0] not in self.begun:
                self.begun.add(slot.key[0])
                release = self.labeller.prefix + release
            slot.set(release)
        finishing = []
        for choice in chunk.get("choices") or []:
            idx = choice.get("index", 0)
            self.choices.add(idx)
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
                        tails.append((key, released))
            tails += self._suffix(idx)
        if finishing or self.deferred:
            self.deferred += self._tail_chunks(tails)
            self.deferred.append(chunk)
            return None
        return chunk if _meaningful(chunk) else None

    def _finish_all(self) -> None:
        tails: list[tuple[SlotKey, str]] = []
        for key, insp in self.inspectors.items():
            released = self._finish(key, insp)
            if self.stopped:
                return
            if released:
                tails.append((key, released))
        for idx in sorted(self.begun):  # choices the upstream never finished
            tails += self._suffix(idx)
        self.deferred[:0] = self._tail_chunks(tails)

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
        return released + step.release

    def _suffix(self, idx: int) -> list[tuple[SlotKey, str]]:
        """The explicit label's tail for a choice whose text has begun (once)."""
        if idx not in self.begun or idx in self.closed or not self.labeller.suffix:
            return []
        self.closed.add(idx)
        return [((idx, self.shape.content_field), self.labeller.suffix)]

    def _tail_chunks(self, tails: list[tuple[SlotKey, str]]) -> list[dict[str, Any]]:
        """One chunk per slot for the text released at the end (pieces of one slot joined)."""
        merged: dict[SlotKey, str] = {}
        for key, text in tails:
            merged[key] = merged.get(key, "") + text
        return [self._chunk([self.shape.tail_choice(key, text)]) for key, text in merged.items()]

    def _stop_chunk(self, text: str = "") -> dict[str, Any]:
        """The last chunk of a stopped stream: content_filter, and the label for text already sent."""
        choices = []
        for idx in sorted(self.choices or {0}):
            tail = self.labeller.suffix if idx in self.begun and idx not in self.closed else ""
            choices.append(self.shape.stop_choice(idx, text + tail))
        chunk = self._chunk(choices)
        if self.begun:
            chunk[BODY_FIELD] = self.labeller.body_field(self.ex.request_id)
        return chunk

    def findings(self) -> tuple[Action, list[FieldFinding]]:
        found: list[FieldFinding] = []
        action = Action.ALLOW
        for key, insp in self.inspectors.items():
            verdict = insp.verdict()
            found += [(slot_field(key), f) for f in verdict.findings]
            action = max(action, verdict.action)
        return action, found

    async def _record_output(self, **detail: Any) -> None:
        action, found = self.findings()
        label = "error" if self.error is not None and action == Action.ALLOW else action.value
        released = {slot_field(k): i.verdict().text for k, i in self.inspectors.items()}
        self.ex.state.metrics.decision("output", label, [f for _, f in found])
        self.recorded = True
        await self.ex.record(self.ex.draft("output", label, released, found, stream=True, **detail))
        answer = "\n".join(t for k, t in released.items() if k.endswith(f".{self.shape.content_field}"))
        await self.ex.keep(self.ex.prompt, answer, self.ex.input_action, action)

    async def events(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._upstream_events():
                try:
                    chunk = orjson.loads(data)
                except orjson.JSONDecodeError:
                    self.error = UpstreamError(
                        f"upstream {self.ex.upstream.name!r} sent invalid JSON in its stream"
                    )
                    break
                if not isinstance(chunk, dict):
                    continue
                if "error" in chunk and not chunk.get("choices"):
                    self.error = UpstreamError(
                        f"upstream {self.ex.upstream.name!r} failed mid-stream: {str(chunk['error'])[:300]}"
                    )
                    break
                out = await self.ex.off_loop(Stage.OUTPUT, functools.partial(self._handle, chunk))
                if self.stopped:
                    break
                if out is not None:
                    yield sse(out)
            await self.response.aclose()
            if self.stopped:
                await self._record_output(stopped=True)
                yield sse(self._stop_chunk(self.ex.state.policy.gateway.output_stop_text))
                yield DONE
                return
            await self.ex.off_loop(Stage.OUTPUT, self._finish_all)
            if self.stopped:
                await self._record_output(stopped=True)
                yield sse(self._stop_chunk(self.ex.state.policy.gateway.output_stop_text))
                yield DONE
                return
            detail = {"error": self.error.code, "message": self.error.message[:300]} if self.error else {}
            await self._record_output(**detail)
            if self.deferred and self.begun:
                self.deferred[-1][BODY_FIELD] = self.labeller.body_field(self.ex.request_id)
            for chunk in self.deferred:
                yield sse(chunk)
            if self.error is not None:
                yield sse(self.error.to_openai())
            yield DONE
        except CheckFailed as exc:
            await self.response.aclose()
            self.error = exc
            await self._record_output(error=exc.code, message=exc.message[:300], stopped=True)
            yield sse(self._stop_chunk())
            yield DONE
        except StorageError as exc:
            # The decision could not be recorded: the rest of the answer is withheld.
            yield sse(exc.to_openai())
        finally:
            await self.response.aclose()
            if not self.recorded:  # the client went away: record what was released, without waiting
                action, found = self.findings()
                self.ex.record_later(
                    self.ex.draft("output", action.value, "", found, stream=True, client_disconnected=True)
                )

    async def _upstream_events(self) -> AsyncIterator[str]:
        try:
            async for line in self.response.aiter_lines():
                if line.startswith("data:"):
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    yield data
        except httpx.TimeoutException:
            self.error = UpstreamTimeout(f"upstream {self.ex.upstream.name!r} stopped sending (read timeout)")
        except httpx.TransportError as exc:
            self.error = UpstreamError(
                f"upstream {self.ex.upstream.name!r} broke off the stream: {exc.__class__.__name__}"
            )


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
