"""Console pages over the other rooms' records: a user's standing and history, and the audit chain.

    GET  /console/users?user=U     sanction level and steps, consent history, agreement acceptances,
                                   verification, data-subject requests, cases about the user
    GET  /console/audit?q=ID       the audit entries of a request / ProduceID / case (case-N); the head
    POST /console/audit/verify     walk the whole chain (admin; audited)

Reading is audited like every other staff act that shows personal records (`user-read`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hegui.cases import store
from hegui.errors import AuditChainBroken
from hegui.gateway.http import state_of
from hegui.gateway.state import GatewayState
from hegui.records import agreements, consent, dsr, sanctions_store
from hegui.records.audit import chain_length, find_by_request, verify_chain
from hegui.web import sessions
from hegui.web.console import _audit, _forbidden, _session, _to_login, _today
from hegui.web.render import page
from hegui.web.sessions import StaffSession


def _user_data(st: GatewayState, session: StaffSession, user: str) -> dict[str, Any]:
    tenant = session.tenant
    record = sanctions_store.record_json(st.ladder, st.sanctions, tenant, user, datetime.now(UTC))
    _audit(st, session.actor, tenant, "user-read", {"user": user})
    return {
        "user": user,
        "record": record,
        "consents": consent.history(st.engine, tenant, user),
        "acceptances": agreements.acceptances(st.engine, tenant, user),
        "verified": agreements.is_verified(st.engine, tenant, user),
        "dsrs": [r for r in dsr.list_requests(st.engine, tenant=tenant) if r.user == user],
        "cases": store.list_cases(st.engine, tenant=tenant, user=user),
        "today": _today(),
    }


async def user_page(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    user = request.query_params.get("user", "").strip()[:256]
    data: dict[str, Any] = {"user": user}
    if user:
        data = await run_in_threadpool(_user_data, state_of(request), session, user)
    return page(request, "console/user.html", session=session, **data)


async def audit_page(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    st = state_of(request)
    q = request.query_params.get("q", "").strip()[:128]
    entries = await run_in_threadpool(find_by_request, st.engine, q) if q else []
    head = await run_in_threadpool(chain_length, st.engine)
    return page(request, "console/audit.html", session=session, q=q, entries=entries, head=head, result=None)


async def audit_verify(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _forbidden(request, "log in first / 请先登录")
    form = await request.form(max_files=0, max_fields=8, max_part_size=4096)
    if not sessions.csrf_ok(session, form.get("csrf")):
        return _forbidden(request, "CSRF token missing or wrong / 请求校验失败")
    if session.role != "admin":
        return _forbidden(request, "verifying the chain needs the admin role / 需要管理员权限")
    st = state_of(request)
    try:
        report = await run_in_threadpool(verify_chain, st.engine)
        result = {
            "ok": True,
            "message": f"audit chain OK: {report.entries} entries, head {report.head_hash[:16]}…",
        }
    except AuditChainBroken as exc:
        result = {"ok": False, "message": exc.message}
    await run_in_threadpool(_audit, st, session.actor, session.tenant, "chain-verify", {"ok": result["ok"]})
    head = await run_in_threadpool(chain_length, st.engine)
    return page(request, "console/audit.html", session=session, q="", entries=[], head=head, result=result)


def register(app: FastAPI) -> None:
    app.add_api_route("/console/users", user_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/console/audit", audit_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/console/audit/verify", audit_verify, methods=["POST"], include_in_schema=False)
