"""Opens the log context of each HTTP request, so that every line it logs carries its request id.

The exchange names the request (`hegui.logs.bind_request_id`); a request served without an exchange
(an admin call, an early refusal) still gets the id its response names in ``x-hegui-request-id``, read as
the response starts, so that uvicorn's access line carries it too.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hegui.logs import open_request_context

_HEADER = b"x-hegui-request-id"


class RequestLogContext:
    """A plain ASGI middleware (no task per request): one context variable set per HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = open_request_context()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and ctx.request_id is None:
                for name, value in message.get("headers", ()):
                    if name.lower() == _HEADER:
                        ctx.request_id = value.decode("latin-1")
                        break
            await send(message)

        await self.app(scope, receive, send_wrapper)
