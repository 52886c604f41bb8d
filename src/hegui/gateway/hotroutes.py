"""The model routes served straight from the ASGI stack, without FastAPI's router and endpoint wrapper.

Every model route takes the bare ``Request`` and returns a ``Response``: FastAPI has no parameter to
parse, no dependency to solve and no response model to serialise for them. Its router still walked the
route list and its endpoint wrapper still built two ``AsyncExitStack``s, solved an empty dependency set
and read its telemetry state: about 29 µs of CPU per request (the app around a stub endpoint, driven in
process: 63 µs per request before, 35 after). This middleware, innermost of the gateway's own,
calls those endpoints directly for an exact ``POST`` to their path, inside Starlette's own
`ExceptionMiddleware` built from the app's exception handlers, so that a `HeguiError`, an
``HTTPException`` or a client gone mid-read is answered exactly as through FastAPI, and anything else
goes on up to the app's 500 handler as before. Every other request (another method, a trailing slash, a
``root_path``, the admin API, the docs) goes on to FastAPI, which keeps the routes in the OpenAPI document
too: `create_app` registers the same endpoints with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class HotRoutes:
    """A plain ASGI middleware: ``routes`` (path → endpoint, POST only) served directly; ``handlers``
    gives the app's exception handlers (read at the first request, when every one is registered)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Mapping[str, Endpoint],
        handlers: Callable[[], Mapping[Any, ExceptionHandler]],
    ) -> None:
        self.app = app
        self.routes = dict(routes)
        self._handlers = handlers
        self._served: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in self.routes
            and not scope.get("root_path")
        ):
            if self._served is None:
                self._served = ExceptionMiddleware(self._serve, handlers=self._exception_handlers())
            await self._served(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _exception_handlers(self) -> dict[Any, ExceptionHandler]:
        """The handlers Starlette gives its `ExceptionMiddleware` (500 and ``Exception`` are the
        outermost `ServerErrorMiddleware`'s, which still answers what these leave unhandled)."""
        return {k: v for k, v in self._handlers().items() if k not in (500, Exception)}

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.routes[scope["path"]](Request(scope, receive, send))
        await response(scope, receive, send)
