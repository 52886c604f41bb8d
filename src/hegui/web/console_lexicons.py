"""The console's lexicon page: the running lexicon checks with their per-risk term counts against the
GB/T 45654 minimums, a form to test a text against the whole input pipeline, and a reload.

    GET  /console/lexicons           the checks, their versions and coverage
    POST /console/lexicons/test      run the input stage on a text; show every finding
    POST /console/lexicons/reload    read every lexicon check's files again (admin); a file that fails
                                     to load leaves that check on its previous version, and says why

Uploading a new lexicon file is not offered here: the files are part of the deployment (named by the
policy file); put them in place, then reload. Tests and reloads are audited (never the tested text).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hegui.cluster.events import Event, EventKind
from hegui.errors import HeguiError
from hegui.gateway.http import state_of
from hegui.gateway.state import GatewayState
from hegui.guard.types import Context, Stage
from hegui.web import sessions
from hegui.web.console import _audit, _forbidden, _session, _to_login
from hegui.web.render import page
from hegui.web.sessions import StaffSession


def _lexicon_checks(st: GatewayState) -> list[Any]:
    """The pipeline's lexicon checks (duck-typed: importing the lexicon engine costs ~65 MB, and a
    policy without lexicon checks never loads it)."""
    seen: dict[str, Any] = {}
    for stage in (Stage.INPUT, Stage.OUTPUT):
        for check in st.pipeline.checks_for(stage):
            lex = getattr(check, "lexicon", None)
            if lex is not None and hasattr(lex, "reload") and hasattr(lex, "current"):
                seen.setdefault(check.name, check)
    return list(seen.values())


def _overview(st: GatewayState) -> list[dict[str, Any]]:
    out = []
    checks = _lexicon_checks(st)
    if checks:
        from hegui.guard.lexicon.coverage import coverage

        for check in checks:
            compiled = check.lexicon.current
            out.append(
                {"name": check.name, "version": compiled.version, "coverage": coverage(compiled.lexicon)}
            )
    return out


def _page(request: Request, session: StaffSession, status: int = 200, **extra: Any) -> Response:
    checks = _overview(state_of(request))
    return page(request, "console/lexicons.html", status, session=session, checks=checks, **extra)


async def lexicons_page(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    return await run_in_threadpool(_page, request, session)


async def _form(request: Request) -> tuple[StaffSession | None, dict[str, str], Response | None]:
    session = await _session(request)
    if session is None:
        return None, {}, _forbidden(request, "log in first / 请先登录")
    form = await request.form(max_files=0, max_fields=8, max_part_size=65536)
    if not sessions.csrf_ok(session, form.get("csrf")):
        return session, {}, _forbidden(request, "CSRF token missing or wrong / 请求校验失败")
    return session, {k: v for k, v in form.items() if isinstance(v, str)}, None


async def lexicon_test(request: Request) -> Response:
    session, form, refused = await _form(request)
    if refused is not None or session is None:
        return refused or _to_login()
    st = state_of(request)
    text = form.get("text", "")[:10_000]
    verdict = await run_in_threadpool(st.pipeline.run, Stage.INPUT, text, Context(tenant=session.tenant))
    detail = {"chars": len(text), "action": verdict.action.value, "findings": len(verdict.findings)}
    await run_in_threadpool(_audit, st, session.actor, session.tenant, "lexicon-test", detail)
    return await run_in_threadpool(_page, request, session, 200, text=text, verdict=verdict)


def _reload(st: GatewayState) -> list[dict[str, str]]:
    out = []
    for check in _lexicon_checks(st):
        try:
            changed = check.lexicon.reload()
            out.append(
                {
                    "name": check.name,
                    "result": "changed" if changed else "unchanged",
                    "version": check.lexicon.current.version,
                }
            )
        except (HeguiError, OSError, ValueError) as exc:  # the previous version stays in force
            message = exc.message if isinstance(exc, HeguiError) else str(exc)
            out.append(
                {"name": check.name, "result": f"failed: {message}", "version": check.lexicon.current.version}
            )
    return out


async def lexicon_reload(request: Request) -> Response:
    session, _form_fields, refused = await _form(request)
    if refused is not None or session is None:
        return refused or _to_login()
    if session.role != "admin":
        return _forbidden(request, "reloading needs the admin role / 需要管理员权限")
    st = state_of(request)
    results = await run_in_threadpool(_reload, st)
    # The other replicas read their files again too (a no-op without HEGUI_REDIS_URL).
    await run_in_threadpool(st.shared.publish, Event(EventKind.LEXICON_RELOAD))
    await run_in_threadpool(_audit, st, session.actor, session.tenant, "lexicon-reload", {"checks": results})
    return await run_in_threadpool(_page, request, session, 200, reloaded=results)


def register(app: FastAPI) -> None:
    app.add_api_route("/console/lexicons", lexicons_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/console/lexicons/test", lexicon_test, methods=["POST"], include_in_schema=False)
    app.add_api_route("/console/lexicons/reload", lexicon_reload, methods=["POST"], include_in_schema=False)
