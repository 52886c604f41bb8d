"""Implicit labels in audio files: MP3 (ID3v2 ``TXXX:AIGC``), WAV (RIFF chunk ``AIGC``), FLAC and Ogg
(Vorbis comment ``AIGC``), per PG-202510A.

MP3, FLAC and Ogg go through mutagen on in-memory buffers; WAV is a plain RIFF chunk list, handled by the
RIFF helpers in `hegui.label.images` (mutagen writes only ID3 into WAV). Each writer replaces an earlier
AIGC value instead of adding a second one (GB 6.1 c) and never removes a label without writing one.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from mutagen import MutagenError
from mutagen.flac import FLAC
from mutagen.id3 import ID3, TXXX, ID3NoHeaderError
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from hegui.label.images import ContainerError, _riff_chunks, riff_chunk, riff_file
from hegui.label.implicit import ParsedLabel, parse_label

# --- MP3 -------------------------------------------------------------------------------------------


# mutagen's ID3 API is untyped; the frames are handled as Any.
_ID3: Any = ID3
_TXXX: Any = TXXX


def mp3_read(data: bytes) -> list[ParsedLabel]:
    try:
        tags = _ID3(io.BytesIO(data))
    except ID3NoHeaderError:
        return []
    except MutagenError as exc:
        raise ContainerError(f"unreadable ID3 tag: {exc}") from None
    found: list[ParsedLabel] = []
    for frame in tags.getall("TXXX"):
        if "AIGC" in frame.desc.upper():
            found += [parse_label(str(text), f"mp3:ID3:TXXX:{frame.desc}") for text in frame.text]
    return found


def mp3_write(data: bytes, label_json: str) -> bytes:
    buffer = io.BytesIO(data)
    try:
        tags = _ID3(buffer)
    except ID3NoHeaderError:
        tags = _ID3()
    except MutagenError as exc:
        raise ContainerError(f"unreadable ID3 tag: {exc}") from None
    for frame in list(tags.getall("TXXX")):
        if "AIGC" in frame.desc.upper():
            tags.delall(frame.HashKey)  # replaced by the frame added below (one label per file)
    tags.add(_TXXX(encoding=3, desc="AIGC", text=[label_json]))
    buffer.seek(0)
    tags.save(buffer, v2_version=4)
    return buffer.getvalue()


# --- WAV -------------------------------------------------------------------------------------------


def wav_read(data: bytes) -> list[ParsedLabel]:
    found: list[ParsedLabel] = []
    for cid, body in _riff_chunks(data, b"WAVE"):
        if b"AIGC" in cid.upper():
            found.append(parse_label(body.rstrip(b"\x00").decode("utf-8", "replace"), "wav:RIFF:AIGC"))
        elif cid == b"LIST" and body[:4] == b"INFO":
            found += _info_labels(body[4:])
    return found


def _info_labels(body: bytes) -> list[ParsedLabel]:
    found, pos = [], 0
    while pos + 8 <= len(body):
        cid = body[pos : pos + 4]
        size = int.from_bytes(body[pos + 4 : pos + 8], "little")
        if b"AIGC" in cid.upper():
            text = body[pos + 8 : pos + 8 + size].rstrip(b"\x00").decode("utf-8", "replace")
            found.append(parse_label(text, "wav:LIST:INFO:AIGC"))
        pos += 8 + size + (size & 1)
    return found


def wav_write(data: bytes, label_json: str) -> bytes:
    chunks = [(c, b) for c, b in _riff_chunks(data, b"WAVE") if b"AIGC" not in c.upper()]
    if not any(c == b"fmt " for c, _ in chunks):
        raise ContainerError("WAV file without a fmt chunk")
    at = next(i for i, (c, _) in enumerate(chunks) if c == b"fmt ") + 1
    chunks.insert(at, (b"AIGC", label_json.encode("utf-8")))
    return riff_file(b"WAVE", [riff_chunk(c, b) for c, b in chunks])


# --- FLAC and Ogg (Vorbis comments) ----------------------------------------------------------------

_VORBIS: dict[str, Callable[[io.BytesIO], Any]] = {
    "flac": FLAC,
    "ogg": OggVorbis,
    "opus": OggOpus,
}


def _vorbis_open(data: bytes, kind: str) -> tuple[io.BytesIO, Any]:
    buffer = io.BytesIO(data)
    try:
        return buffer, _VORBIS[kind](buffer)
    except MutagenError as exc:
        raise ContainerError(f"not a readable {kind.upper()} file: {exc}") from None


def vorbis_read(data: bytes, kind: str) -> list[ParsedLabel]:
    _, audio = _vorbis_open(data, kind)
    if audio.tags is None:
        return []
    return [
        parse_label(value, f"{kind}:VorbisComment:{key}")
        for key, values in audio.tags.items()
        if "AIGC" in key.upper()
        for value in values
    ]


def vorbis_write(data: bytes, label_json: str, kind: str) -> bytes:
    buffer, audio = _vorbis_open(data, kind)
    if audio.tags is None:
        audio.add_tags()
    for key in [k for k in audio.tags.keys() if "AIGC" in k.upper()]:  # noqa: SIM118 - mutagen mapping
        del audio.tags[key]
    audio.tags["AIGC"] = [label_json]
    buffer.seek(0)
    audio.save(buffer)
    return buffer.getvalue()
