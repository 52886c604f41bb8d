"""What `POST /hegui/api/label` accepts: an upload is checked before it is decoded, and a file that
cannot be read is the client's error (4xx), never a server error.

Two things are checked before any decoder runs: text files must be UTF-8 (a UTF-16 Markdown file or
random bytes named ``.txt`` is refused, not half-labelled), and an image's header must declare at most
``HEGUI_MAX_IMAGE_PIXELS`` pixels (a 20000×20000 PNG header is a few dozen bytes that would ask the
labeller for 1.6 GB). Whatever the labeller then fails to read in the upload (ffmpeg refusing a
garbage ``.mp4``, a truncated container) is answered 400 ``malformed_file`` with a message that names
only the format: no temporary path, no subprocess output, no object addresses. The full error goes to
the log. A missing ffmpeg is not the client's fault and stays a server error.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from hegui.errors import HeguiError, PayloadTooLarge, RequestError, UpstreamError

log = logging.getLogger(__name__)

IMAGE_KINDS = ("png", "jpeg", "webp")
TEXT_KINDS = ("md", "txt")
FFMPEG_KINDS = ("mp3", "wav", "flac", "ogg", "opus", "mp4", "mov")


class MalformedUpload(RequestError):
    """The upload is not a readable file of the format its name (or its first bytes) gives."""

    code = "malformed_file"


class TooManyPixels(PayloadTooLarge):
    """The image's header declares more pixels than the gateway decodes."""

    code = "image_too_large"


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the image's header, without decoding its pixels."""
    from PIL import Image, UnidentifiedImageError  # the [label] extra: imported when an image comes

    with warnings.catch_warnings():
        # Pillow warns (and past twice its limit refuses) on huge headers; here that is an answer.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as img:
                return img.size
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise TooManyPixels(
                "The image's header declares more pixels than any label is drawn on."
            ) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            log.info("upload refused: not a readable image header: %r", exc)
            raise MalformedUpload("The upload is not a readable image.", param="file") from None


def iso_boxes(data: bytes) -> list[bytes]:
    """The top-level box types of an ISO base-media file (MP4, MOV); raises MalformedUpload when the
    boxes do not tile the file exactly, as in any file that is not one."""
    types: list[bytes] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 8:
            raise MalformedUpload("The upload is not an MP4/MOV file (a box is cut short).", param="file")
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1 and len(data) - pos >= 16:
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:
            size = len(data) - pos
        if size < header or pos + size > len(data) or not all(0x20 <= b < 0x7F for b in kind):
            raise MalformedUpload(
                "The upload is not an MP4/MOV file (its boxes do not add up).", param="file"
            )
        types.append(kind)
        pos += size
    return types


def preflight(data: bytes, kind: str, *, max_pixels: int) -> None:
    """Refuse before decoding: text that is not UTF-8, an image with more than ``max_pixels`` pixels."""
    if kind in TEXT_KINDS:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedUpload(
                f"A .{kind} upload must be UTF-8 text; byte {exc.start} is not (UTF-16 and other encodings "
                "are not labelled: convert the file to UTF-8).",
                param="file",
            ) from None
    elif kind in ("mp4", "mov"):
        if b"moov" not in iso_boxes(data):
            raise MalformedUpload("The upload is not an MP4/MOV file (it has no movie header).", param="file")
    elif kind in IMAGE_KINDS:
        width, height = image_size(data)
        if width * height > max_pixels:
            raise TooManyPixels(
                f"The image is {width}×{height} pixels; the limit is {max_pixels} pixels "
                "(HEGUI_MAX_IMAGE_PIXELS).",
                param="file",
            )


@contextmanager
def unreadable_is_malformed(kind: str) -> Iterator[None]:
    """Labelling an upload: a failure to read it is a 400 naming only the format. Deliberate 4xx errors
    pass as they are; a missing ffmpeg (a server fault) stays what it is."""
    from hegui.label.media import MediaError, ffmpeg_exe

    if kind in FFMPEG_KINDS:
        ffmpeg_exe()  # raises MediaError when ffmpeg is missing: that is ours, not the client's
    try:
        yield
    except RequestError:
        raise
    except HeguiError as exc:
        if not isinstance(exc, MediaError):
            raise
        log.info("upload refused: ffmpeg could not read the .%s upload: %s", kind, exc.message)
        raise MalformedUpload(f"The upload could not be read as a .{kind} file.", param="file") from None
    except Exception as exc:  # the decoders raise anything on crafted input; the upload is what failed
        log.warning("upload refused: the .%s decoder failed on it: %.300r", kind, exc)
        raise MalformedUpload(f"The upload could not be read as a .{kind} file.", param="file") from None


def check_generated_image(data: bytes, *, max_pixels: int, upstream: str) -> None:
    """The same checks on an image an upstream generated, before it is labelled: a failure is the
    upstream's (502), not the client's, and no decoder runs on a picture past the pixel limit."""
    try:
        width, height = image_size(data)
    except TooManyPixels:
        raise UpstreamError(f"upstream {upstream!r} sent an image past the pixel limit") from None
    except MalformedUpload:
        raise UpstreamError(f"upstream {upstream!r} sent an image that is not a readable image") from None
    if width * height > max_pixels:
        raise UpstreamError(
            f"upstream {upstream!r} sent a {width}×{height} image; the limit is {max_pixels} pixels"
        )
