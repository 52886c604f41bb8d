"""The staff console at /console: log in once with an admin key, then a session cookie.

Every page needs a live session (else: redirect to the login page; a POST without one: 403). Every form
carries the session's CSRF token, and a POST whose token does not match is refused (403) before it does
anything; the login form uses a double-submit token, since there is no session yet. Every staff action
goes through the cases room, which audits it with the session's key as the actor; logging in and out
are audited too. The session's role is its key's: ``admin`` may do everything; ``reviewer`` may not
report to the authority nor export the improvement queue (`ADMIN_ONLY`); ``client`` keys (and any other
role) cannot log in.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hegui.cases import actions, store
from hegui.cases.config import KINDS
from hegui.cases.store import DECISIONS, STATES, TRANSITIONS, china_day
from hegui.errors import HeguiError, RecordNotFound, RequestError
from hegui.gateway.http import json_response, state_of
from hegui.gateway.state import GatewayState
from hegui.guard.sanctions import Sanction
from hegui.records import dsr
from hegui.records.audit import AuditDraft, find_by_request, utc_now
from hegui.web import sessions
from hegui.web.dashboard import dashboard_data
from hegui.web.render import SECURITY_HEADERS, page
from hegui.web.sessions import COOKIE, StaffSession

CONSOLE_ROLES = ("admin", "reviewer")
ADMIN_ONLY = frozenset({"authority", "export"})
LOGIN_COOKIE = "hegui_console_login"


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _audit(st: GatewayState, session_actor: str, tenant: str, action: str, detail: dict[str, Any]) -> None:
    st.audit.append_sync(
        AuditDraft(
            request_id=f"console-{secrets.token_hex(8)}",
            stage="console",
            action=action,
            policy_version=st.policy.full_version,
            content_hash="",
            tenant=tenant,
            detail={"actor": session_actor, **detail},
        )
    )


async def _session(request: Request) -> StaffSession | None:
    return await run_in_threadpool(sessions.lookup, state_of(request).engine, request.cookies.get(COOKIE))


def _to_login() -> Response:
    return RedirectResponse("/console/login", status_code=303, headers=SECURITY_HEADERS)


def _forbidden(request: Request, message: str) -> Response:
    return page(request, "message.html", 403, title="拒绝 Forbidden", message=message, back="/console")


def _today() -> date:
    return china_day(utc_now())


# --- login ----------------------------------------------------------------------------------------------


async def _login(request: Request, error: str = "", status: int = 200) -> Response:
    csrf = secrets.token_urlsafe(24)
    response = page(request, "console/login.html", status, csrf=csrf, error=error, session=None)
    _cookie(response, request, LOGIN_COOKIE, csrf, 900)
    return response


async def login_form(request: Request) -> Response:
    return await _login(request)


async def login_submit(request: Request) -> Response:
    st = state_of(request)
    form = await request.form(max_files=0, max_fields=8, max_part_size=4096)
    sent, expected = form.get("csrf"), request.cookies.get(LOGIN_COOKIE)
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
        return await _login(request, "表单已过期，请重试 / the form expired; try again", 403)
    token = form.get("key")
    key = (
        await run_in_threadpool(st.keys.authenticate, token.strip())
        if isinstance(token, str) and token.strip()
        else None
    )
    if key is None or key.role not in CONSOLE_ROLES:
        await run_in_threadpool(
            _audit,
            st,
            f"key:{key.prefix}" if key else "unknown",
            key.tenant if key else "default",
            "login-denied",
            {},
        )
        return await _login(request, "密钥无效或无权访问工作台 / not a valid key for the console", 403)
    cookie, _csrf = await run_in_threadpool(sessions.open_session, st.engine, key.id, key.tenant, key.role)
    await run_in_threadpool(_audit, st, f"key:{key.prefix}", key.tenant, "login", {"role": key.role})
    response = RedirectResponse("/console", status_code=303, headers=SECURITY_HEADERS)
    _cookie(response, request, COOKIE, cookie, int(sessions.LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


async def logout(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    form = await request.form(max_files=0, max_fields=8, max_part_size=4096)
    if not sessions.csrf_ok(session, form.get("csrf")):
        return _forbidden(request, "CSRF token missing or wrong / 请求校验失败")
    st = state_of(request)
    await run_in_threadpool(sessions.close_session, st.engine, request.cookies[COOKIE])
    await run_in_threadpool(_audit, st, session.actor, session.tenant, "logout", {})
    response = _to_login()
    response.delete_cookie(COOKIE, path="/console")
    return response


# --- pages ----------------------------------------------------------------------------------------------


async def dashboard(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    data = await run_in_threadpool(dashboard_data, state_of(request), session.tenant, _today())
    return page(request, "console/dashboard.html", session=session, **data)


async def case_queue(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    q = request.query_params
    state = q.get("state") if q.get("state") in STATES else None
    kind = q.get("kind") if q.get("kind") in KINDS else None
    overdue = q.get("overdue") == "1"
    today = _today()
    cases = await run_in_threadpool(
        store.list_cases,
        state_of(request).engine,
        tenant=session.tenant,
        state=state,
        kind=kind,
        overdue_on=today if overdue else None,
    )
    filters = {"state": state or "", "kind": kind or "", "overdue": overdue}
    return page(
        request,
        "console/cases.html",
        session=session,
        cases=cases,
        states=STATES,
        filters=filters,
        today=today,
    )


def _case_of(st: GatewayState, session: StaffSession, case_id: int) -> store.Case:
    case = store.get_case(st.engine, case_id)
    if case.tenant != session.tenant:  # another tenant's case does not exist for this session
        raise RecordNotFound(f"no case {case_id}", param="id")
    return case


def _asked_dsr(description: str) -> str:
    """The request kind a /privacy form put at the start of the description, if any."""
    m = re.match(r"【个人信息权利请求 data-subject request: (\w+)】", description)
    return m.group(1) if m else ""


def _case_data(st: GatewayState, session: StaffSession, case_id: int) -> dict[str, Any]:
    case = _case_of(st, session, case_id)
    standing = None
    if case.user:
        standing = st.ladder.standing(st.sanctions, case.tenant, case.user, datetime.now(UTC))
    return {
        "case": case,
        "evidence": store.evidence_of(st.engine, case.id),
        "events": store.events(st.engine, case.id),
        "removed": actions.removed(st.engine, case.produce_id) if case.produce_id else None,
        "trail": find_by_request(st.engine, case.produce_id) if case.produce_id else [],
        "reports": actions.authority_reports(st.engine, case_id=case.id),
        "standing": standing,
        "next_states": TRANSITIONS.get(case.state, ()),
        "decisions": DECISIONS,
        "levels": [s.value for s in Sanction],
        "dsr_kinds": dsr.KINDS,
        "dsr_asked": _asked_dsr(case.description),
        "today": _today(),
    }


async def case_page(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    try:
        case_id = int(request.path_params["case_id"])
        data = await run_in_threadpool(_case_data, state_of(request), session, case_id)
    except (ValueError, HeguiError):
        return page(
            request,
            "message.html",
            404,
            title="未找到 Not found",
            message="no such case",
            back="/console/cases",
            session=session,
        )
    q = request.query_params
    return page(
        request,
        "console/case.html",
        session=session,
        flash=q.get("done", ""),
        error=q.get("error", ""),
        **data,
    )


async def evidence_file(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    st = state_of(request)
    try:
        case_id, eid = int(request.path_params["case_id"]), int(request.path_params["evidence_id"])
        await run_in_threadpool(_case_of, st, session, case_id)
        info, data = await run_in_threadpool(store.evidence_data, st.engine, case_id, eid)
    except (ValueError, HeguiError):
        return page(
            request,
            "message.html",
            404,
            title="未找到 Not found",
            message="no such evidence",
            back="/console/cases",
            session=session,
        )
    await run_in_threadpool(
        _audit, st, session.actor, session.tenant, "evidence-read", {"case": case_id, "evidence": eid}
    )
    # Served as an attachment, with its sniffed type and nosniff: an uploaded file never renders as a
    # page of this origin.
    headers = SECURITY_HEADERS | {
        "content-disposition": f"attachment; filename*=UTF-8''{quote(info.filename)}"
    }
    return Response(data, media_type=info.media_type, headers=headers)


# --- actions --------------------------------------------------------------------------------------------


def _act(st: GatewayState, session: StaffSession, case_id: int, action: str, form: dict[str, str]) -> str:
    """Carry out one console action; returns what to tell the reviewer."""
    case = _case_of(st, session, case_id)
    pv = st.policy.full_version
    w = st.audit.append_sync
    actor = session.actor
    if action == "transition":
        moved = store.transition(
            st.engine,
            w,
            case.id,
            form.get("to", ""),
            actor=actor,
            decision=form.get("decision", ""),
            answer=form.get("answer", ""),
            reason=form.get("reason", ""),
            policy_version=pv,
        )
        return f"→ {moved.state}"
    if action == "note":
        store.add_note(st.engine, w, case.id, form.get("note", ""), actor=actor, policy_version=pv)
        return "note added"
    if action == "assign":
        store.assign(st.engine, w, case.id, form.get("assignee", ""), actor=actor, policy_version=pv)
        return "assigned"
    if action == "takedown":
        done = actions.take_down(
            st.engine,
            w,
            case.produce_id,
            tenant=case.tenant,
            by=actor,
            reason=form.get("reason", ""),
            case_id=case.id,
            policy_version=pv,
        )
        if case.state == "decided":
            store.transition(st.engine, w, case.id, "acted", actor=actor, policy_version=pv)
        return f"{done.produce_id} removed ({done.turns_erased} turns erased, {done.pool_tombstoned} pool records tombstoned)"
    if action == "sanction":
        out = actions.sanction(
            st.engine,
            w,
            st.ladder,
            st.sanctions,
            tenant=case.tenant,
            user=case.user,
            level=form.get("level", ""),
            by=actor,
            reason=form.get("reason", ""),
            case_id=case.id,
            policy_version=pv,
        )
        if case.state == "decided":
            store.transition(st.engine, w, case.id, "acted", actor=actor, policy_version=pv)
        return f"{out['user']}: {out['previous']} → {out['level']}"
    if action == "improve":
        item = actions.queue_improvement(
            st.engine,
            w,
            st.vault,
            case.produce_id,
            tenant=case.tenant,
            category=form.get("category", ""),
            by=actor,
            case_id=case.id,
            policy_version=pv,
        )
        return f"queued for model improvement (item {item.id})"
    if action == "authority":
        rep = actions.record_authority_report(
            st.engine,
            w,
            tenant=case.tenant,
            authority=form.get("authority", ""),
            reference=form.get("reference", ""),
            summary=form.get("summary", ""),
            by=actor,
            reported_at=form.get("reported_at", ""),
            case_id=case.id,
            policy_version=pv,
        )
        return f"report {rep.id} recorded"
    if action == "open-dsr":
        if case.kind != "personal_info" or not case.user:
            raise RequestError(
                "a data-subject request comes from a personal-information case naming the user"
            )
        req = dsr.open_request(
            st.engine,
            case.tenant,
            case.user,
            form.get("dsr_kind", ""),
            detail={"case": case.id, "receipt": case.receipt},
            deadline_days=st.policy.records.dsr_deadline_days,
            policy_version=pv,
            audit=st.audit.write,
        )
        store.record_event(
            st.engine,
            w,
            case,
            "dsr-opened",
            actor=actor,
            detail={"dsr": req.id, "kind": req.kind},
            policy_version=pv,
        )
        return f"data-subject request {req.id} opened ({req.kind}, due {req.due_date})"
    if action == "refute":
        ref = actions.publish_refutation(
            st.engine,
            w,
            tenant=case.tenant,
            title=form.get("title", ""),
            body=form.get("body", ""),
            by=actor,
            case_id=case.id,
            policy_version=pv,
        )
        return f"refutation {ref.id} published on /refutations"
    raise RecordNotFound(f"no console action {action!r}")


async def case_action(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _forbidden(request, "log in first / 请先登录")
    form = await request.form(max_files=0, max_fields=16, max_part_size=65536)
    if not sessions.csrf_ok(session, form.get("csrf")):
        return _forbidden(request, "CSRF token missing or wrong / 请求校验失败")
    action = request.path_params["action"]
    if action in ADMIN_ONLY and session.role != "admin":
        return _forbidden(request, "this action needs the admin role / 需要管理员权限")
    try:
        case_id = int(request.path_params["case_id"])
    except ValueError:
        return _forbidden(request, "no such case")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        said = await run_in_threadpool(_act, state_of(request), session, case_id, action, fields)
        target = f"/console/cases/{case_id}?done={quote(said)}"
    except HeguiError as exc:
        if isinstance(exc, RecordNotFound) and "case" in exc.message:
            return page(
                request,
                "message.html",
                404,
                title="未找到 Not found",
                message=exc.message,
                back="/console/cases",
                session=session,
            )
        target = f"/console/cases/{case_id}?error={quote(exc.message)}"
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


async def improvements_export(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    if session.role != "admin":
        return _forbidden(request, "this export needs the admin role / 需要管理员权限")
    st = state_of(request)
    body = await run_in_threadpool(actions.export_improvements, st.engine, tenant=session.tenant)
    await run_in_threadpool(
        _audit, st, session.actor, session.tenant, "export", {"what": "improvement_queue"}
    )
    headers = SECURITY_HEADERS | {"content-disposition": 'attachment; filename="improvement-queue.jsonl"'}
    return Response(body, media_type="application/x-ndjson; charset=utf-8", headers=headers)


async def authority_export(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    st = state_of(request)
    try:
        report = await run_in_threadpool(
            actions.authority_report, st.engine, int(request.path_params["report_id"])
        )
        if report.tenant != session.tenant:
            raise RecordNotFound("no such report")
        doc = await run_in_threadpool(actions.export_authority_report, st.engine, report.id)
    except (ValueError, HeguiError):
        return page(
            request,
            "message.html",
            404,
            title="未找到 Not found",
            message="no such report",
            back="/console",
            session=session,
        )
    headers = SECURITY_HEADERS | {
        "content-disposition": f'attachment; filename="authority-report-{report.id}.json"'
    }
    return json_response(doc, headers=headers)


def register(app: FastAPI) -> None:
    for path, fn, method in (
        ("/console/login", login_form, "GET"),
        ("/console/login", login_submit, "POST"),
        ("/console/logout", logout, "POST"),
        ("/console", dashboard, "GET"),
        ("/console/cases", case_queue, "GET"),
        ("/console/cases/{case_id}", case_page, "GET"),
        ("/console/cases/{case_id}/evidence/{evidence_id}", evidence_file, "GET"),
        ("/console/cases/{case_id}/{action}", case_action, "POST"),
        ("/console/improvements.jsonl", improvements_export, "GET"),
        ("/console/authority/{report_id}.json", authority_export, "GET"),
    ):
        app.add_api_route(path, fn, methods=[method], include_in_schema=False)
