"""API-key lookups off the event loop: a cache miss is read from the database in a thread.

The routes authenticate synchronously (`hegui.gateway.http.authenticate`) against the key store's
cache. On a miss that would be a database query on the event loop, stalling every other request for
as long as the database takes. This middleware looks the key up first, in a thread, when the cache
does not hold it, so the route finds it cached (a valid key, or the cached absence of one). It decides
nothing: a request without a bearer token, or with any token, goes on to the route, which answers.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from hegui.records.keys import KeyStore


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, as `authenticate` will read it."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


class KeyPrefetch:
    """A plain ASGI middleware (no per-request task): fills the key cache off the loop on a miss."""

    def __init__(self, app: ASGIApp, keys: KeyStore) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            token = bearer_token(scope)
            if token is not None and not self.keys.is_cached(token):
                # Not swallowed: a database error here is met again by the route's own lookup, which
                # then answers with the gateway's error (this middleware sits outside its handlers).
                with contextlib.suppress(SQLAlchemyError):
                    await asyncio.to_thread(self.keys.authenticate, token)
        await self.app(scope, receive, send)
