"""``POST /v1/images/edits`` and ``POST /v1/images/variations``: multipart requests, as the official
client sends them (``client.images.edit(...)``, ``client.images.create_variation(...)``), on the same path
as every other route.

1. The form is read within ``HEGUI_MAX_UPLOAD_BYTES``; every text field goes through the field map
   (fieldmap.IMAGE_EDITS / IMAGE_VARIATIONS: declared or not, every string is inspected); each image
   file is checked before decoding (pixel limit), and read by OCR when ``[media] image_parts = "ocr"``
   (its text is inspected like the prompt; media_inspect.py), or named as passed unread when
   ``image_parts = "pass_with_label"`` (the input audit entry and the answer's X-Hegui-Uninspected).
2. The input stage; then, for edits, the DS-02 rule (edit_consent.py): an edit of a person's face or
   voice needs that person's recorded separate consent, else a refusal that says what the rule asks;
   then the ``[media] person_names`` switch.
3. The form goes to the upstream as multipart, with the files as they came; the answer ends like an
   image generation (`Exchange.deliver_images`: inspected, read by OCR if so configured, labelled).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import ContentRefused, RequestError, UpstreamError
from hegui.gateway import edit_consent, fieldmap, media_inspect, person_names
from hegui.gateway import images as image_answers
from hegui.gateway.fieldcheck import request_slots
from hegui.gateway.fields import Spec
from hegui.gateway.http import authenticate, read_body, state_of
from hegui.gateway.media import picture_reader
from hegui.gateway.routes import open_exchange, respond
from hegui.gateway.uploads import IMAGE_KINDS, preflight
from hegui.gateway.upstream import FormFile

_IMAGE_FIELDS = ("image", "image[]", "mask", "markup")
_MAX_FIELD_BYTES = 1024 * 1024


@dataclass(slots=True)
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[FormFile] = field(default_factory=list)


async def read_form(request: Request, limit: int) -> Form:
    """The multipart form, read within ``limit`` bytes; a repeated text field or a file under a name
    that is not an image field is a 400 (it would be forwarded unread)."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise RequestError("This endpoint takes multipart/form-data (the image and the fields).")
    data = await read_body(request, limit, "upload")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": data, "more_body": False}

    parsed = Request(request.scope, receive)
    try:
        form = await parsed.form(max_files=16, max_fields=64, max_part_size=_MAX_FIELD_BYTES)
    except MultiPartException as exc:
        raise RequestError(f"The multipart body could not be read: {exc.message}") from None
    out = Form()
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key not in _IMAGE_FIELDS:
                    raise RequestError(
                        f"{key}: only image files (image, image[], mask) are accepted", param=key
                    )
                content = await value.read()
                out.files.append(
                    FormFile(key, value.filename or "image.png", content, value.content_type or "image/png")
                )
            elif key in out.fields:
                raise RequestError(f"{key}: given twice", param=key)
            else:
                out.fields[key] = value
    finally:
        await form.close()
    return out


def _check_files(form: Form, max_pixels: int, *, mask_ok: bool) -> None:
    images = [f for f in form.files if f.field in ("image", "image[]")]
    if not images:
        raise RequestError("image: an image file is required", param="image")
    for f in form.files:
        if f.field in ("mask", "markup") and not mask_ok:
            raise RequestError(f"{f.field}: not accepted by this endpoint", param=f.field)
        kind = media_inspect._image_kind(f.content)
        if kind not in IMAGE_KINDS:
            raise RequestError(f"{f.field}: must be a PNG, JPEG or WebP image", param=f.field)
        preflight(f.content, kind, max_pixels=max_pixels)


def _bounds_view(fields: dict[str, str]) -> dict[str, Any]:
    """What `check_bounds` reads, typed: a form's ``n`` is text."""
    view: dict[str, Any] = {k: fields[k] for k in ("size", "user") if k in fields}
    if "n" in fields:
        n = fields["n"].strip()
        view["n"] = int(n) if n.isdigit() and len(n) < 4 else n
    return view


async def images_edits(request: Request) -> Response:
    return await _edit_or_vary(request, "images.edits", "/images/edits", fieldmap.IMAGE_EDITS.request)


async def images_variations(request: Request) -> Response:
    return await _edit_or_vary(
        request, "images.variations", "/images/variations", fieldmap.IMAGE_VARIATIONS.request
    )


async def _edit_or_vary(request: Request, endpoint: str, path: str, spec: Spec) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    form = await read_form(request, state.settings.max_upload_bytes)
    edit = endpoint == "images.edits"
    model = form.fields.get("model", "")
    if not model.strip():
        raise RequestError("model: required", param="model")
    prompt = form.fields.get("prompt", "")
    if edit and not prompt.strip():
        raise RequestError("prompt: required", param="prompt")
    if form.fields.get("stream", "").strip().lower() in ("true", "1"):
        raise RequestError("stream: streamed image edits are not served (ask without stream)", param="stream")
    _check_files(form, state.settings.max_image_pixels, mask_ok=edit)
    ex = open_exchange(
        request, principal, _bounds_view(form.fields), model, shape=None, endpoint=endpoint, id_prefix="img-"
    )
    slots = request_slots(spec, form.fields)
    media = state.policy.media
    pictures = media_inspect.ImageSlots()
    if media.image_parts == "ocr":
        for i, f in enumerate(form.files):
            pictures.add(f"{f.field}[{i}](ocr)", await media_inspect.read(ex, f.content, "input"))
    elif media.image_parts == "pass_with_label":
        pictures.uninspected = [f"{f.field}[{i}]" for i, f in enumerate(form.files)]
    action, found = await ex.input_stage(slots + pictures.slots, [], lambda: prompt)
    inputs = {s.field: s.text for s in slots + pictures.slots}
    seen: dict[str, Any] = {"images": pictures.detail() or len(form.files)}
    if pictures.uninspected:
        seen["uninspected"] = pictures.uninspected
    if regions := pictures.regions(found):
        seen["regions"] = regions
    input_draft = ex.draft("input", action.value, inputs, found, **seen)
    if action.stops:
        await ex.record(input_draft)
        raise ContentRefused(await ex.refusal(found), param="prompt")
    await pictures.refuse_masked(ex, found)
    consent: dict[str, Any] = {}
    if edit:
        given = edit_consent.header_ids(request.headers.get(edit_consent.HEADER))
        decision = await asyncio.to_thread(
            edit_consent.decide, state.engine, media, principal.tenant, prompt, given, datetime.now(UTC)
        )
        consent = decision.detail() if decision.needed else {}
        if not decision.allowed:
            await ex.record(ex.draft("input", "refuse", inputs, found, **consent))
            raise ContentRefused(edit_consent.notice(media, decision), param="prompt")
        await person_names.refuse_unregistered(ex, prompt)
    ex.record_later(ex.draft("input", action.value, inputs, found, **seen, **consent))
    await ex.egress(slots, form.fields)
    upstream, gateway = ex.upstream, state.policy.gateway

    async def send() -> tuple[list[dict[str, Any]], list[bytes], dict[str, Any]]:
        answer = await upstream.post_json(path, form.fields, files=form.files)
        items = answer.get("data")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise UpstreamError(f"upstream {upstream.name!r} answered without a list of images")
        return items, [await image_answers.image_bytes(upstream, gateway, item) for item in items], answer

    items, images, answer = await ex.upstream_call(send)
    outcome = await ex.deliver_images(answer, items, images, picture_reader(ex))
    outcome.headers.update(pictures.headers())  # images passed unread (pass_with_label) say so
    return respond(outcome)
