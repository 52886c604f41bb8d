"""``POST /hegui/api/keys/{key}/revoke``: revoke an API key through any replica (admin key).

The same as ``hegui keys revoke``, for deployments where nobody opens a shell beside a replica: the
key is revoked in the database, this replica forgets it at once and, with ``HEGUI_REDIS_URL``, tells
every other replica to forget it too (`KeyStore` ``on_change``). An admin key revokes keys of its own
tenant only; ``{key}`` is the key's id or prefix, as ``hegui keys list`` shows.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import RecordNotFound
from hegui.gateway.http import authenticate, json_response, state_of
from hegui.records.keys import ApiKey, KeyStore


def _revoke_own(keys: KeyStore, ident: str, tenant: str) -> ApiKey:
    found = [k for k in keys.list(include_revoked=True) if str(k.id) == ident or k.prefix == ident]
    if len(found) != 1 or found[0].tenant != tenant:
        raise RecordNotFound(f"no key {ident!r} in this tenant", param="key")
    return keys.revoke(str(found[0].id))


async def revoke_key(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    state = state_of(request)
    key = await run_in_threadpool(_revoke_own, state.keys, request.path_params["key"], principal.tenant)
    return json_response(
        {"object": "api_key", "id": key.id, "prefix": key.prefix, "revoked_at": key.revoked_at}
    )


def register(app: FastAPI) -> None:
    app.add_api_route("/hegui/api/keys/{key}/revoke", revoke_key, methods=["POST"], tags=["admin"])
