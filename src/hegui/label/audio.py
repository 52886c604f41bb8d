"""Implicit labels in audio files: MP3 (ID3v2 ``TXXX:AIGC``), WAV (RIFF chunk ``AIGC``), FLAC and Ogg
(Vorbis comment ``AIGC``), per PG-202510A.

The carriers are written by hand in small modules (`hegui.label.id3`, `hegui.label.flac`,
`hegui.label.ogg`, `hegui.label.vorbiscomment`): hegui is Apache-2.0, and the only maintained Python
libraries that write these tags (mutagen, eyed3, pytaglib) are GPL, which would make a distributed hegui
a combined work under the GPL; tinytag, the permissive one, only reads. WAV is a plain RIFF chunk list,
handled by the RIFF helpers in `hegui.label.images`. Each writer replaces an earlier AIGC value instead
of adding a second one (GB 6.1 c) and never removes a label without writing one; malformed files raise
`ContainerError`, never a bare IndexError.
"""

from __future__ import annotations

from hegui.label import flac, id3, ogg
from hegui.label.images import ContainerError, _riff_chunks, riff_chunk, riff_file
from hegui.label.implicit import ParsedLabel, parse_label
from hegui.label.vorbiscomment import VorbisComment, is_label_key

LABEL_KEY = "AIGC"

# --- MP3 -------------------------------------------------------------------------------------------


def mp3_read(data: bytes) -> list[ParsedLabel]:
    tag = id3.read_tag(data)
    if tag is None:
        return []
    return [
        parse_label(value, f"mp3:ID3:TXXX:{description}")
        for description, values in id3.user_texts(tag)
        if "AIGC" in description.upper()
        for value in values
    ]


def mp3_write(data: bytes, label_json: str) -> bytes:
    return id3.write_user_text(data, LABEL_KEY, label_json)


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


def _comments(data: bytes, kind: str) -> list[VorbisComment]:
    if kind == "flac":
        return flac.comments(data)
    if kind in ("ogg", "opus"):
        return [ogg.comment(data)[1]]
    raise ContainerError(f"no Vorbis comment carrier in .{kind}")


def vorbis_read(data: bytes, kind: str) -> list[ParsedLabel]:
    return [
        parse_label(value, f"{kind}:VorbisComment:{key}")
        for block in _comments(data, kind)
        for key, value in block.items()
        if is_label_key(key)
    ]


def vorbis_write(data: bytes, label_json: str, kind: str) -> bytes:
    if kind == "flac":
        return flac.write_label(data, LABEL_KEY, label_json)
    if kind in ("ogg", "opus"):
        return ogg.write_label(data, LABEL_KEY, label_json)
    raise ContainerError(f"no Vorbis comment carrier in .{kind}")
