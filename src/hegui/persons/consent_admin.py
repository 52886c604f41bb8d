"""Admin routes of edit consents (DS-02) under ``/hegui/api/persons/consents`` (admin keys only):

- ``GET /hegui/api/persons/consents``: the key's tenant's edit consents;
- ``POST /hegui/api/persons/consents``: record one for the key's tenant (``subject``, ``scopes``,
  ``purpose``, ``consented_by``, ``evidence``; optional ``person``, ``evidence_sha256``, ``expires_at``);
- ``POST /hegui/api/persons/consents/{id}/revoke``: revoke one of the key's tenant's (``by``, ``reason``).

Every change is an audit entry (stage ``persons``); the edit routes read consents at each request, so
a recorded or revoked consent counts from the next request.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import RequestError
from hegui.gateway.http import authenticate, json_response, read_json, state_of
from hegui.persons.admin_input import _expiry, _text, evidence_digest
from hegui.records.edit_consents import SCOPES, EditConsents, consent_draft

_ID = re.compile(r"^[0-9a-f]{32}$")


def _scopes(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("scopes")
    if not isinstance(value, list) or not value or not all(v in SCOPES for v in value):
        raise RequestError(f"'scopes' must be a non-empty list of {', '.join(SCOPES)}", param="scopes")
    return tuple(value)


async def list_consents(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    store = EditConsents(state_of(request).engine)
    consents = await run_in_threadpool(store.list, principal.tenant)
    return json_response({"object": "list", "data": [c.to_json() for c in consents]})


async def record_consent(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    state = state_of(request)
    body = await read_json(request, state.settings.max_body_bytes)
    digest = evidence_digest(body)
    subject = _text(body, "subject", 256)
    purpose = _text(body, "purpose", 2000)
    consented_by = _text(body, "consented_by", 256)
    evidence = _text(body, "evidence", 2000)
    person = _text(body, "person", 128, required=False)
    assert subject and purpose and consented_by and evidence
    scopes = _scopes(body)
    expires_at = _expiry(body)
    c = await run_in_threadpool(
        lambda: EditConsents(state.engine).record(
            tenant=principal.tenant,
            subject=subject,
            scopes=scopes,
            purpose=purpose,
            consented_by=consented_by,
            evidence=evidence,
            evidence_sha256=digest,
            recorded_by=f"key:{principal.key_prefix}",
            person_key=person,
            expires_at=expires_at,
        )
    )
    await state.audit.append(
        consent_draft("consent", c, state.policy.full_version, f"key:{principal.key_prefix}")
    )
    return json_response(c.to_json(), status=201)


async def revoke_consent(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    state = state_of(request)
    body = await read_json(request, state.settings.max_body_bytes)
    cid = request.path_params["id"]
    if not _ID.match(cid):
        raise RequestError("the consent id is 32 hexadecimal digits", param="id")
    by = _text(body, "by", 256)
    reason = _text(body, "reason", 2000)
    assert by and reason
    c = await run_in_threadpool(
        lambda: EditConsents(state.engine).revoke(cid, by=by, reason=reason, tenant=principal.tenant)
    )
    await state.audit.append(consent_draft("revoke_consent", c, state.policy.full_version, by))
    return json_response(c.to_json())


def register(app: FastAPI) -> None:
    app.add_api_route("/hegui/api/persons/consents", list_consents, methods=["GET"], tags=["persons"])
    app.add_api_route("/hegui/api/persons/consents", record_consent, methods=["POST"], tags=["persons"])
    app.add_api_route(
        "/hegui/api/persons/consents/{id}/revoke", revoke_consent, methods=["POST"], tags=["persons"]
    )
