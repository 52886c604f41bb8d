"""FLAC metadata blocks: read and replace the ``AIGC`` entry of the VORBIS_COMMENT block.

A FLAC file is ``fLaC``, metadata blocks (1 byte last-flag + type, 3 bytes big-endian length) and then
the audio frames, which this module copies untouched. Written by hand because the maintained Python
tagger (mutagen) is GPL (see `hegui.label.audio`). A leading ID3v2 tag, which some taggers put before
``fLaC``, is kept as it is. The writer grows or shrinks a PADDING block when it can so that the audio
does not move; it never drops a block other than padding, and never writes a block it could not parse.
"""

from __future__ import annotations

from hegui.label import vorbiscomment
from hegui.label.images import ContainerError
from hegui.label.vorbiscomment import VorbisComment

STREAMINFO, PADDING, VORBIS_COMMENT = 0, 1, 4
_MAX_BLOCK = (1 << 24) - 1

Block = tuple[int, bytes]


def _id3_skip(data: bytes) -> int:
    """Length of an ID3v2 tag before ``fLaC`` (0 when there is none)."""
    if not data.startswith(b"ID3") or len(data) < 10:
        return 0
    size = 0
    for byte in data[6:10]:
        if byte & 0x80:
            raise ContainerError("ID3v2 tag before fLaC has a size that is not sync-safe")
        size = (size << 7) | byte
    return 10 + size + (10 if data[5] & 0x10 else 0)


def split(data: bytes) -> tuple[bytes, list[Block], bytes]:
    """``(prefix, [(type, body)], audio)``: the bytes before ``fLaC``, the blocks, the frames."""
    start = _id3_skip(data)
    if data[start : start + 4] != b"fLaC":
        raise ContainerError("not a FLAC file (no fLaC marker)")
    pos, blocks = start + 4, []
    while True:
        if pos + 4 > len(data):
            raise ContainerError("FLAC metadata truncated (no last-block flag)")
        head = data[pos]
        kind, size = head & 0x7F, int.from_bytes(data[pos + 1 : pos + 4], "big")
        if kind == 127:
            raise ContainerError("FLAC metadata block of the invalid type 127")
        if pos + 4 + size > len(data):
            raise ContainerError(f"FLAC metadata block of type {kind} runs past the file")
        blocks.append((kind, data[pos + 4 : pos + 4 + size]))
        pos += 4 + size
        if head & 0x80:
            break
    if not blocks or blocks[0][0] != STREAMINFO:
        raise ContainerError("FLAC file whose first metadata block is not STREAMINFO")
    return data[:start], blocks, data[pos:]


def comments(data: bytes) -> list[VorbisComment]:
    """Every VORBIS_COMMENT block of the file (there should be at most one)."""
    _, blocks, _ = split(data)
    return [vorbiscomment.parse(body) for kind, body in blocks if kind == VORBIS_COMMENT]


def write_label(data: bytes, key: str, value: str) -> bytes:
    """The file with exactly one ``key=value`` label entry; other entries and blocks kept."""
    prefix, blocks, audio = split(data)
    before = sum(4 + len(body) for _, body in blocks)
    out: list[Block] = []
    done = False
    for kind, body in blocks:
        if kind != VORBIS_COMMENT:
            out.append((kind, body))
            continue
        parsed = vorbiscomment.parse(body)
        # the label goes into the first comment block; later (invalid, duplicate) blocks lose theirs
        if done:
            kept = tuple(e for e in parsed.entries if not vorbiscomment.is_label_key(e.partition(b"=")[0]))
            out.append((kind, vorbiscomment.build(VorbisComment(parsed.vendor, kept, parsed.tail))))
        else:
            out.append((kind, vorbiscomment.build(parsed.set_label(key, value))))
            done = True
    if not done:
        fresh = VorbisComment(b"hegui", ()).set_label(key, value)
        out.insert(1, (VORBIS_COMMENT, vorbiscomment.build(fresh)))
    out = _fit_padding(out, before)
    return prefix + b"fLaC" + _blocks_bytes(out) + audio


def _fit_padding(blocks: list[Block], before: int) -> list[Block]:
    """Shrink or grow the first PADDING block so that the metadata keeps its old length, if it can."""
    delta = sum(4 + len(body) for _, body in blocks) - before
    for i, (kind, body) in enumerate(blocks):
        if kind == PADDING and 0 <= len(body) - delta <= _MAX_BLOCK:
            return [*blocks[:i], (PADDING, b"\x00" * (len(body) - delta)), *blocks[i + 1 :]]
    return blocks


def _blocks_bytes(blocks: list[Block]) -> bytes:
    parts = []
    for i, (kind, body) in enumerate(blocks):
        if len(body) > _MAX_BLOCK:
            raise ContainerError(f"FLAC metadata block of type {kind} would exceed 16 MiB")
        last = 0x80 if i == len(blocks) - 1 else 0
        parts.append(bytes([last | kind]) + len(body).to_bytes(3, "big") + body)
    return b"".join(parts)
