"""A request's tokens, for the token quotas: the prompt estimated at admission, the answer's ``usage``
followed as the response goes out (`UsageWatch`), a stream's text estimated as it flows.

Estimates count a non-ASCII character as one token and four ASCII characters as one: close for
Chinese, rough for English, and replaced by the upstream's own usage whenever it gives one. Nothing
here refuses anything; the rate-limit gate (`hegui.gateway.limits`) does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.types import Message

from hegui.cluster.limiter import Ticket

#: Keys of the request whose strings are prompt text, and of answers and events whose strings are
#: generated text.
_PROMPT_KEYS = ("messages", "prompt", "input", "system", "instructions")
_TEXT_KEYS = frozenset({"content", "text", "delta", "arguments", "refusal", "output_text"})
#: A whole answer larger than this is not parsed for its usage (its estimate stands).
_MAX_ANSWER = 8 * 1024 * 1024
#: A stream's estimate is charged whenever it grew by this many tokens, and its lease renewed this often.
_CHARGE_EVERY = 256
_RENEW_SECONDS = 60.0


def estimate_tokens(text: str) -> int:
    """One token per non-ASCII character, one per four ASCII characters (rounded up)."""
    if text.isascii():
        return math.ceil(len(text) / 4)
    chars, size = len(text), len(text.encode("utf-8", "surrogatepass"))
    wide = min(chars, (size - chars) // 2)  # CJK is three bytes in UTF-8: two more than ASCII
    return wide + math.ceil((chars - wide) / 4)


def _strings(value: Any, keys: frozenset[str] | None, depth: int = 0) -> Iterable[str]:
    """The strings in ``value``; under a dict, only those of ``keys`` (None: every key)."""
    if depth > 12:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, keys, depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                if keys is None or k in keys:
                    yield v
            else:
                yield from _strings(v, keys, depth + 1)


def prompt_tokens(body: dict[str, Any]) -> int:
    return sum(estimate_tokens(s) for k in _PROMPT_KEYS if k in body for s in _strings(body[k], None))


def usage_total(obj: dict[str, Any]) -> int | None:
    """The tokens an answer or event reports (OpenAI ``total_tokens``, or input plus output tokens)."""
    usage = obj.get("usage")
    if not isinstance(usage, dict):
        inner = obj.get("response")  # the Responses API's response.completed event
        usage = inner.get("usage") if isinstance(inner, dict) else None
    if not isinstance(usage, dict):
        return None
    total = usage.get("total_tokens")
    if isinstance(total, int):
        return total
    parts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens")]
    found = [p for p in parts if isinstance(p, int)]
    return sum(found) if found else None


class UsageWatch:
    """Follows one response's body and keeps the ticket's token count current."""

    def __init__(self, ticket: Ticket, prompt: int) -> None:
        self.ticket = ticket
        self.prompt = prompt
        self.stream = False
        self.generated = 0
        self.exact: int | None = None
        #: Anthropic streams report input and output tokens in separate events.
        self.split: dict[str, int] = {}
        self._buffer = bytearray()
        self._renewed = time.monotonic()

    def started(self, message: Message) -> None:
        for name, value in message.get("headers", ()):
            if name.lower() == b"content-type":
                self.stream = value.startswith(b"text/event-stream")

    async def body(self, chunk: bytes) -> None:
        if self.ticket.token_counters:
            await self._count(chunk)
        if self.ticket.stream_counters and time.monotonic() - self._renewed > _RENEW_SECONDS:
            self._renewed = time.monotonic()  # a long stream keeps its slot: its lease is renewed
            await self.ticket.renew()

    async def _count(self, chunk: bytes) -> None:
        if not self.stream:
            if len(self._buffer) <= _MAX_ANSWER:
                self._buffer += chunk
            return
        self._buffer += chunk
        *events, rest = bytes(self._buffer).split(b"\n\n")
        self._buffer = bytearray(rest)
        for event in events:
            self._event(event)
        if self.exact is None and self.prompt + self.generated - self.ticket.charged >= _CHARGE_EVERY:
            await self.ticket.tokens(self.prompt + self.generated)

    def _event(self, event: bytes) -> None:
        for line in event.split(b"\n"):
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if not data.startswith(b"{"):
                continue
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict):
                continue
            self._usage(obj)
            self.generated += sum(estimate_tokens(s) for s in _strings(obj, _TEXT_KEYS))

    def _usage(self, obj: dict[str, Any]) -> None:
        message = obj.get("message")
        for source in (obj, message if isinstance(message, dict) else {}):
            usage = source.get("usage")
            if isinstance(usage, dict) and "total_tokens" not in usage:
                for k in ("input_tokens", "output_tokens"):
                    if isinstance(usage.get(k), int):
                        self.split[k] = usage[k]
        total = usage_total(obj)
        if total is not None:
            self.exact = total
        elif self.split:
            self.exact = sum(self.split.values())

    def total(self) -> int:
        """The request's tokens: the upstream's usage when it gave one, the estimate otherwise."""
        if not self.stream and self._buffer:
            try:
                obj = orjson.loads(bytes(self._buffer))
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                total = usage_total(obj)
                if total is not None:
                    return total
                choices = obj.get("choices", obj.get("content", obj.get("output")))
                return self.prompt + sum(estimate_tokens(s) for s in _strings(choices, _TEXT_KEYS))
        return self.exact if self.exact is not None else self.prompt + self.generated
