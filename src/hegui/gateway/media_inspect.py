"""Text inside images, inspected: OCR of a request's images (input stage) and of generated images (output
stage), under the ``[media]`` policy (`hegui.media.config`).

An image's recognized text becomes a `Slot` named ``<field>(ocr)`` and goes through the same input stage
as the typed text (every check, the joins across fields). A text slot can be masked in place; an image
cannot, so an image whose text a check would *mask* is refused instead (`ImageSlots.masked`). A
generated image whose text stops at the output stage is refused (400, like a stopped revised prompt);
anything the output stage would mask in a picture is refused too. Where a finding is in the picture is
recorded with it (the boxes of the lines its span touches).

Fail closed: an OCR that fails (engine missing, timeout, undecodable image) is a `CheckFailed`; it is
recorded and the request is refused with a 5xx, never passed with its image unread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hegui.errors import ConfigError, ContentRefused, RequestError
from hegui.gateway.exchange import Exchange, FieldFinding
from hegui.gateway.fetch import FetchPolicy, MediaFetcher
from hegui.gateway.schemas import Slot
from hegui.guard.types import Action, Stage
from hegui.media.config import MediaPolicy
from hegui.media.engines import OcrEngine, shared
from hegui.media.ocr import OcrFailed, OcrResult

#: The answer's header naming the request's image parts that were forwarded without being inspected.
UNINSPECTED_HEADER = "x-hegui-uninspected"

_DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,(.*)", re.IGNORECASE | re.DOTALL)


def engine(policy: MediaPolicy) -> OcrEngine:
    """The process's OCR engine under ``[media] ocr_engine`` (shared: rapidocr's child starts once)."""
    return shared(
        policy.ocr_engine,
        languages=policy.ocr_languages,
        timeout=policy.ocr_timeout,
        max_side=policy.ocr_max_side,
        scales=tuple(policy.ocr_scales),
        modes=tuple(policy.ocr_modes),
    )


async def start_ocr(policy: MediaPolicy) -> None:
    """At the gateway's start-up, when the policy reads images: start the OCR engine's child process
    (rapidocr), so that an engine that is installed but cannot load (a missing native library) stops
    the start with a ConfigError instead of failing every image later, and the first image does not
    wait for the models. Tesseract needs nothing (a process per reading)."""
    if not (policy.image_parts == "ocr" or policy.generated_image_ocr):
        return
    start = getattr(engine(policy), "start", None)
    if start is None:
        return
    try:
        await asyncio.to_thread(start)
    except OcrFailed as exc:
        raise ConfigError(
            f"[media] ocr_engine = {policy.ocr_engine!r} cannot read images here: {exc.message}"
        ) from None


async def read(ex: Exchange, data: bytes, stage: str) -> OcrResult:
    """OCR off the event loop; a failure is recorded at ``stage`` and raised (fail closed)."""
    ocr = engine(ex.state.policy.media)
    try:
        return await asyncio.to_thread(ocr.read, data)
    except OcrFailed as exc:
        await ex.record_error(stage, exc)
        raise


@dataclass(slots=True)
class ImageSlots:
    """The OCR slots of a request's images, and whether the input stage tried to mask one."""

    slots: list[Slot] = field(default_factory=list)
    results: dict[str, OcrResult] = field(default_factory=dict)
    masked: list[str] = field(default_factory=list)
    #: Image parts forwarded unread (``[media] image_parts = "pass_with_label"``): named in the input
    #: audit entry and in the answer's ``X-Hegui-Uninspected`` header, so that nobody takes the answer
    #: for one whose images were checked.
    uninspected: list[str] = field(default_factory=list)

    def add(self, name: str, result: OcrResult) -> None:
        self.results[name] = result
        if result.text.strip():
            self.slots.append(Slot(name, result.text, functools.partial(self._mask, name)))

    def add_text(self, name: str, text: str) -> None:
        """A transcript (speech): a slot like an image's text, which cannot be masked either."""
        if text.strip():
            self.slots.append(Slot(name, text, functools.partial(self._mask, name)))

    def _mask(self, name: str, _text: str) -> None:
        self.masked.append(name)

    def regions(self, found: Sequence[FieldFinding]) -> dict[str, list[list[int]]]:
        """Where in the pictures the findings on their text are: ``field:check`` → boxes
        ``[left, top, width, height]`` of the lines the finding's span touches."""
        out: dict[str, list[list[int]]] = {}
        for name, f in found:
            result = self.results.get(name)
            if result is not None:
                boxes = [[b.left, b.top, b.width, b.height] for b in result.region_of(f.start, f.end)]
                out.setdefault(f"{name}:{f.check}", []).extend(boxes)
        return out

    def detail(self) -> dict[str, Any]:
        """What the audit entry records: per image, how many lines were read and how long it took."""
        return {
            name: {"lines": len(r.lines), "seconds": round(r.seconds, 3)} for name, r in self.results.items()
        }

    def audit_detail(self, found: Sequence[FieldFinding]) -> dict[str, Any]:
        """The input audit entry's part: the images read (`detail`), where in them the findings are
        (`regions`), and the image parts passed unread."""
        out: dict[str, Any] = {}
        if self.results:
            out["images"] = self.detail()
        if regions := self.regions(found):
            out["regions"] = regions
        if self.uninspected:
            out["uninspected"] = list(self.uninspected)
        return out

    def headers(self) -> dict[str, str]:
        """The answer's mark for image parts passed unread (``pass_with_label``); none otherwise."""
        return {UNINSPECTED_HEADER: ", ".join(self.uninspected)} if self.uninspected else {}

    async def refuse_masked(self, ex: Exchange, found: Sequence[FieldFinding]) -> None:
        """An image's text cannot be masked in the picture: a mask there refuses the request."""
        if not self.masked:
            return
        await ex.record(ex.draft("input", "refuse", "", found, unmaskable=self.masked))
        raise ContentRefused(
            "The text in an image (or a recording) would have to be masked, and drawn or spoken text "
            "cannot be; the request is refused.",
            param=self.masked[0].split("(", 1)[0],
        )


