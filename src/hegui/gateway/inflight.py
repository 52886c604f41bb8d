"""Requests still being served, so that a graceful shutdown flushes the audit writer only after them.

On SIGTERM uvicorn lets open requests run until HEGUI_SHUTDOWN_GRACE_SECONDS, then cancels what is left
and at once starts the application's shutdown. A cancelled stream still has work to do as it unwinds: it
records the output decision of what it had released. That happens a few event-loop turns after the
cancel, so the shutdown first waits (briefly, bounded) for every request to have left the app; only then
is the audit writer flushed, and nothing a client received goes unrecorded.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

#: How long the shutdown waits for cancelled requests to unwind (they need event-loop turns, not time).
UNWIND_SECONDS = 5.0


class Traffic(Protocol):
    """Told when the app starts serving and when it has nothing left to serve (the keep worker: it works
    in the quiet instead of against a request)."""

    def busy(self) -> None: ...

    def quiet(self) -> None: ...


class InFlight:
    """How many HTTP requests are inside the app right now."""

    def __init__(self, traffic: Traffic | None = None) -> None:
        self.count = 0
        self._traffic = traffic
        self._idle: asyncio.Event | None = None  # made by `drained`, on the serving loop

    def enter(self) -> None:
        self.count += 1
        if self.count == 1 and self._traffic is not None:
            self._traffic.busy()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            if self._traffic is not None:
                self._traffic.quiet()
            if self._idle is not None:
                self._idle.set()

    async def drained(self, seconds: float = UNWIND_SECONDS) -> bool:
        """Wait until no request is in flight, at most ``seconds``; True when none is left."""
        if self.count == 0:
            return True
        self._idle = asyncio.Event()
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


class TrackInFlight:
    """A plain ASGI middleware: counts a request from its start until the app has finished with it, its
    response's body and any cancellation included."""

    def __init__(self, app: ASGIApp, inflight: InFlight) -> None:
        self.app = app
        self.inflight = inflight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.inflight.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight.leave()
