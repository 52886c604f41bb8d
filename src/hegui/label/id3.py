"""ID3v2 tags at the start of an MP3: read ``TXXX`` frames and replace the ``AIGC`` one.

Written by hand because the maintained Python taggers (mutagen, eyed3, pytaglib) are GPL and hegui is
Apache-2.0 (see `hegui.label.audio`). Reads ID3v2.2, v2.3 and v2.4 with whole-tag and per-frame
unsynchronisation, extended headers, data length indicators, grouping and zlib-compressed frames, and
v2.4 tags whose frame sizes an old iTunes wrote as plain integers. The writer keeps the tag's version and
every other frame's bytes, drops the extended header (its CRC would be stale) and the whole-tag
unsynchronisation (re-marking the frames it covered), and pads the tag back to its old size when the
new frames fit, so that the audio does not move. It never reads past the tag and never decrypts: an
encrypted user text frame is refused, since it could hide a second label.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from hegui.label.images import ContainerError

_UNSYNC, _EXTENDED, _FOOTER = 0x80, 0x40, 0x10
_MIN_PADDING = 1024


@dataclass(frozen=True)
class Frame:
    """One frame as stored: id, the two flag bytes (v2.3/v2.4) and the data after the header."""

    frame_id: str
    flags: int
    data: bytes


@dataclass(frozen=True)
class Tag:
    version: int  # 2, 3 or 4
    frames: tuple[Frame, ...]
    size: int  # bytes from the start of the file to the end of the tag (header, body, footer)


def _syncsafe(raw: bytes, what: str) -> int:
    value = 0
    for byte in raw:
        if byte & 0x80:
            raise ContainerError(f"ID3 {what} is not a sync-safe integer")
        value = (value << 7) | byte
    return value


def _to_syncsafe(value: int, width: int = 4) -> bytes:
    if value >= 1 << (7 * width):
        raise ContainerError(f"ID3 size {value} does not fit {width} sync-safe bytes")
    return bytes((value >> (7 * (width - 1 - i))) & 0x7F for i in range(width))


def deunsync(data: bytes) -> bytes:
    """Undo unsynchronisation (every ``FF 00`` back to ``FF``)."""
    return data.replace(b"\xff\x00", b"\xff")


def read_tag(data: bytes) -> Tag | None:
    """The ID3v2 tag at the start of `data`, or None when there is none."""
    if not data.startswith(b"ID3"):
        return None
    if len(data) < 10:
        raise ContainerError("ID3 header truncated")
    version, flags = data[3], data[5]
    if version not in (2, 3, 4):
        raise ContainerError(f"unknown ID3v2 version 2.{version}")
    if version == 2 and flags & 0x40:
        raise ContainerError("compressed ID3v2.2 tag (no reader defines that compression)")
    size = _syncsafe(data[6:10], "tag size")
    if 10 + size > len(data):
        raise ContainerError("ID3 tag runs past the file")
    body = data[10 : 10 + size]
    if flags & _UNSYNC and version < 4:
        body = deunsync(body)  # v2.4 marks unsynchronisation on every frame instead
    if flags & _EXTENDED and version >= 3:
        body = body[_extended_size(body, version) :]
    footer = 10 if flags & _FOOTER and version == 4 else 0
    try:
        frames = _frames(body, version, syncsafe=True)
    except ContainerError:
        if version != 4:
            raise
        frames = _frames(body, version, syncsafe=False)  # iTunes wrote v2.4 sizes as plain integers
    if flags & _UNSYNC and version == 4:
        frames = [Frame(f.frame_id, f.flags | 0x0002, f.data) for f in frames]
    return Tag(version, tuple(frames), 10 + size + footer)


def _extended_size(body: bytes, version: int) -> int:
    if len(body) < 4:
        raise ContainerError("ID3 extended header truncated")
    if version == 4:
        size = _syncsafe(body[:4], "extended header size")
    else:
        size = int.from_bytes(body[:4], "big") + 4
    if size > len(body):
        raise ContainerError("ID3 extended header runs past the tag")
    return size


def _frames(body: bytes, version: int, *, syncsafe: bool) -> list[Frame]:
    id_len, head_len = (3, 6) if version == 2 else (4, 10)
    frames, pos = [], 0
    while pos + head_len <= len(body) and body[pos] != 0:
        raw_id = body[pos : pos + id_len]
        if not all(c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" for c in raw_id):
            raise ContainerError(f"ID3 frame with the invalid id {raw_id!r} at tag byte {pos}")
        if version == 2:
            size, flags = int.from_bytes(body[pos + 3 : pos + 6], "big"), 0
        else:
            raw = body[pos + 4 : pos + 8]
            size = _syncsafe(raw, "frame size") if version == 4 and syncsafe else int.from_bytes(raw, "big")
            flags = int.from_bytes(body[pos + 8 : pos + 10], "big")
        end = pos + head_len + size
        if end > len(body):
            raise ContainerError(f"ID3 frame {raw_id.decode()} runs past the tag")
        frames.append(Frame(raw_id.decode("ascii"), flags, body[pos + head_len : end]))
        pos = end
    if any(body[pos:]):
        raise ContainerError(f"ID3 tag has data after its frames at tag byte {pos}")
    return frames


def frame_payload(frame: Frame, version: int) -> bytes:
    """The frame's content with grouping, length, unsynchronisation and compression undone."""
    data, flags = frame.data, frame.flags
    if version == 3:
        compressed, encrypted = flags & 0x0080, flags & 0x0040
        skip = (4 if compressed else 0) + (1 if encrypted else 0) + (1 if flags & 0x0020 else 0)
    elif version == 4:
        compressed, encrypted = flags & 0x0008, flags & 0x0004
        skip = (1 if flags & 0x0040 else 0) + (1 if encrypted else 0) + (4 if flags & 0x0001 else 0)
    else:
        return data
    if skip > len(data):
        raise ContainerError(f"ID3 frame {frame.frame_id} shorter than its flags say")
    data = data[skip:]
    if version == 4 and flags & 0x0002:
        data = deunsync(data)
    if encrypted:
        raise ContainerError(f"encrypted ID3 frame {frame.frame_id}: cannot tell whether it holds a label")
    if compressed:
        try:
            data = zlib.decompress(data)
        except zlib.error as exc:
            raise ContainerError(f"ID3 frame {frame.frame_id} does not decompress: {exc}") from None
    return data


