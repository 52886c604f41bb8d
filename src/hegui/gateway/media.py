"""Routes that return labelled files: ``POST /v1/images/generations`` and ``POST /hegui/api/label``.

Every generated image leaves with the explicit label (a visible plate, text height ≥ 5 % of the shortest
side) and the implicit AIGC object in its XMP, read back before it is sent; images the upstream gives as
URLs are fetched from the upstream and returned labelled, as ``b64_json``. The prompt is inspected at the
input stage; the text drawn into the pictures is read (OCR) and inspected at the output stage when
``[media] generated_image_ocr`` is on (media_inspect.py); nothing else of a picture is inspected (hegui
has no image classifier), which docs/gateway.md states. The edit and variation routes are in
image_edits.py and end here too (`deliver_images`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from typing import Any

from pydantic import Field, StrictStr
from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import ContentRefused, HeguiError, RequestError, UpstreamError
from hegui.gateway import fieldmap, media_inspect, person_names
from hegui.gateway.exchange import Exchange
from hegui.gateway.fetch import FetchPolicy, MediaFetcher, TrustedOrigin
from hegui.gateway.fieldcheck import request_slots
from hegui.gateway.http import authenticate, json_response, read_body, read_json, state_of
from hegui.gateway.labelling import BODY_FIELD
from hegui.gateway.outputs import inspect_strings
from hegui.gateway.routes import open_exchange
from hegui.gateway.schemas import _Open, parse
from hegui.gateway.uploads import check_generated_image, preflight, unreadable_is_malformed


class ImageRequest(_Open):
    model: StrictStr = Field(min_length=1)
    prompt: StrictStr = Field(min_length=1)
    user: StrictStr | None = None


def _label_file(data: bytes, name: str, ex: Exchange, *, explicit: bool) -> bytes:
    from hegui.label.files import label_bytes

    labeller = ex.state.labeller
    return label_bytes(
        data, name, labeller.implicit(ex.request_id), explicit=explicit, policy=labeller.policy
    )


async def _image_bytes(ex: Exchange, item: dict[str, Any]) -> bytes:
    if isinstance(item.get("b64_json"), str):
        try:
            return base64.b64decode(item["b64_json"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UpstreamError(f"upstream {ex.upstream.name!r} sent an image that is not base64") from exc
    url = item.get("url")
    if not isinstance(url, str):
        raise UpstreamError(f"upstream {ex.upstream.name!r} sent an image with neither b64_json nor a URL")
    # Credentials only for the upstream's own origin; every other URL under the media fetch policy.
    policy = FetchPolicy.from_gateway(ex.state.policy.gateway)
    async with MediaFetcher(policy) as fetcher:
        return await fetcher.fetch(url, TrustedOrigin.of(ex.upstream.client))


async def images_generations(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    req = parse(ImageRequest, body)
    ex = open_exchange(
        request, principal, body, req.model, shape=None, endpoint="images.generations", id_prefix="img-"
    )
    upstream = ex.upstream
    slots = request_slots(fieldmap.IMAGES.request, body)
    action, found = await ex.input_stage(slots, [], lambda: str(body["prompt"]))
    input_draft = ex.draft("input", action.value, {s.field: s.text for s in slots}, found)
    if action.stops:
        await ex.record(input_draft)
        raise ContentRefused(await ex.refusal_text(found), param="prompt")
    await person_names.refuse_unregistered(ex, req.prompt)
    ex.record_later(input_draft)
    await ex.egress(slots, body)

    async def generate() -> tuple[list[dict[str, Any]], list[bytes], dict[str, Any]]:
        answer = await upstream.post_json("/images/generations", body)
        items = answer.get("data")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise UpstreamError(f"upstream {upstream.name!r} answered without a list of images")
        return items, [await _image_bytes(ex, item) for item in items], answer

    items, images, answer = await ex.upstream_call(generate)
    return await deliver_images(ex, items, images, answer)


async def deliver_images(
    ex: Exchange, items: list[dict[str, Any]], images: list[bytes], answer: dict[str, Any]
) -> Response:
    """The output stage of an image answer (generations, edits, variations): every string of the
    answer inspected (a stop is a 400), the pictures' own text read and inspected when
    ``[media] generated_image_ocr`` is on, each picture labelled, the decision recorded."""
    state, upstream = ex.state, ex.upstream
    # revised_prompt and every other string of the answer (fieldmap.IMAGE_ANSWER); a stop is a 400
    out_action, out_found = await inspect_strings(ex, fieldmap.IMAGES.answer, answer)
    try:
        for picture in images:
            check_generated_image(picture, max_pixels=state.settings.max_image_pixels, upstream=upstream.name)
    except HeguiError as exc:
        await ex.record_error("label", exc)
        raise
    if state.policy.media.generated_image_ocr:
        ocr_action, ocr_found = await media_inspect.generated_findings(ex, images)
        out_action, out_found = max(out_action, ocr_action), out_found + ocr_found
    try:
        labelled = [await asyncio.to_thread(_label_file, data, "", ex, explicit=True) for data in images]
    except HeguiError as exc:
        await ex.record_error("label", exc)
        raise
    digests = [hashlib.sha256(d).hexdigest() for d in labelled]
    await ex.record(
        ex.draft(
            "output", out_action.value, {"images": digests}, out_found, images=len(images), labelled=True
        )
    )
    data = []
    for item, image in zip(items, labelled, strict=True):
        out = {k: v for k, v in item.items() if k not in ("url", "b64_json")}
        data.append(out | {"b64_json": base64.b64encode(image).decode("ascii")})
    answer["data"] = data
    answer[BODY_FIELD] = state.labeller.body_field(ex.request_id)
    return json_response(
        answer, headers={"x-hegui-request-id": ex.request_id} | state.labeller.headers(ex.request_id)
    )


async def label_upload(request: Request) -> Response:
    """Label an uploaded file: the body is the file, ``?filename=`` names its format, ``?explicit=false``
    leaves out the visible/audible label. The answer is the labelled file."""
    from hegui.label.files import kind_of

    state = state_of(request)
    principal = authenticate(request)
    filename = request.query_params.get("filename", "")
    if not filename:
        raise RequestError(
            "Give the file's name as ?filename=… (its suffix selects the label carrier).", param="filename"
        )
    explicit_param = request.query_params.get("explicit", "true").lower()
    if explicit_param not in ("true", "false", "1", "0"):
        raise RequestError("explicit must be true or false", param="explicit")
    data = await read_body(request, state.settings.max_upload_bytes, "upload")
    kind = kind_of(filename, data)
    first = next(iter(state.router.upstreams.values()))
    ex = Exchange(
        state,
        principal,
        None,
        first,
        model="",
        end_user=request.headers.get("x-hegui-user"),
        endpoint="label",
        id_prefix="label-",
    )
    explicit = explicit_param in ("true", "1")
    preflight(data, kind, max_pixels=state.settings.max_image_pixels)
    with unreadable_is_malformed(kind):
        labelled = await asyncio.to_thread(_label_file, data, filename, ex, explicit=explicit)
    await ex.record(
        ex.draft(
            "label",
            "label",
            {"file": hashlib.sha256(labelled).hexdigest()},
            kind=kind,
            explicit=explicit,
            bytes=len(labelled),
        )
    )
    headers = {"x-hegui-request-id": ex.request_id} | state.labeller.headers(ex.request_id)
    return Response(labelled, media_type=_MEDIA.get(kind, "application/octet-stream"), headers=headers)


_MEDIA = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "pdf": "application/pdf",
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
