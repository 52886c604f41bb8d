"""One entry point per direction for every supported format: `label_bytes` writes, `read_labels` reads.

`label_bytes` applies, in this order, the explicit label (visible, audible or textual, when asked), the
implicit AIGC label in the format's carrier (PG table, LBL-08), and the C2PA manifest (last, because its
hash covers everything else). It then reads its own output back and raises `LabelError` unless exactly
that one label is there: a file that could not be labelled is an error, never returned unlabelled. The
gateway calls it for ``/v1/images/generations`` results. This module never removes a label.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from hegui.errors import ConfigError, UnsupportedMediaType

try:
    from PIL import Image, UnidentifiedImageError

    from hegui.label import audio, audiocue, documents, images, text, video, visible
except ImportError as exc:  # pragma: no cover - the dev environment has every extra
    raise ConfigError(
        f"file labels need the label extra ({exc.name} is missing): pip install 'hegui[label]'", key="labels"
    ) from None
from hegui.label.config import LabelPolicy
from hegui.label.implicit import AigcLabel, LabelError, ParsedLabel

KINDS = (
    "png",
    "jpeg",
    "webp",
    "mp3",
    "wav",
    "flac",
    "ogg",
    "opus",
    "mp4",
    "mov",
    "pdf",
    "docx",
    "xlsx",
    "pptx",
    "md",
    "txt",
)
IMAGE_KINDS = ("png", "jpeg", "webp")
AUDIO_KINDS = ("mp3", "wav", "flac", "ogg", "opus")
VIDEO_KINDS = ("mp4", "mov")
TEXT_KINDS = ("md", "txt")
OOXML_KINDS = ("docx", "xlsx", "pptx")
_EXT = {
    "jpg": "jpeg",
    "jpe": "jpeg",
    "m4v": "mp4",
    "markdown": "md",
    "text": "txt",
    "oga": "ogg",
    "qt": "mov",
}
_MIME = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/webp": "webp",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "application/pdf": "pdf",
    "text/markdown": "md",
    "text/plain": "txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
}
#: The documented carrier of each format (PG table): a label found only elsewhere fails LBL-08.
CARRIER = {
    "png": "png:iTXt:XMP",
    "jpeg": "jpeg:APP1:XMP",
    "webp": "webp:XMP",
    "mp3": "mp3:ID3:TXXX",
    "wav": "wav:RIFF:AIGC",
    "flac": "flac:VorbisComment",
    "ogg": "ogg:VorbisComment",
    "opus": "opus:VorbisComment",
    "mp4": "mp4:moov.udta.meta",
    "mov": "mov:moov.udta.meta",
    "pdf": "pdf:Info:/AIGC",
    "docx": "ooxml:custom.xml",
    "xlsx": "ooxml:custom.xml",
    "pptx": "ooxml:custom.xml",
    "md": "markdown:front-matter",
}


def kind_of(filename_or_mime: str, data: bytes = b"") -> str:
    """The format: from a MIME type, a file name's suffix, or (failing both) the leading bytes."""
    key = filename_or_mime.strip().lower()
    if key in _MIME:
        return _MIME[key]
    suffix = key.rsplit(".", 1)[-1] if "." in key else key
    suffix = _EXT.get(suffix, suffix)
    if suffix in KINDS:
        return suffix
    sniffed = _sniff(data)
    if sniffed:
        return sniffed
    raise UnsupportedMediaType(f"no label carrier for {filename_or_mime!r}; supported: {', '.join(KINDS)}")