async def image_url_bytes(ex: Exchange, url: str, param: str = "messages") -> bytes:
    """The bytes of an ``image_url`` part: a ``data:`` URL decoded, any other URL fetched under the
    media fetch policy (no credentials, only global addresses, bounded size and time)."""
    m = _DATA_URL.fullmatch(url.strip())
    if m is not None:
        try:
            return base64.b64decode(m.group(1), validate=True)
        except (binascii.Error, ValueError):
            raise RequestError("an image_url data: URL is not valid base64", param=param) from None
    if url.startswith("data:"):
        raise RequestError("an image_url data: URL must be data:image/…;base64,…", param=param)
    async with MediaFetcher(FetchPolicy.from_gateway(ex.state.policy.gateway)) as fetcher:
        return await fetcher.fetch(url, None)


def image_parts(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The ``image_url`` parts of a chat request: (field name, URL)."""
    out: list[tuple[str, str]] = []
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") == "image_url":
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else None
                if not isinstance(url, str):
                    raise RequestError(f"messages[{i}].content[{j}].image_url.url must be a string")
                out.append((f"messages[{i}].content[{j}].image_url", url))
    return out


async def generated_findings(ex: Exchange, images: Sequence[bytes]) -> tuple[Action, list[FieldFinding]]:
    """OCR of generated images, through the output stage. A stop (or a mask: a picture cannot be
    masked) is recorded and refused; the boxes of each finding's lines go into the audit entry."""
    action, found = Action.ALLOW, []
    regions: dict[str, list[list[int]]] = {}
    for i, data in enumerate(images):
        result = await read(ex, data, "output")
        if not result.text.strip():
            continue
        name = f"data[{i}].image(ocr)"
        verdict = await ex.judge(Stage.OUTPUT, result.text)
        for f in verdict.findings:
            found.append((name, f))
            regions[f"{name}:{f.check}"] = [
                [b.left, b.top, b.width, b.height] for b in result.region_of(f.start, f.end)
            ]
        action = max(action, verdict.action)
    if action.stops or action == Action.MASK:
        await ex.record(ex.draft("output", "refuse", "", found, regions=regions))
        raise ContentRefused(ex.state.refusals.for_findings(tuple(f for _, f in found)))
    return action, found


async def chat_media_slots(ex: Exchange, body: dict[str, Any]) -> ImageSlots | None:
    """The image and audio parts of a chat request as slots, under the ``[media]`` policy; None when
    it reads neither and passes no image (the field map then refuses them).

    ``image_parts = "ocr"``: every ``image_url`` part read (a remote URL fetched under the media fetch
    policy), checked against the pixel limit, OCRed; the part's URL is replaced by the ``data:`` URL of
    the bytes read, so that the upstream sees exactly the image that was inspected (a remote server
    could answer the upstream with another one). ``image_parts = "pass_with_label"``: every ``image_url``
    part forwarded as sent, unread, and named in `ImageSlots.uninspected`. ``audio_parts =
    "transcribe"``: every ``input_audio`` part transcribed by the operator's ASR server
    (hegui.media.asr), the transcript a slot."""
    media = ex.state.policy.media
    images, audio = media.image_parts == "ocr", media.audio_parts == "transcribe"
    unread = media.image_parts == "pass_with_label"
    if not images and not audio and not unread:
        return None
    pictures = ImageSlots()
    if unread:
        pictures.uninspected = [name for name, _url in image_parts(body)]
    if images:
        for name, url in image_parts(body):
            _set_url(body, name, await _read_image(ex, pictures, name, url, "messages"))
    if audio:
        for name, data, fmt in _audio_parts(body):
            pictures.add_text(f"{name}(asr)", await _transcribe(ex, data, fmt))
    return pictures


async def _read_image(ex: Exchange, pictures: ImageSlots, name: str, url: str, param: str) -> str:
    """One image part read: its bytes (a remote URL fetched), the pixel limit, OCR into ``pictures``;
    the ``data:`` URL of the bytes read, which replaces the part's URL."""
    from hegui.gateway.uploads import IMAGE_KINDS, preflight

    data = await image_url_bytes(ex, url, param)
    kind = _image_kind(data)
    if kind not in IMAGE_KINDS:
        raise RequestError(f"{name}: must be a PNG, JPEG or WebP image", param=param)
    preflight(data, kind, max_pixels=ex.state.settings.max_image_pixels)
    pictures.add(f"{name}(ocr)", await read(ex, data, "input"))
    return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"


def responses_image_parts(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The ``input_image`` parts of a Responses request's messages: (field name, URL)."""
    out: list[tuple[str, str]] = []
    items = body.get("input")
    for i, item in enumerate(items if isinstance(items, list) else []):
        content = item.get("content") if isinstance(item, dict) and item.get("type") == "message" else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") == "input_image":
                url = part.get("image_url")
                if not isinstance(url, str):
                    raise RequestError(f"input[{i}].content[{j}].image_url must be a string", param="input")
                out.append((f"input[{i}].content[{j}].image_url", url))
    return out


async def responses_media_slots(ex: Exchange, body: dict[str, Any]) -> ImageSlots | None:
    """The ``input_image`` parts of a Responses request under ``[media] image_parts`` (as
    `chat_media_slots` for chat): read by OCR and replaced by the ``data:`` URL of the bytes read, or
    passed unread and named; None when the policy refuses them (the field map then does)."""
    mode = ex.state.policy.media.image_parts
    if mode not in ("ocr", "pass_with_label"):
        return None
    pictures = ImageSlots()
    parts = responses_image_parts(body)
    if mode == "pass_with_label":
        pictures.uninspected = [name for name, _url in parts]
        return pictures
    for name, url in parts:
        m = _RESPONSES_PART.fullmatch(name)
        assert m is not None
        data_url = await _read_image(ex, pictures, name, url, "input")
        body["input"][int(m[1])]["content"][int(m[2])]["image_url"] = data_url
    return pictures


def messages_image_parts(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The image blocks of a Messages request's messages: (field name, URL), a base64 source as the
    ``data:`` URL of its bytes."""
    out: list[tuple[str, str]] = []
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if not (isinstance(block, dict) and block.get("type") == "image"):
                continue
            name = f"messages[{i}].content[{j}].source"
            source = block.get("source")
            if not isinstance(source, dict):
                source = {}
            if source.get("type") == "base64" and isinstance(source.get("data"), str):
                out.append((name, f"data:{source.get('media_type')};base64,{source['data']}"))
            elif source.get("type") == "url" and isinstance(source.get("url"), str):
                out.append((name, source["url"]))
            else:
                raise RequestError(f"{name} must be a base64 or url image source", param="messages")
    return out


async def messages_media_slots(ex: Exchange, body: dict[str, Any]) -> ImageSlots | None:
    """The image blocks of a Messages request under ``[media] image_parts`` (as `chat_media_slots`):
    read by OCR and replaced by a base64 source of the bytes read, or passed unread and named; None
    when the policy refuses them (the field map then does)."""
    mode = ex.state.policy.media.image_parts
    if mode not in ("ocr", "pass_with_label"):
        return None
    pictures = ImageSlots()
    parts = messages_image_parts(body)
    if mode == "pass_with_label":
        pictures.uninspected = [name for name, _url in parts]
        return pictures
    for name, url in parts:
        m = _MESSAGES_PART.fullmatch(name)
        assert m is not None
        data_url = await _read_image(ex, pictures, name, url, "messages")
        media_type, data = data_url.removeprefix("data:").split(";base64,", 1)
        source = {"type": "base64", "media_type": media_type, "data": data}
        body["messages"][int(m[1])]["content"][int(m[2])]["source"] = source
    return pictures


def _audio_parts(body: dict[str, Any]) -> list[tuple[str, bytes, str]]:
    out: list[tuple[str, bytes, str]] = []
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if not (isinstance(part, dict) and part.get("type") == "input_audio"):
                continue
            name = f"messages[{i}].content[{j}].input_audio"
            audio = part.get("input_audio")
            data = audio.get("data") if isinstance(audio, dict) else None
            fmt = audio.get("format") if isinstance(audio, dict) else None
            if not isinstance(data, str) or fmt not in ("wav", "mp3"):
                raise RequestError(f"{name}: needs base64 data and a format of wav or mp3", param="messages")
            try:
                out.append((name, base64.b64decode(data, validate=True), fmt))
            except (binascii.Error, ValueError):
                raise RequestError(f"{name}.data is not valid base64", param="messages") from None
    return out


async def _transcribe(ex: Exchange, data: bytes, fmt: str) -> str:
    from hegui.media.asr import AsrFailed, transcribe

    try:
        return await transcribe(ex.state.policy.media, data, fmt)
    except AsrFailed as exc:
        await ex.record_error("input", exc)
        raise


def _image_kind(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return ""


_PART = re.compile(r"messages\[(\d+)\]\.content\[(\d+)\]\.image_url")
_MESSAGES_PART = re.compile(r"messages\[(\d+)\]\.content\[(\d+)\]\.source")
_RESPONSES_PART = re.compile(r"input\[(\d+)\]\.content\[(\d+)\]\.image_url")


def _set_url(body: dict[str, Any], name: str, url: str) -> None:
    m = _PART.fullmatch(name)
    assert m is not None
    body["messages"][int(m[1])]["content"][int(m[2])]["image_url"]["url"] = url
