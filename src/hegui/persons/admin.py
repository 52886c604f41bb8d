"""Admin routes of the person registry under ``/hegui/api/persons`` (admin keys only).

- ``GET /hegui/api/persons``: the registered persons, and the authorizations of the key's tenant;
- ``POST /hegui/api/persons/{key}/authorizations``: record an authorization for the key's tenant;
- ``POST /hegui/api/persons/authorizations/{id}/revoke``: revoke one of the key's tenant's.

Persons themselves are the deployment's (one registry for every tenant) and are added with the CLI by
whoever runs the deployment; a tenant's admin manages only its own authorizations, never sees another
tenant's, and every change is an audit entry (stage ``persons``). The database work runs in the thread
pool. Like every check's input, the ``persona`` check sees a change at its next reload.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import RequestError
from hegui.gateway.http import authenticate, json_response, read_json, state_of
from hegui.persons.admin_input import _expiry, _text, evidence_digest
from hegui.persons.model import Scope
from hegui.records.persons_store import PersonRegistry, authorization_draft

_AUTH_ID = re.compile(r"^[0-9a-f]{32}$")
_KEY = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")


async def list_persons(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    registry = PersonRegistry(state_of(request).engine)
    persons = await run_in_threadpool(registry.persons)
    auths = await run_in_threadpool(registry.authorizations, None, principal.tenant)
    return json_response(
        {
            "object": "person_registry",
            "persons": [p.to_json() for p in persons],
            "authorizations": [a.to_json() for a in auths],
        }
    )


async def authorize(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    state = state_of(request)
    body = await read_json(request, state.settings.max_body_bytes)
    key = request.path_params["key"]
    if not _KEY.match(key):
        raise RequestError(
            "the person key must be 1 to 128 characters without control characters", param="key"
        )
    scope = body.get("scope")
    if scope not in tuple(s.value for s in Scope):
        raise RequestError("'scope' must be one of name, likeness, voice", param="scope")
    digest = evidence_digest(body)
    purpose = _text(body, "purpose", 2000)
    grantor = _text(body, "grantor", 256)
    evidence = _text(body, "evidence", 2000)
    assert purpose is not None and grantor is not None and evidence is not None
    expires_at = _expiry(body)
    a = await run_in_threadpool(
        lambda: PersonRegistry(state.engine).authorize(
            key,
            tenant=principal.tenant,
            scope=Scope(scope),
            purpose=purpose,
            grantor=grantor,
            evidence=evidence,
            evidence_sha256=digest,
            expires_at=expires_at,
        )
    )
    await state.audit.append(
        authorization_draft("authorize", a, state.policy.full_version, f"key:{principal.key_prefix}")
    )
    return json_response(a.to_json(), status=201)


async def revoke(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    state = state_of(request)
    body = await read_json(request, state.settings.max_body_bytes)
    auth_id = request.path_params["id"]
    if not _AUTH_ID.match(auth_id):
        raise RequestError("the authorization id is 32 hexadecimal digits", param="id")
    by = _text(body, "by", 256)
    reason = _text(body, "reason", 2000)
    assert by is not None and reason is not None
    a = await run_in_threadpool(
        lambda: PersonRegistry(state.engine).revoke(auth_id, by=by, reason=reason, tenant=principal.tenant)
    )
    await state.audit.append(authorization_draft("revoke", a, state.policy.full_version, by))
    return json_response(a.to_json())


def register(app: FastAPI) -> None:
    """Add the person registry's admin routes to a gateway built by `create_app`."""
    from hegui.persons import consent_admin

    consent_admin.register(app)  # before /persons/{key}/…: its own paths must not be read as a key
    app.add_api_route("/hegui/api/persons", list_persons, methods=["GET"], tags=["persons"])
    app.add_api_route(
        "/hegui/api/persons/{key}/authorizations", authorize, methods=["POST"], tags=["persons"]
    )
    app.add_api_route(
        "/hegui/api/persons/authorizations/{id}/revoke", revoke, methods=["POST"], tags=["persons"]
    )
