"""Routes that return labelled files: ``POST /v1/images/generations`` and ``POST /hegui/api/label``.

Every generated image leaves with the explicit label (a visible plate, text height ≥ 5 % of the shortest
side) and the implicit AIGC object in its XMP, read back before it is sent; images the upstream gives as
URLs are fetched from the upstream and returned labelled, as ``b64_json``. The prompt is inspected at the
input stage; the text drawn into the pictures is read (OCR) and inspected at the output stage when
``[media] generated_image_ocr`` is on (media_inspect.py); nothing else of a picture is inspected (hegui
has no image classifier), which docs/gateway.md states.

HTTP only: the image route's path (input stage, egress, upstream, the pictures, the one output stage for
``revised_prompt`` and the other strings, labels, audit) is `Exchange.generate_images`; the edit and
variation routes (image_edits.py) end in the same `Exchange.deliver_images`.
"""

from __future__ import annotations

import asyncio
import hashlib

from pydantic import Field, StrictStr
from starlette.requests import Request
from starlette.responses import Response

from hegui.errors import RequestError
from hegui.gateway import fieldmap, media_inspect, person_names
from hegui.gateway.exchange import Exchange, PictureReader
from hegui.gateway.fieldcheck import request_slots
from hegui.gateway.http import authenticate, read_body, read_json, state_of
from hegui.gateway.images import label_file
from hegui.gateway.routes import open_exchange, respond
from hegui.gateway.schemas import _Open, parse
from hegui.gateway.uploads import preflight, unreadable_is_malformed


class ImageRequest(_Open):
    model: StrictStr = Field(min_length=1)
    prompt: StrictStr = Field(min_length=1)
    user: StrictStr | None = None


async def images_generations(request: Request) -> Response:
    state = state_of(request)
    principal = authenticate(request)
    body = await read_json(request, state.settings.max_body_bytes)
    req = parse(ImageRequest, body)
    if body.get("stream") not in (None, False):
        # partial images would leave before the whole picture is inspected and labelled
        raise RequestError(
            "stream: streamed image generation is not served (ask without stream)", param="stream"
        )
    ex = open_exchange(
        request, principal, body, req.model, shape=None, endpoint="images.generations", id_prefix="img-"
    )
    slots = request_slots(fieldmap.IMAGES.request, body)
    outcome = await ex.generate_images(
        body,
        slots,
        screen=lambda prompt: person_names.refuse_unregistered(ex, prompt),
        read_pictures=picture_reader(ex),
    )
    return respond(outcome)


def picture_reader(ex: Exchange) -> PictureReader | None:
    """OCR of the generated pictures through the output stage, when ``[media] generated_image_ocr``."""
    if not ex.state.policy.media.generated_image_ocr:
        return None
    return lambda pictures: media_inspect.generated_findings(ex, pictures)


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
        labelled = await asyncio.to_thread(
            label_file, data, filename, state.labeller, ex.request_id, explicit=explicit
        )
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
