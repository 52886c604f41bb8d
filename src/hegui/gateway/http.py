"""HTTP plumbing shared by the routes: authentication, bounded body reading, JSON responses."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import AuthenticationError, PayloadTooLarge, PermissionDenied, RequestError
from hegui.gateway.state import GatewayState, Principal


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json", headers=headers)


#: Where a request keeps the gateway state it began with (in its ASGI scope, shared by every Request
#: object made for it).
PINNED_STATE = "hegui.state"


def state_of(request: Request) -> GatewayState:
    """The gateway as this request found it: pinned at the first call, so that a policy reload during
    the request (or its stream) does not change the checks, wording or labels it is served with."""
    pinned: GatewayState | None = request.scope.get(PINNED_STATE)
    if pinned is None:
        live: GatewayState = request.app.state.hegui
        pinned = request.scope[PINNED_STATE] = live.pinned()
    return pinned


FRONTEND_SCOPE = (
    "A frontend key may only record agreement acceptance, consent events and data-subject requests for "
    "its own tenant's users, and read the current agreements."
)


def authenticate(request: Request, *, admin: bool = False, frontend: bool = False) -> Principal:
    """The key's holder. ``admin``: the route manages records (admin keys only). ``frontend``: a
    ``frontend`` key may call it too (a chat frontend's few writes on behalf of its users); every other
    route, model traffic included, refuses a frontend key."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError(
            "You didn't provide an API key. Send it in the Authorization header as 'Bearer <key>'."
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("The Authorization header must be 'Bearer <key>'.")
    key = state_of(request).keys.authenticate(token.strip())
    if key is None:
        raise AuthenticationError("Incorrect API key provided, or the key was revoked.")
    if key.role == "frontend" and not frontend:
        raise PermissionDenied(FRONTEND_SCOPE)
    if key.role == "reviewer":  # a staff member's key opens the console (/console), nothing else
        raise PermissionDenied("A reviewer key opens only the staff console (/console).")
    if admin and key.role not in ("admin", "frontend"):
        raise PermissionDenied("This endpoint needs an admin key.")
    return Principal(key.id, key.prefix, key.tenant, key.role, key.channel)


async def read_body(request: Request, limit: int, what: str = "request body") -> bytes:
    """The body, read up to ``limit`` bytes (413 above, without reading the rest); 400 when empty."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"The {what} is {int(length)} bytes; the limit is {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The {what} is larger than the limit of {limit} bytes.")
    if not body:
        raise RequestError(f"The {what} is empty.")
    return bytes(body)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The JSON object in the body, read up to ``limit`` bytes; anything else is a 4xx."""
    body = await read_body(request, limit)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as uexc:
            raise RequestError(f"The request body is not valid UTF-8 (byte {uexc.start}).") from None
        raise RequestError(f"We could not parse the JSON body of your request: {exc}.") from None
    if not isinstance(data, dict):
        raise RequestError("The request body must be a JSON object.")
    return data


def end_user(request: Request, body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, str) and user:
        return user[:256]
    header = request.headers.get("x-hegui-user")
    return header[:256] if header else None


#: The longest session id the records tables hold (their ``session`` columns).
MAX_SESSION = 256


def session_of(request: Request) -> str | None:
    """The ``X-Hegui-Session`` header: at most 256 characters without control characters, or 400
    (a longer one is not cut: two sessions must not become one)."""
    value = request.headers.get("x-hegui-session")
    if value is None:
        return None
    if not value or len(value) > MAX_SESSION or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise RequestError(
            f"X-Hegui-Session must be 1 to {MAX_SESSION} characters without control characters.",
            param="x-hegui-session",
        )
    return value