_ENCODINGS = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}


def user_text(payload: bytes) -> tuple[str, list[str]]:
    """``(description, values)`` of a TXXX / TXX frame payload."""
    if not payload or payload[0] not in _ENCODINGS:
        raise ContainerError("ID3 user text frame with an unknown text encoding")
    encoding, rest = _ENCODINGS[payload[0]], payload[1:]
    wide = payload[0] in (1, 2)
    try:  # in UTF-16 (encoding 1) every string carries its own byte order mark
        texts = [p.decode(encoding) for p in _split_nul(rest, wide)]
    except UnicodeDecodeError as exc:
        raise ContainerError(f"ID3 user text frame is not valid {encoding}: {exc}") from None
    while len(texts) > 2 and texts[-1] == "":
        texts.pop()
    return texts[0], texts[1:] or [""]


def _split_nul(data: bytes, wide: bool) -> list[bytes]:
    if not wide:
        return data.split(b"\x00")
    parts, start = [], 0
    for pos in range(0, len(data) - 1, 2):
        if data[pos : pos + 2] == b"\x00\x00":
            parts.append(data[start:pos])
            start = pos + 2
    parts.append(data[start:])
    return parts


def user_texts(tag: Tag) -> list[tuple[str, list[str]]]:
    """Every user text frame (TXXX, or TXX in v2.2) of the tag."""
    wanted = "TXX" if tag.version == 2 else "TXXX"
    return [user_text(frame_payload(f, tag.version)) for f in tag.frames if f.frame_id == wanted]


def _label_frame(version: int, description: str, value: str) -> Frame:
    if version == 4:
        payload = b"\x03" + description.encode() + b"\x00" + value.encode()
    elif (description + value).isascii():
        payload = b"\x00" + description.encode("latin-1") + b"\x00" + value.encode("latin-1")
    else:  # v2.2 and v2.3 have no UTF-8: UTF-16 with a byte order mark
        payload = b"\x01" + description.encode("utf-16") + b"\x00\x00" + value.encode("utf-16")
    return Frame("TXX" if version == 2 else "TXXX", 0, payload)


def _is_label(frame: Frame, version: int) -> bool:
    if frame.frame_id not in ("TXX", "TXXX"):
        return False
    description, _ = user_text(frame_payload(frame, version))
    return "AIGC" in description.upper()


def _frame_bytes(frame: Frame, version: int) -> bytes:
    size = len(frame.data)
    if version == 2:
        if size >= 1 << 24:
            raise ContainerError("ID3v2.2 frame larger than 16 MiB")
        return frame.frame_id.encode() + size.to_bytes(3, "big") + frame.data
    raw_size = _to_syncsafe(size) if version == 4 else size.to_bytes(4, "big")
    return frame.frame_id.encode() + raw_size + frame.flags.to_bytes(2, "big") + frame.data


def write_user_text(data: bytes, description: str, value: str) -> bytes:
    """`data` with exactly one user text frame whose description holds AIGC: ``description=value``."""
    tag = read_tag(data)
    version, old_frames, old_size = (4, (), 0) if tag is None else (tag.version, tag.frames, tag.size)
    frames = [f for f in old_frames if not _is_label(f, version)]
    frames.append(_label_frame(version, description, value))
    body = b"".join(_frame_bytes(f, version) for f in frames)
    room = old_size - 10 - len(body)
    padding = room if room >= 0 else _MIN_PADDING
    header = b"ID3" + bytes([version, 0, 0]) + _to_syncsafe(len(body) + padding)
    return header + body + b"\x00" * padding + data[old_size:]
