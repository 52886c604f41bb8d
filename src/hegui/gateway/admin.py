"""Admin routes of the records room under ``/hegui/api/`` (admin key only): real-name verification,
agreements, training consent, data-subject requests, pool export and check, end users' sanctions.
A ``frontend`` key may call four of them (``frontend=True``): accept an agreement, record consent, open
a DSR for a user of its tenant, and read the current agreements; nothing else.

Each route authenticates first, validates its body, and calls one function of `hegui.records`; errors
are `HeguiError` subclasses answered OpenAI-shaped by the app's handler. The database work runs in the
thread pool so that the event loop keeps serving model traffic. These routes never return another
tenant's data: the tenant is the admin key's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import RecordNotFound, RequestError
from hegui.gateway.admin_input import export_dir, path_user, record_id, text_field, user_id
from hegui.gateway.http import authenticate, json_response, read_json, state_of
from hegui.gateway.state import Principal
from hegui.records import agreements, consent, dsr, export, keep, sanctions_store
from hegui.records.keys import CHANNELS
from hegui.records.vault import Vault

T = TypeVar("T")


def vault_of(request: Request) -> Vault:
    vault: Vault = request.app.state.hegui.vault
    return vault


async def _settle(request: Request) -> None:
    """The keep journal carried out (records/keep.py) before a reader that must see every kept turn."""
    state = state_of(request)
    await _call(
        keep.settle,
        state.engine,
        state.vault,
        state.policy.records,
        on_failure=state.metrics.records_failures.inc,
    )


def _field(body: dict[str, Any], name: str, kind: type[T], default: Any = ...) -> T:
    value = body.get(name, default)
    if value is ...:
        raise RequestError(f"missing field {name!r}", param=name)
    if value is None and default is ...:  # a required field given as null is as good as missing
        raise RequestError(f"{name!r} must be a {kind.__name__}, not null", param=name)
    if value is not None and not isinstance(value, kind):
        raise RequestError(f"{name!r} must be a {kind.__name__}", param=name)
    if isinstance(value, str):  # no field here needs more; the database cannot store NUL
        text_field(value, name, 1_000_000)
    return value  # type: ignore[return-value]


def _channel(body: dict[str, Any], principal: Principal) -> str:
    channel = _field(body, "channel", str, principal.channel)
    if channel not in CHANNELS:
        raise RequestError(f"channel must be one of {', '.join(CHANNELS)}", param="channel")
    return channel


async def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await run_in_threadpool(fn, *args, **kwargs)


async def put_verification(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    body = await read_json(request, state_of(request).settings.max_body_bytes)
    user = path_user(request)
    verified = _field(body, "verified", bool)
    method = _field(body, "method", str, "provider")
    await _call(
        agreements.set_verification, state_of(request).engine, principal.tenant, user, verified, method
    )
    return json_response({"user": user, "verified": verified, "method": method})


async def publish_agreement(request: Request) -> Response:
    """Publish the admin's tenant's agreement (never another tenant's)."""
    principal = authenticate(request, admin=True)
    body = await read_json(request, state_of(request).settings.max_body_bytes)
    published = await _call(
        agreements.publish,
        state_of(request).engine,
        _field(body, "kind", str),
        _field(body, "version", str),
        _field(body, "text", str),
        tenant=principal.tenant,
    )
    return json_response(asdict(published), status=201)


async def list_agreements(request: Request) -> Response:
    principal = authenticate(request, admin=True, frontend=True)
    engine = state_of(request).engine
    out = {k: await _call(agreements.current, engine, k, tenant=principal.tenant) for k in agreements.KINDS}
    return json_response({k: asdict(v) if v else None for k, v in out.items()})


async def accept_agreement(request: Request) -> Response:
    principal = authenticate(request, admin=True, frontend=True)
    body = await read_json(request, state_of(request).settings.max_body_bytes)
    user = path_user(request)
    accepted = await _call(
        agreements.accept,
        state_of(request).engine,
        principal.tenant,
        user,
        _field(body, "kind", str),
        _field(body, "version", str, None),
        _channel(body, principal),
    )
    return json_response({"user": user, **asdict(accepted)}, status=201)


async def post_consent(request: Request) -> Response:
    """Opt in or out in one call: ``{"granted": false}`` withdraws and tombstones the user's pool records."""
    principal = authenticate(request, admin=True, frontend=True)
    body = await read_json(request, state_of(request).settings.max_body_bytes)
    user = path_user(request)
    change = await _call(
        consent.record_consent,
        state_of(request).engine,
        principal.tenant,
        user,
        _field(body, "granted", bool),
        channel=_channel(body, principal),
        source=text_field(
            _field(body, "source", str, None)
            or ("frontend" if principal.role == "frontend" else "admin-api"),
            "source",
            64,
        ),
    )
    return json_response(
        {"user": user, "event": asdict(change.event), "tombstoned": change.tombstoned}, status=201
    )


async def get_consent(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    state = state_of(request)
    user = path_user(request)
    channel = request.query_params.get("channel", principal.channel)
    if channel not in CHANNELS:
        raise RequestError(f"channel must be one of {', '.join(CHANNELS)}", param="channel")
    now = await _call(consent.consent_at, state.engine, state.policy.records, principal.tenant, user, channel)
    events = await _call(consent.history, state.engine, principal.tenant, user)
    return json_response({"user": user, "effective": asdict(now), "events": [asdict(e) for e in events]})


def _dsr_json(req: dsr.DsrRequest) -> dict[str, Any]:
    return asdict(req) | {"object": "dsr_request"}


async def create_dsr(request: Request) -> Response:
    principal = authenticate(request, admin=True, frontend=True)
    state = state_of(request)
    body = await read_json(request, state.settings.max_body_bytes)
    req = await _call(
        dsr.open_request,
        state.engine,
        principal.tenant,
        user_id(_field(body, "user", str)),
        _field(body, "kind", str),
        detail=_field(body, "detail", dict, {}),
        deadline_days=state.policy.records.dsr_deadline_days,
        policy_version=state.policy.full_version,
        audit=state.audit.write,
    )
    return json_response(_dsr_json(req), status=201)


async def list_dsr(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    overdue = request.query_params.get("overdue") in ("1", "true")
    status = request.query_params.get("status")
    today = datetime.now(UTC).date()
    reqs = await _call(
        dsr.list_requests,
        state_of(request).engine,
        tenant=principal.tenant,
        status=status,
        overdue_on=today if overdue else None,
    )
    return json_response({"object": "list", "data": [_dsr_json(r) for r in reqs]})


async def complete_dsr(request: Request) -> Response:
    principal = authenticate(request, admin=True)
    state = state_of(request)
    body = await read_json(request, state.settings.max_body_bytes)
    rid = record_id(request.path_params["id"])
    req = await _call(dsr.get, state.engine, rid)
    if req.tenant != principal.tenant:  # as if it did not exist: ids are not secrets, tenants' data is
        raise RecordNotFound(f"no data-subject request {rid}", param="id")
    await _settle(request)  # the turns of requests already answered are part of what the user asks about
    closed, result = await _call(
        dsr.complete_request,
        state.engine,
        vault_of(request),
        rid,
        resolution=_field(body, "resolution", str, ""),
        policy_version=state.policy.full_version,
        audit=state.audit.write,
    )
    return json_response({"request": _dsr_json(closed), "result": result})


async def export_pool(request: Request) -> Response:
    """Export the tenant's pool to ``<data_dir>/exports/<tenant dir>/<name>`` (a plain name, never a
    path; each tenant has its own directory, so names never collide across tenants)."""
    principal = authenticate(request, admin=True)
    state = state_of(request)
    body = await read_json(request, state.settings.max_body_bytes)
    out = export_dir(state.settings.data_dir, principal.tenant, body.get("name"))
    if out.exists():  # said here by name: the records room's message would show the server's path
        raise RequestError(f"export {out.name!r} already exists; exports never overwrite", param="name")
    await _settle(request)  # every turn already answered has been offered to the pool
    report = await _call(export.export_pool, state.engine, out, tenant=principal.tenant)
    return json_response(
        {"export_id": report.export_id, "path": str(report.path), "records": report.records}, status=201
    )


async def check_pool_export(request: Request) -> Response:
    """Check one of the tenant's own exports; another tenant's is not found (it is not in this tenant's
    directory, and its manifest names another tenant)."""
    principal = authenticate(request, admin=True)
    state = state_of(request)
    out = export_dir(state.settings.data_dir, principal.tenant, request.path_params["name"])
    if not (out / export.MANIFEST).is_file():  # said by name, not by the server's path
        raise RecordNotFound(f"no export {out.name!r} for this tenant", param="name")
    report = await _call(export.check_export, state.engine, out, tenant=principal.tenant)
    return json_response(
        {
            "export_id": report.export_id,
            "records": report.records,
            "intact": report.intact,
            "clean": report.clean,
            "flagged": [asdict(f) for f in report.flagged],
        }
    )


async def get_sanctions(request: Request) -> Response:
    """The end user's standing on the sanction ladder (IM 14) and every recorded step."""
    principal = authenticate(request, admin=True)
    state = state_of(request)
    record = await _call(
        sanctions_store.record_json,
        state.ladder,
        state.sanctions,
        principal.tenant,
        path_user(request),
        datetime.now(UTC),
    )
    return json_response(record)


async def post_sanction(request: Request) -> Response:
    """A person sets the user's level (an appeal upheld, say): recorded as a step and in the audit chain."""
    principal = authenticate(request, admin=True)
    state = state_of(request)
    body = await read_json(request, state.settings.max_body_bytes)
    user = path_user(request)
    level, by, reason = sanctions_store.parse_lift(body.get("level"), body.get("by"), body.get("reason"))
    step = await _call(
        state.ladder.lift,
        state.sanctions,
        principal.tenant,
        user,
        to=level,
        by=by,
        reason=reason,
        now=datetime.now(UTC),
    )
    await state.audit.append(sanctions_store.lift_draft(step, state.policy.full_version))
    record = await _call(
        sanctions_store.record_json, state.ladder, state.sanctions, principal.tenant, user, datetime.now(UTC)
    )
    return json_response({"step": sanctions_store.step_json(step), "record": record}, status=201)


def register(app: FastAPI) -> None:
    """Add the records admin routes to a gateway built by `create_app`."""
    for path, fn, method in (
        ("/hegui/api/users/{user}/verification", put_verification, "PUT"),
        ("/hegui/api/users/{user}/agreements", accept_agreement, "POST"),
        ("/hegui/api/users/{user}/consent", post_consent, "POST"),
        ("/hegui/api/users/{user}/consent", get_consent, "GET"),
        ("/hegui/api/users/{user}/sanctions", get_sanctions, "GET"),
        ("/hegui/api/users/{user}/sanctions", post_sanction, "POST"),
        ("/hegui/api/agreements", publish_agreement, "POST"),
        ("/hegui/api/agreements", list_agreements, "GET"),
        ("/hegui/api/dsr", create_dsr, "POST"),
        ("/hegui/api/dsr", list_dsr, "GET"),
        ("/hegui/api/dsr/{id}/complete", complete_dsr, "POST"),
        ("/hegui/api/pool/exports", export_pool, "POST"),
        ("/hegui/api/pool/exports/{name}/check", check_pool_export, "GET"),
    ):
        app.add_api_route(path, fn, methods=[method], tags=["records"])
