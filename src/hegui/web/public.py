"""The public pages (no login) and the JSON API behind them.

    GET  /report                          the complaint form
    POST /report                          the form (multipart); answers with the receipt page
    GET  /report/{receipt}                follow a case by its receipt number
    GET  /privacy                         the current agreement and privacy policy, the complaint process
    POST /privacy/request                 a data-subject request, filed as a personal-information case
    POST /hegui/public/complaints         JSON: file a complaint (evidence as base64)
    GET  /hegui/public/complaints/{receipt}
    GET  /refutations                     published refutations of rumours
    GET  /hegui/public/produce/{id}       what a ProduceID resolves to; 410 Gone once removed
    GET  /hegui/public/provider           the provider's name, filing number and link, the pages' paths

Complaints are limited per client address (``[cases] report_rate_per_hour``); the body is bounded
before it is parsed. Receipt pages show the state and the answer, never the complainant's contact.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hegui.cases import actions, store
from hegui.cases.config import CasesPolicy
from hegui.cases.evidence import check_evidence
from hegui.cases.store import Case, Submission
from hegui.errors import HeguiError, PayloadTooLarge, RequestError
from hegui.gateway.http import json_response, read_json, state_of
from hegui.gateway.state import GatewayState
from hegui.records import agreements
from hegui.web.ratelimit import RateLimiter
from hegui.web.render import page

STATES: dict[str, tuple[str, str]] = {
    "received": ("已受理", "received"),
    "triaged": ("核查中", "under review"),
    "decided": ("已作出决定", "decided"),
    "acted": ("已处置", "action taken"),
    "answered": ("已答复", "answered"),
    "closed": ("已办结", "closed"),
}


class RateLimited(RequestError):
    http_status = 429
    code = "rate_limited"


@dataclass
class PublicState:
    limiter: RateLimiter


def _limiter(request: Request) -> RateLimiter:
    public: PublicState = request.app.state.hegui_public
    return public.limiter


def _cases_policy(request: Request) -> CasesPolicy:
    policy: CasesPolicy = state_of(request).policy.cases
    return policy


def _body_limit(policy: CasesPolicy) -> int:
    # base64 grows files by a third; 64 KiB for the text fields
    return (policy.evidence_max_bytes * 4 // 3 + 1024) * max(policy.evidence_max_files, 1) + 65536


def _check_rate(request: Request) -> None:
    client = request.client.host if request.client else "unknown"
    if not _limiter(request).allow(client):
        raise RateLimited(
            "too many complaints from this address; try again in an hour / 提交过于频繁，请一小时后再试"
        )


def _file(state: GatewayState, sub: Submission) -> Case:
    return store.open_case(
        state.engine,
        state.audit.append_sync,
        state.policy.cases,
        sub,
        policy_version=state.policy.full_version,
    )


def _public_json(case: Case) -> dict[str, Any]:
    return {
        "object": "complaint",
        "receipt": case.receipt,
        "kind": case.kind,
        "state": case.state,
        "received_at": case.received_at,
        "due_date": case.due_date,
        "answered_at": case.answered_at,
        "answer": case.answer or None,
        "status_url": f"/report/{case.receipt}",
    }


def _form_page(
    request: Request, status: int = 200, error: str = "", form: dict[str, Any] | None = None
) -> Response:
    policy = _cases_policy(request)
    return page(
        request,
        "report.html",
        status,
        error=error,
        form=form or {},
        deadline=policy.deadline_days,
        max_files=policy.evidence_max_files,
        max_mb=round(policy.evidence_max_bytes / 1048576, 1),
        types=", ".join(policy.evidence_types),
    )


async def report_form(request: Request) -> Response:
    return _form_page(request)


async def report_submit(request: Request) -> Response:
    policy = _cases_policy(request)
    form_values: dict[str, Any] = {}
    try:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            raise RequestError("the form must be sent with its length / 请使用浏览器提交表单")
        if int(length) > _body_limit(policy):
            raise PayloadTooLarge(
                f"the upload is too large: at most {policy.evidence_max_files} files of "
                f"{policy.evidence_max_bytes} bytes / 上传内容过大"
            )
        _check_rate(request)
        try:
            form = await request.form(
                max_files=policy.evidence_max_files + 1, max_fields=32, max_part_size=65536
            )
        except StarletteHTTPException as exc:  # a malformed body, or more files or fields than allowed
            raise RequestError(f"{exc.detail} / 表单无法解析") from None
        try:
            files: list[tuple[str, bytes]] = []
            for item in form.getlist("evidence"):
                if isinstance(item, UploadFile):
                    data = await item.read(policy.evidence_max_bytes + 1)
                    files.append((item.filename or "evidence", data))
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
        finally:
            await form.close()  # the spooled upload files
        form_values = fields | {"anonymous": fields.get("anonymous") == "1"}
        evidence = check_evidence(policy, files)
        sub = Submission(
            kind=fields.get("kind", ""),
            description=fields.get("description", ""),
            reporter_name=fields.get("reporter_name", ""),
            reporter_contact=fields.get("reporter_contact", ""),
            anonymous=fields.get("anonymous") == "1",
            produce_id=fields.get("produce_id", ""),
            user=fields.get("user", ""),
            url=fields.get("url", ""),
            evidence=evidence,
        )
        case = await run_in_threadpool(_file, state_of(request), sub)
    except HeguiError as exc:
        return _form_page(request, exc.status(), exc.message, form_values)
    # Post/redirect/get: a reload of the receipt page does not file the complaint twice.
    return RedirectResponse(f"/report/{case.receipt}?created=1", status_code=303)


async def receipt_page(request: Request) -> Response:
    try:
        case = await run_in_threadpool(
            store.by_receipt, state_of(request).engine, request.path_params["receipt"]
        )
    except HeguiError as exc:
        return page(
            request,
            "message.html",
            exc.status(),
            title="未找到 Not found",
            message=exc.message,
            back="/report",
        )
    return page(
        request, "receipt.html", case=case, states=STATES, created=request.query_params.get("created") == "1"
    )


DSR_KINDS: dict[str, tuple[str, str]] = {
    "access": ("查阅、复制", "access and copy"),
    "correction": ("更正", "correction"),
    "deletion": ("删除", "deletion"),
    "withdrawal": ("撤回同意", "withdraw consent"),
}
DSR_MARK = "【个人信息权利请求 data-subject request: {kind}】"


async def privacy_page(request: Request, error: str = "", status: int = 200) -> Response:
    engine = state_of(request).engine
    docs = []
    for kind, title in (("service", "用户协议 Service agreement"), ("privacy", "隐私政策 Privacy policy")):
        current = await run_in_threadpool(agreements.current, engine, kind, tenant="default")
        if current is not None:
            docs.append(
                {
                    "title": title,
                    "version": current.version,
                    "text": current.text,
                    "published_at": current.published_at,
                }
            )
    return page(
        request,
        "privacy.html",
        status,
        docs=docs,
        deadline=_cases_policy(request).deadline_days,
        dsr_deadline=state_of(request).policy.records.dsr_deadline_days,
        dsr_kinds=DSR_KINDS,
        error=error,
    )


async def privacy_get(request: Request) -> Response:
    return await privacy_page(request)


async def privacy_request(request: Request) -> Response:
    """A data-subject request from the public: filed as a personal-information case (the requester's
    identity must be verified before anything is disclosed or erased); staff open the data-subject
    request from the case once they have (console: *Open data-subject request*)."""
    try:
        _check_rate(request)
        try:
            form = await request.form(max_files=0, max_fields=16, max_part_size=65536)
        except StarletteHTTPException as exc:
            raise RequestError(f"{exc.detail} / 表单无法解析") from None
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        kind = fields.get("dsr_kind", "")
        if kind not in DSR_KINDS:
            raise RequestError("choose the request / 请选择请求类型", param="dsr_kind")
        sub = Submission(
            kind="personal_info",
            description=DSR_MARK.format(kind=kind) + "\n" + fields.get("details", "")[:5000],
            reporter_contact=fields.get("reporter_contact", ""),
            user=fields.get("user", ""),
        )
        if not sub.user.strip():
            raise RequestError("name your account / 请填写用户账号", param="user")
        case = await run_in_threadpool(_file, state_of(request), sub)
    except HeguiError as exc:
        return await privacy_page(request, exc.message, exc.status())
    return RedirectResponse(f"/report/{case.receipt}?created=1", status_code=303)


def _decode_evidence(items: object) -> list[tuple[str, bytes]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise RequestError("evidence must be a list of {filename, data_base64}", param="evidence")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("data_base64"), str):
            raise RequestError(f"evidence[{i}] must be {{filename, data_base64}}", param="evidence")
        try:
            data = base64.b64decode(item["data_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(f"evidence[{i}].data_base64 is not base64", param="evidence") from None
        out.append((str(item.get("filename") or "evidence"), data))
    return out


async def api_file(request: Request) -> Response:
    policy = _cases_policy(request)
    body = await read_json(request, _body_limit(policy))
    _check_rate(request)

    def text(name: str) -> str:
        value = body.get(name, "")
        if not isinstance(value, str):
            raise RequestError(f"{name} must be a string", param=name)
        return value

    anonymous = body.get("anonymous", False)
    if not isinstance(anonymous, bool):
        raise RequestError("anonymous must be true or false", param="anonymous")
    sub = Submission(
        kind=text("kind"),
        description=text("description"),
        reporter_name=text("reporter_name"),
        reporter_contact=text("reporter_contact"),
        anonymous=anonymous,
        produce_id=text("produce_id"),
        user=text("user"),
        url=text("url"),
        evidence=check_evidence(policy, _decode_evidence(body.get("evidence"))),
    )
    case = await run_in_threadpool(_file, state_of(request), sub)
    return json_response(_public_json(case), status=201)


async def api_status(request: Request) -> Response:
    case = await run_in_threadpool(store.by_receipt, state_of(request).engine, request.path_params["receipt"])
    return json_response(_public_json(case))


async def api_produce(request: Request) -> Response:
    status = await run_in_threadpool(
        actions.resolve, state_of(request).engine, request.path_params["produce_id"]
    )
    body = {
        "object": "produce_status",
        "produce_id": status.produce_id,
        "status": status.status,
        "removed_at": status.removed_at,
    }
    return json_response(body, status=410 if status.status == "removed" else 200)


async def refutations_page(request: Request) -> Response:
    items = await run_in_threadpool(actions.refutations, state_of(request).engine, tenant="default")
    return page(request, "refutations.html", items=items)


async def api_provider(request: Request) -> Response:
    """What a provider's own UI shows beside generated content: the filing number and its link, and
    where to complain (DS-04, IM art. 15)."""
    p = state_of(request).policy.provider
    body = {
        "object": "provider",
        "name": p.name,
        "filing_number": p.filing_number or None,
        "filing_url": p.filing_url or None,
        "report_url": "/report",
        "privacy_url": "/privacy",
        "complaint_contact": p.complaint_contact or None,
    }
    return json_response(body)


def register(app: FastAPI) -> None:
    app.state.hegui_public = PublicState(RateLimiter(app.state.hegui.policy.cases.report_rate_per_hour))
    for path, fn, method in (
        ("/report", report_form, "GET"),
        ("/report", report_submit, "POST"),
        ("/report/{receipt}", receipt_page, "GET"),
        ("/privacy", privacy_get, "GET"),
        ("/privacy/request", privacy_request, "POST"),
        ("/refutations", refutations_page, "GET"),
    ):
        app.add_api_route(path, fn, methods=[method], tags=["public pages"], include_in_schema=False)
    app.add_api_route("/hegui/public/complaints", api_file, methods=["POST"], tags=["complaints"])
    app.add_api_route("/hegui/public/complaints/{receipt}", api_status, methods=["GET"], tags=["complaints"])
    app.add_api_route(
        "/hegui/public/produce/{produce_id:path}", api_produce, methods=["GET"], tags=["complaints"]
    )
    app.add_api_route("/hegui/public/provider", api_provider, methods=["GET"], tags=["complaints"])
