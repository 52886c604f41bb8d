"""Implicit labels in PNG, JPEG and WebP, written into the container without re-encoding the pixels.

PNG: iTXt chunk ``XML:com.adobe.xmp``; JPEG: APP1 XMP segment; WebP: ``XMP `` chunk (with the VP8X
header the format requires). Each writer merges the label into an existing XMP packet (other properties
stay), drops any earlier AIGC label so that the file holds exactly one (GB 6.1 c), and the caller reads
the result back. Written by hand because no maintained Python library edits XMP in these containers
without re-encoding (Pillow re-encodes; exiftool and exiv2 are not Python). This module never removes a
label without writing one in its place.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

from PIL import Image

from hegui.label.implicit import LabelError, ParsedLabel, parse_label
from hegui.label.xmp import XmpError, find_labels, merge_packet

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_KEYWORD = b"XML:com.adobe.xmp"
JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


class ContainerError(LabelError):
    """The bytes are not a well-formed file of the claimed format."""

    code = "malformed_file"


# --- PNG -------------------------------------------------------------------------------------------


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    if not data.startswith(PNG_SIGNATURE):
        raise ContainerError("not a PNG file")
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise ContainerError(f"PNG chunk {ctype!r} is truncated")
        yield ctype, body
        pos += 12 + length
        if ctype == b"IEND":
            return
    raise ContainerError("PNG has no IEND chunk")


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _itxt_text(body: bytes) -> tuple[bytes, str]:
    keyword, _, rest = body.partition(b"\x00")
    if len(rest) < 2:
        raise ContainerError("PNG iTXt chunk is truncated")
    compressed, rest = rest[0], rest[2:]
    _lang, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    raw = zlib.decompress(text) if compressed else text
    return keyword, raw.decode("utf-8")


def _text_chunk(ctype: bytes, body: bytes) -> tuple[bytes, str]:
    if ctype == b"iTXt":
        return _itxt_text(body)
    keyword, _, rest = body.partition(b"\x00")
    if ctype == b"zTXt":
        rest = zlib.decompress(rest[1:])
    return keyword, rest.decode("latin-1")


def png_read(data: bytes) -> list[ParsedLabel]:
    found: list[ParsedLabel] = []
    for ctype, body in _png_chunks(data):
        if ctype not in (b"iTXt", b"tEXt", b"zTXt"):
            continue
        keyword, text = _text_chunk(ctype, body)
        if keyword == XMP_KEYWORD:
            found += [parse_label(v, "png:iTXt:XMP:TC260:AIGC") for v in _xmp_values(text.encode())]
        elif b"AIGC" in keyword.upper():
            found.append(parse_label(text, f"png:{ctype.decode()}:{keyword.decode('latin-1')}"))
    return found


def png_write(data: bytes, label_json: str) -> bytes:
    existing: bytes | None = None
    kept: list[tuple[bytes, bytes]] = []
    for ctype, body in _png_chunks(data):
        if ctype in (b"iTXt", b"tEXt", b"zTXt"):
            keyword, text = _text_chunk(ctype, body)
            if keyword == XMP_KEYWORD:
                existing = existing or text.encode("utf-8")
                continue
            if b"AIGC" in keyword.upper():
                continue  # an earlier label in a text chunk is replaced by the one written below
        kept.append((ctype, body))
    packet = merge_packet(existing, label_json)
    itxt = XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet
    out = [PNG_SIGNATURE]
    for ctype, body in kept:
        out.append(_png_chunk(ctype, body))
        if ctype == b"IHDR":
            out.append(_png_chunk(b"iTXt", itxt))
    return b"".join(out)


def _xmp_values(packet: bytes) -> list[str]:
    try:
        return find_labels(packet)
    except XmpError as exc:
        raise ContainerError(str(exc)) from None


# --- JPEG ------------------------------------------------------------------------------------------


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The marker segments before the scan, and the rest of the file (scan data onward)."""
    if not data.startswith(b"\xff\xd8"):
        raise ContainerError("not a JPEG file")
    pos = 2
    segments: list[tuple[int, bytes]] = []
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ContainerError(f"JPEG marker expected at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in {218, 217}:
            return segments, data[pos:]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    raise ContainerError("JPEG has no scan")


def jpeg_read(data: bytes) -> list[ParsedLabel]:
    found: list[ParsedLabel] = []
    segments, _ = _jpeg_segments(data)
    for marker, body in segments:
        if marker == 0xE1 and body.startswith(JPEG_XMP_HEADER):
            packet = body[len(JPEG_XMP_HEADER) :]
            found += [parse_label(v, "jpeg:APP1:XMP:TC260:AIGC") for v in _xmp_values(packet)]
        elif marker == 0xFE and b"AIGC" in body:
            found.append(parse_label(body.decode("utf-8", "replace"), "jpeg:COM"))
    found += _exif_user_comment(data)
    return found


def _exif_user_comment(data: bytes) -> list[ParsedLabel]:
    """EXIF UserComment (0x9286) with the wrapped form, as seen in the wild (PG-20259A Annex B)."""
    with Image.open(io.BytesIO(data)) as img:
        comment = img.getexif().get_ifd(0x8769).get(0x9286)
    if isinstance(comment, bytes):
        text = (
            comment[8:].decode("utf-8", "replace")
            if comment[:8].strip(b"\x00 ")
            else comment.decode("utf-8", "replace")
        )
    elif isinstance(comment, str):
        text = comment
    else:
        return []
    text = text.strip("\x00 ")
    return [parse_label(text, "jpeg:EXIF:UserComment")] if "AIGC" in text else []


def jpeg_write(data: bytes, label_json: str) -> bytes:
    segments, rest = _jpeg_segments(data)
    existing: bytes | None = None
    kept: list[tuple[int, bytes]] = []
    for marker, body in segments:
        if marker == 0xE1 and body.startswith(JPEG_XMP_HEADER):
            existing = existing or body[len(JPEG_XMP_HEADER) :]
            continue
        kept.append((marker, body))
    payload = JPEG_XMP_HEADER + merge_packet(existing, label_json)
    if len(payload) + 2 > 0xFFFF:
        raise ContainerError("XMP packet too large for one JPEG APP1 segment")
    # After APP0 (JFIF) and the Exif APP1, where readers expect XMP.
    at = 0
    while at < len(kept) and kept[at][0] in (0xE0, 0xE1):
        at += 1
    kept.insert(at, (0xE1, payload))
    out = [b"\xff\xd8"]
    out += [bytes((0xFF, m)) + struct.pack(">H", len(b) + 2) + b for m, b in kept]
    out.append(rest)
    return b"".join(out)


# --- WebP ------------------------------------------------------------------------------------------


def _riff_chunks(data: bytes, form: bytes) -> Iterator[tuple[bytes, bytes]]:
    if data[:4] != b"RIFF" or data[8:12] != form:
        raise ContainerError(f"not a RIFF {form.decode()} file")
    pos, end = 12, min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    while pos + 8 <= end:
        cid = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if len(body) != size:
            raise ContainerError(f"RIFF chunk {cid!r} is truncated")
        yield cid, body
        pos += 8 + size + (size & 1)


def riff_chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def riff_file(form: bytes, chunks: list[bytes]) -> bytes:
    body = form + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_read(data: bytes) -> list[ParsedLabel]:
    found: list[ParsedLabel] = []
    for cid, body in _riff_chunks(data, b"WEBP"):
        if cid == b"XMP ":
            found += [parse_label(v, "webp:XMP:TC260:AIGC") for v in _xmp_values(body)]
        elif b"AIGC" in cid.upper():
            found.append(parse_label(body.rstrip(b"\x00").decode("utf-8", "replace"), "webp:AIGC"))
    return found


def webp_write(data: bytes, label_json: str) -> bytes:
    chunks = list(_riff_chunks(data, b"WEBP"))
    existing = next((b for c, b in chunks if c == b"XMP "), None)
    kept = [(c, b) for c, b in chunks if c != b"XMP " and b"AIGC" not in c.upper()]
    if kept and kept[0][0] == b"VP8X":
        flags = kept[0][1][0] | 0x04
        kept[0] = (b"VP8X", bytes((flags,)) + kept[0][1][1:])
    else:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            alpha = img.mode in ("RGBA", "LA") or "transparency" in img.info
        flags = 0x04 | (0x10 if alpha else 0)
        vp8x = (
            bytes((flags, 0, 0, 0)) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        )
        kept.insert(0, (b"VP8X", vp8x))
    kept.append((b"XMP ", merge_packet(existing, label_json)))
    return riff_file(b"WEBP", [riff_chunk(c, b) for c, b in kept])
