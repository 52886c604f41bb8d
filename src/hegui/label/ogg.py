"""Ogg Vorbis and Ogg Opus: read and replace the ``AIGC`` entry of the comment header packet.

Written by hand because the maintained Python tagger (mutagen) is GPL (see `hegui.label.audio`). An Ogg
file is a run of pages (``OggS``, flags, granule, serial, sequence, CRC-32, lacing table, data); a packet
may span pages. The comment packet (Vorbis ``\\x03vorbis``, Opus ``OpusTags``) is the second packet of
the first logical stream. To change it, the header packets after the first are laid out on new pages,
the later pages of that stream get new sequence numbers and every changed page a new CRC; audio pages
keep their bytes otherwise and other logical streams are not touched. The codec is taken from the first
packet, not from the file name. It never writes when the headers do not end on a page boundary (the
codecs require that audio starts on a fresh page), and it refuses truncated pages instead of guessing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

from hegui.label import vorbiscomment
from hegui.label.images import ContainerError
from hegui.label.vorbiscomment import VorbisComment

_CONTINUED, _BOS = 0x01, 0x02
_NO_GRANULE = -1

# codec: (first packet prefix, comment packet prefix, header packet count)
_CODECS = {
    "vorbis": (b"\x01vorbis", b"\x03vorbis", 3),
    "opus": (b"OpusHead", b"OpusTags", 2),
}


_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def crc32(data: bytes) -> int:
    """The Ogg page checksum: CRC-32 with polynomial 0x04C11DB7, not reflected, initial value 0.

    zlib computes the reflected form, so the bytes go in bit-reversed and the result comes out
    bit-reversed; zlib's own pre- and post-inversion are undone by the start value and the final xor.
    """
    raw = zlib.crc32(data.translate(_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


@dataclass(frozen=True)
class Page:
    flags: int
    granule: int
    serial: int
    sequence: int
    lacing: bytes
    body: bytes

    def to_bytes(self) -> bytes:
        """The page with a freshly computed CRC."""
        head = (
            b"OggS\x00"
            + bytes([self.flags])
            + self.granule.to_bytes(8, "little", signed=True)
            + self.serial.to_bytes(4, "little")
            + self.sequence.to_bytes(4, "little")
        )
        tail = bytes([len(self.lacing)]) + self.lacing + self.body
        crc = crc32(head + b"\x00\x00\x00\x00" + tail)
        return head + crc.to_bytes(4, "little") + tail


def pages(data: bytes) -> list[tuple[Page, bytes]]:
    """Every page with its original bytes; junk between pages is refused."""
    out, pos = [], 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS" or pos + 27 > len(data):
            raise ContainerError(f"no Ogg page at byte {pos}")
        if data[pos + 4] != 0:
            raise ContainerError(f"Ogg page version {data[pos + 4]} at byte {pos}")
        count = data[pos + 26]
        lacing = data[pos + 27 : pos + 27 + count]
        end = pos + 27 + count + sum(lacing)
        if len(lacing) < count or end > len(data):
            raise ContainerError(f"Ogg page at byte {pos} runs past the file")
        page = Page(
            flags=data[pos + 5],
            granule=int.from_bytes(data[pos + 6 : pos + 14], "little", signed=True),
            serial=int.from_bytes(data[pos + 14 : pos + 18], "little"),
            sequence=int.from_bytes(data[pos + 18 : pos + 22], "little"),
            lacing=lacing,
            body=data[pos + 27 + count : end],
        )
        out.append((page, data[pos:end]))
        pos = end
    if not out:
        raise ContainerError("empty Ogg file")
    return out


@dataclass(frozen=True)
class Headers:
    """The header packets of the first logical stream and the pages (by index) that hold them."""

    codec: str
    serial: int
    packets: list[bytes]
    page_indexes: list[int]


def headers(all_pages: list[tuple[Page, bytes]]) -> Headers:
    first = all_pages[0][0]
    if not first.flags & _BOS:
        raise ContainerError("the first Ogg page does not begin a stream")
    codec = next((c for c, (p, _, _) in _CODECS.items() if first.body.startswith(p)), None)
    if codec is None:
        raise ContainerError(f"Ogg stream of an unsupported codec ({first.body[:8]!r})")
    wanted = _CODECS[codec][2]
    packets: list[bytes] = []
    indexes: list[int] = []
    partial = b""
    for index, (page, _) in enumerate(all_pages):
        if page.serial != first.serial:
            continue
        if bool(page.flags & _CONTINUED) != bool(partial):
            raise ContainerError(f"Ogg page {page.sequence} breaks a packet (continuation flag)")
        indexes.append(index)
        pos = 0
        for size in page.lacing:
            partial += page.body[pos : pos + size]
            pos += size
            if size < 255:
                packets.append(partial)
                partial = b""
        if len(packets) >= wanted:
            if len(packets) > wanted or partial:
                raise ContainerError("Ogg audio data shares a page with the headers; not rewriting")
            return Headers(codec, first.serial, packets, indexes)
    raise ContainerError(f"Ogg {codec} stream ends before its {wanted} header packets")


def comment(data: bytes) -> tuple[str, VorbisComment]:
    """``(codec, comment block)`` of the first logical stream."""
    found = headers(pages(data))
    prefix = _CODECS[found.codec][1]
    packet = found.packets[1]
    if not packet.startswith(prefix):
        raise ContainerError(f"the second Ogg {found.codec} packet is not the comment header")
    return found.codec, vorbiscomment.parse(packet[len(prefix) :])


def _lay_out(packets: list[bytes], serial: int, sequence: int, old_count: int) -> list[Page]:
    """Pages carrying `packets` back to back, granule 0 where a packet ends.

    As many pages as the old headers had when the segments allow it, so that the sequence numbers of
    the audio pages stay as they are; more when the new packets need them (255 segments a page).
    """
    segments: list[tuple[int, bytes, bool]] = []  # (size, data, packet ends here)
    for packet in packets:
        for pos in range(0, len(packet) + 1, 255):
            chunk = packet[pos : pos + 255]
            segments.append((len(chunk), chunk, len(chunk) < 255))
    count = max(-(-len(segments) // 255), min(old_count, len(segments)))
    size, extra = divmod(len(segments), count)
    out, continued, start = [], False, 0
    for n in range(count):
        group = segments[start : start + size + (1 if n < extra else 0)]
        start += len(group)
        ends = any(e for _, _, e in group)
        out.append(
            Page(
                flags=_CONTINUED if continued else 0,
                granule=0 if ends else _NO_GRANULE,
                serial=serial,
                sequence=sequence + n,
                lacing=bytes(s for s, _, _ in group),
                body=b"".join(d for _, d, _ in group),
            )
        )
        continued = not group[-1][2]
    return out


def write_label(data: bytes, key: str, value: str) -> bytes:
    """The file with exactly one ``key=value`` entry in the comment header of the first stream."""
    all_pages = pages(data)
    found = headers(all_pages)
    codec, block = comment(data)
    prefix = _CODECS[codec][1]
    new_packets = [prefix + vorbiscomment.build(block.set_label(key, value)), *found.packets[2:]]
    # the first page holds the identification packet alone (both codecs require it)
    if found.page_indexes[0] != 0 or len(all_pages[0][0].lacing) != 1 or all_pages[0][0].lacing[0] == 255:
        raise ContainerError("the first Ogg page does not hold the identification packet alone")
    first_old = found.page_indexes[1]
    old_count = len(found.page_indexes) - 1
    laid = _lay_out(new_packets, found.serial, all_pages[first_old][0].sequence, old_count)
    shift = len(laid) - old_count
    replaced = set(found.page_indexes[1:])
    out: list[bytes] = []
    for index, (page, raw) in enumerate(all_pages):
        if index == first_old:
            out += [p.to_bytes() for p in laid]
        if index in replaced:
            continue
        if page.serial == found.serial and index > first_old and shift:
            out.append(replace(page, sequence=(page.sequence + shift) & 0xFFFFFFFF).to_bytes())
        else:
            out.append(raw)
    return b"".join(out)
