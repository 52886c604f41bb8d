"""The rate-limit gate: a plain ASGI middleware in front of the model routes (429 over a quota).

It sits inside `KeyPrefetch` (so the key is in the key store's cache) and outside every route, so the
routes know nothing of limits. For each model request it names the holder (key, tenant, end user),
asks the `RateLimiter` to admit it, and answers 429 with ``Retry-After`` and an OpenAI-shaped error
(``rate_limit_exceeded``) when it cannot. When token limits apply it watches the response: the
upstream's ``usage`` of a whole answer, and for a stream an estimate charged as the text flows,
corrected to the upstream's usage when the stream reports it at its end. It decides nothing else:
a request without a known key, or any request it cannot read, goes on to the route, which answers.

Token estimates and the following of a response's usage are in `hegui.gateway.token_usage`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hegui.cluster.limiter import Holder, RateLimiter, Ticket
from hegui.errors import RateLimited
from hegui.gateway.keyprefetch import bearer_token
from hegui.gateway.token_usage import UsageWatch, prompt_tokens
from hegui.records.key_limits import KeyLimits
from hegui.records.keys import KeyStore

log = logging.getLogger(__name__)

#: The routes that call a model, and so count against quotas.
MODEL_PATHS = frozenset(
    {
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/responses",
        "/v1/messages",
        "/v1/images/generations",
    }
)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives the messages already read, then the rest from the client."""
    pending = list(messages)

    async def again() -> Message:
        return pending.pop(0) if pending else await receive()

    return again


class LimitMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.refused = Counter(
            "hegui_rate_limited",
            "Requests refused with 429, by whose quota (key, tenant, user) and which limit.",
            ["scope", "limit"],
            registry=registry,
        )
        self.tokens = Counter(
            "hegui_rate_limit_tokens",
            "Tokens charged to token quotas (estimates corrected).",
            registry=registry,
        )


class RateLimitGate:
    """See the module docstring. ``max_body``: the route's own limit; a larger body is not read here."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        keys: KeyStore,
        key_limits: KeyLimits,
        metrics: LimitMetrics,
        max_body: int,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.keys = keys
        self.key_limits = key_limits
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in MODEL_PATHS or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        if token is None and scope["path"] == "/v1/messages":
            token = _header(scope, b"x-api-key")  # how Anthropic clients send the key (messages_api)
            if token is not None and not self.keys.is_cached(token):
                # KeyPrefetch looks up bearer tokens only: this one off the loop here. A database
                # error is met again by the route's own lookup, which answers it.
                with contextlib.suppress(SQLAlchemyError):
                    await asyncio.to_thread(self.keys.authenticate, token)
        key = self.keys.authenticate(token) if token is not None and self.keys.is_cached(token) else None
        if key is None or key.role not in ("client", "admin"):
            await self.app(scope, receive, send)  # the route refuses it
            return
        if self.key_limits.stale:
            try:
                await asyncio.to_thread(self.key_limits.refresh)
            except SQLAlchemyError as exc:  # the last quotas read stay in force meanwhile
                log.error("reading per-key limits failed: %r", exc)
        user = _header(scope, b"x-hegui-user")
        stream, prompt = False, 0
        holder = Holder(key.id, key.tenant, user[:256] if user else None)
        if not self.limiter.applies(holder):
            await self.app(scope, receive, send)
            return
        if self.limiter.needs_body(holder):
            messages, body = await self._read(receive)
            receive = _replay(messages, receive)
            if body is not None:
                named = body.get("user")
                if isinstance(named, str) and named:
                    holder = Holder(key.id, key.tenant, named[:256])
                stream = body.get("stream") is True
                prompt = prompt_tokens(body)
        try:
            ticket = await self.limiter.admit(holder, stream=stream, prompt_tokens=prompt)
        except RateLimited as exc:
            self.metrics.refused.labels(exc.scope, exc.limit).inc()
            await _refuse(send, exc)
            return
        if not ticket.token_counters and not ticket.stream_counters:
            await self.app(scope, receive, send)
            return
        self.metrics.tokens.inc(ticket.charged)
        await self._watched(scope, receive, send, ticket, prompt)

    async def _watched(self, scope: Scope, receive: Receive, send: Send, ticket: Ticket, prompt: int) -> None:
        watch = UsageWatch(ticket, prompt)
        settling: asyncio.Future[None] | None = None

        async def settle() -> None:
            if ticket.token_counters:
                self.metrics.tokens.inc(max(0, await ticket.tokens(watch.total())))
            await ticket.close()

        def settle_once() -> asyncio.Future[None]:
            nonlocal settling
            if settling is None:
                settling = asyncio.ensure_future(settle())
            return settling

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start":
                watch.started(message)
            elif message["type"] == "http.response.body":
                await watch.body(message.get("body", b""))
                if not message.get("more_body", False):
                    # The answer is whole: its stream slot is freed (on every replica) before the client
                    # has the last bytes, so a client that asks again at once is admitted. A failure here
                    # is met again below, after the answer, as it was before.
                    with contextlib.suppress(Exception):
                        await asyncio.shield(settle_once())
            await send(message)

        try:
            await self.app(scope, receive, watching)
        finally:
            # A cancelled request (client gone) still frees its stream slot and settles its tokens.
            await asyncio.shield(settle_once())

    async def _read(self, receive: Receive) -> tuple[list[Message], dict[str, Any] | None]:
        """The body's messages as read, and the JSON object in it (None when too large or not one)."""
        messages: list[Message] = []
        size, chunks = 0, []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages, None
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.max_body:
                return messages, None
            if not message.get("more_body", False):
                break
        try:
            body = orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError:
            return messages, None
        return messages, body if isinstance(body, dict) else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1") or None
    return None


async def _refuse(send: Send, exc: RateLimited) -> None:
    body = orjson.dumps(exc.to_openai())
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(exc.retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": exc.status(), "headers": headers})
    await send({"type": "http.response.body", "body": body})
