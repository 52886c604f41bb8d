"""The console's label check: upload a file, see each labelling requirement it meets or fails
(`hegui.label.verify`, the same check as `hegui label verify`), and whether the ProduceID its label
carries was taken down.

    GET  /console/labels     the upload form
    POST /console/labels     the report (the file is read, never stored; the check is audited with the
                             file's kind and result, not its content)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from hegui.cases import actions
from hegui.gateway.http import state_of
from hegui.gateway.state import GatewayState
from hegui.web import sessions
from hegui.web.console import _audit, _forbidden, _session, _to_login
from hegui.web.render import page

#: Larger than a request body: a generated video is the typical file staff check.
MAX_FILE_BYTES = 50 * 1024 * 1024


def _check(st: GatewayState, data: bytes, name: str, explicit: bool) -> dict[str, Any]:
    try:
        from hegui.label import files
        from hegui.label.images import ContainerError
        from hegui.label.verify import verify_bytes
    except ImportError as exc:  # the label extra (Pillow …) is optional
        return {"error": f"label checks need the label extra: pip install 'hegui[label]' ({exc.name})"}
    media = st.policy.media  # any label design, read by the policy's OCR engine
    report = verify_bytes(
        data, name, st.policy.labels, explicit=explicit, ocr=True, ocr_engine=media.ocr_engine
    )
    try:
        found = files.read_labels(data, report.kind) if report.kind != "txt" else []
    except ContainerError:  # the report already says why the container cannot be read (LBL-01)
        found = []
    ids = sorted({str(p.values["ProduceID"]) for p in found if p.values.get("ProduceID")})
    return {"report": report, "produce": [actions.resolve(st.engine, i) for i in ids], "name": name}


async def labels_form(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login()
    return page(request, "console/labels.html", session=session)


async def labels_check(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _forbidden(request, "log in first / 请先登录")
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > MAX_FILE_BYTES + 65536:
        return page(
            request, "console/labels.html", 413, session=session, error=f"at most {MAX_FILE_BYTES} bytes"
        )
    try:
        form = await request.form(max_files=1, max_fields=8, max_part_size=4096)
    except StarletteHTTPException as exc:
        return page(request, "console/labels.html", 400, session=session, error=str(exc.detail))
    try:
        if not sessions.csrf_ok(session, form.get("csrf")):
            return _forbidden(request, "CSRF token missing or wrong / 请求校验失败")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return page(
                request, "console/labels.html", 400, session=session, error="choose a file / 请选择文件"
            )
        data = await upload.read(MAX_FILE_BYTES + 1)
        name = upload.filename or "upload"
        explicit = form.get("explicit") == "1"
    finally:
        await form.close()
    if not data or len(data) > MAX_FILE_BYTES:
        return page(
            request, "console/labels.html", 400, session=session, error="empty or too large / 文件为空或过大"
        )
    st = state_of(request)
    result = await run_in_threadpool(_check, st, data, name, explicit)
    if "report" in result:
        detail = {"kind": result["report"].kind, "passed": result["report"].passed, "bytes": len(data)}
        await run_in_threadpool(_audit, st, session.actor, session.tenant, "label-verify", detail)
    return page(request, "console/labels.html", session=session, **result)


def register(app: FastAPI) -> None:
    app.add_api_route("/console/labels", labels_form, methods=["GET"], include_in_schema=False)
    app.add_api_route("/console/labels", labels_check, methods=["POST"], include_in_schema=False)