def _sniff(data: bytes) -> str | None:
    head = data[:16]
    checks = (
        (head.startswith(images.PNG_SIGNATURE), "png"),
        (head.startswith(b"\xff\xd8"), "jpeg"),
        (head[:4] == b"RIFF" and head[8:12] == b"WEBP", "webp"),
        (head[:4] == b"RIFF" and head[8:12] == b"WAVE", "wav"),
        (head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3"), "mp3"),
        (head.startswith(b"fLaC"), "flac"),
        (head.startswith(b"OggS"), "ogg"),
        (head[4:8] == b"ftyp", "mp4"),
        (head.startswith(b"%PDF"), "pdf"),
    )
    return next((kind for ok, kind in checks if ok), None)


def read_labels(data: bytes, kind: str) -> list[ParsedLabel]:
    """Every AIGC block the file carries, in any known carrier (the bare and the wrapped form)."""
    readers: dict[str, Callable[[bytes], list[ParsedLabel]]] = {
        "png": images.png_read,
        "jpeg": images.jpeg_read,
        "webp": images.webp_read,
        "mp3": audio.mp3_read,
        "wav": audio.wav_read,
        "mp4": _mp4_read(kind),
        "mov": _mp4_read(kind),
        "pdf": documents.pdf_read,
        "docx": documents.ooxml_read,
        "xlsx": documents.ooxml_read,
        "pptx": documents.ooxml_read,
        "md": lambda d: text.markdown_read(d.decode("utf-8")),
        "txt": lambda d: [],
    }
    if kind in ("flac", "ogg", "opus"):
        return audio.vorbis_read(data, kind)
    if kind not in readers:
        raise UnsupportedMediaType(f"no label reader for .{kind}")
    return readers[kind](data)


def _mp4_read(kind: str) -> Callable[[bytes], list[ParsedLabel]]:
    def read(data: bytes) -> list[ParsedLabel]:
        return [
            ParsedLabel(p.carrier.replace("mp4:", f"{kind}:", 1), p.raw, p.values, p.issues)
            for p in video.mp4_read(data)
        ]

    return read


def _write_implicit(data: bytes, kind: str, label_json: str, policy: LabelPolicy, explicit: bool) -> bytes:
    if kind == "png":
        return images.png_write(data, label_json)
    if kind == "jpeg":
        return images.jpeg_write(data, label_json)
    if kind == "webp":
        return images.webp_write(data, label_json)
    if kind == "mp3":
        return audio.mp3_write(data, label_json)
    if kind == "wav":
        return audio.wav_write(data, label_json)
    if kind in ("flac", "ogg", "opus"):
        return audio.vorbis_write(data, label_json, kind)
    if kind in VIDEO_KINDS:
        return video.mp4_write(data, label_json, kind)
    if kind == "pdf":
        return documents.pdf_write(data, label_json, policy, explicit=explicit)
    if kind in OOXML_KINDS:
        return documents.ooxml_write(data, label_json)
    if kind == "md":
        return text.label_markdown(data.decode("utf-8"), label_json, policy, explicit=explicit).encode(
            "utf-8"
        )
    if kind == "txt":
        return data  # no metadata carrier for plain text; the explicit label is all there is
    raise UnsupportedMediaType(f"no label writer for .{kind}")


def _write_explicit(data: bytes, kind: str, policy: LabelPolicy) -> bytes:
    if kind in IMAGE_KINDS:
        return _image_explicit(data, kind, policy)
    if kind in VIDEO_KINDS:
        return video.add_visible(
            data,
            policy.explicit_text,
            ratio=policy.image_height_ratio,
            corner=policy.image_corner,
            seconds=policy.video_label_seconds,
            kind=kind,
            font_file=policy.font_file,
        )
    if kind in AUDIO_KINDS and policy.audio_cue == "morse":
        return audiocue.add_cue(data, kind, policy.audio_position)
    if kind == "docx":
        return documents.docx_explicit(data, policy)
    if kind == "txt":
        return text.label_plain(data.decode("utf-8"), policy).encode("utf-8")
    return data  # md and pdf: the implicit writer adds the explicit label in the same pass


def _image_explicit(data: bytes, kind: str, policy: LabelPolicy) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as src:
            src.load()
            info = {k: v for k, v in src.info.items() if k in ("icc_profile", "exif", "dpi")}
            labelled = visible.draw_label(
                src,
                policy.explicit_text,
                ratio=policy.image_height_ratio,
                corner=policy.image_corner,
                font_file=policy.font_file,
            )
    except UnidentifiedImageError:  # its message names an in-memory buffer, which tells a user nothing
        raise images.ContainerError(f"not a readable {kind.upper()} image (format not recognised)") from None
    except (OSError, ValueError) as exc:
        raise images.ContainerError(f"not a readable {kind.upper()} image: {exc}") from None
    out = io.BytesIO()
    options: dict[str, object] = {"quality": 95} if kind in ("jpeg", "webp") else {}
    if kind == "jpeg" and labelled.mode not in ("RGB", "L"):
        labelled = labelled.convert("RGB")
    labelled.save(out, {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[kind], **info, **options)
    return out.getvalue()


@dataclass(frozen=True)
class C2paPem:
    """A C2PA signing certificate chain and key, as PEM bytes (tests and callers that hold them)."""

    cert: bytes
    key: bytes


def label_bytes(
    data: bytes,
    filename_or_mime: str,
    label: AigcLabel,
    *,
    explicit: bool,
    policy: LabelPolicy,
    c2pa: C2paPem | None = None,
) -> bytes:
    """``data`` labelled: explicit (when asked), implicit, C2PA (when configured or ``c2pa`` is given);
    read back before it is returned."""
    kind = kind_of(filename_or_mime, data)
    out = _write_explicit(data, kind, policy) if explicit else data
    label_json = label.to_json()
    out = _write_implicit(out, kind, label_json, policy, explicit)
    if kind in IMAGE_KINDS + AUDIO_KINDS + VIDEO_KINDS and (c2pa is not None or policy.c2pa.enabled):
        from hegui.label import provenance

        if kind in provenance.C2PA_MIME:
            out = provenance.sign(
                out,
                kind,
                policy.c2pa,
                cert_pem=c2pa.cert if c2pa else None,
                key_pem=c2pa.key if c2pa else None,
            )
    _read_back(out, kind, label, policy, explicit)
    return out


def _read_back(data: bytes, kind: str, label: AigcLabel, policy: LabelPolicy, explicit: bool) -> None:
    if kind != "txt":
        found = read_labels(data, kind)
        if len(found) != 1 or found[0].values != label.as_dict():
            raise LabelError(
                f"LBL-08: read-back of the .{kind} label found {len(found)} label(s), not the one written"
            )
    if explicit and kind in IMAGE_KINDS:
        with Image.open(io.BytesIO(data)) as img:
            measured = visible.measure(img)
        if measured is None or measured.ratio < 0.05:
            raise LabelError("LBL-11: read-back did not find a visible label of at least 5 % height")
    if explicit and kind in (*TEXT_KINDS, "docx"):
        content = documents.docx_text(data) if kind == "docx" else data.decode("utf-8")
        if not text.explicit_positions(content, policy.bracketed):
            raise LabelError("LBL-14: read-back did not find the explicit text label")
