"""The Vorbis comment block (``vendor`` + ``KEY=value`` list) shared by FLAC and Ogg Vorbis / Opus.

Written by hand instead of with a tagging library: the only maintained Python writer (mutagen) is
GPL-2.0-or-later and hegui is Apache-2.0 (see `hegui.label.audio`). Every entry is kept byte for byte
except the ``AIGC`` ones, which `set_label` replaces by exactly one; whatever follows the list (the
Vorbis framing bit, Opus extra data) is kept too. It never guesses a value out of a truncated block.
"""

from __future__ import annotations

from dataclasses import dataclass

from hegui.label.images import ContainerError


@dataclass(frozen=True)
class VorbisComment:
    """A parsed comment block: the raw vendor string, the raw entries and the bytes after them."""

    vendor: bytes
    entries: tuple[bytes, ...]
    tail: bytes = b""

    def items(self) -> list[tuple[str, str]]:
        """``(KEY, value)`` for every entry that has an ``=`` (values decoded as UTF-8)."""
        out = []
        for entry in self.entries:
            key, sep, value = entry.partition(b"=")
            if sep:
                out.append((key.decode("ascii", "replace"), value.decode("utf-8", "replace")))
        return out

    def set_label(self, key: str, value: str) -> VorbisComment:
        """A copy with every entry whose key contains AIGC removed and one ``key=value`` appended."""
        kept = tuple(e for e in self.entries if not is_label_key(e.partition(b"=")[0]))
        return VorbisComment(self.vendor, (*kept, f"{key}={value}".encode()), self.tail)


def is_label_key(key: bytes | str) -> bool:
    """Whether a comment key names an AIGC label (any case, any prefix or suffix)."""
    raw = key.encode("utf-8", "replace") if isinstance(key, str) else key
    return b"AIGC" in raw.upper()


def _u32(data: bytes, pos: int, what: str) -> int:
    if pos + 4 > len(data):
        raise ContainerError(f"Vorbis comment truncated in the {what}")
    return int.from_bytes(data[pos : pos + 4], "little")


def parse(data: bytes) -> VorbisComment:
    """Parse a comment block (without the ``\\x03vorbis`` / ``OpusTags`` packet prefix)."""
    size = _u32(data, 0, "vendor length")
    pos = 4 + size
    if pos > len(data):
        raise ContainerError("Vorbis comment vendor string runs past the block")
    vendor = data[4:pos]
    count = _u32(data, pos, "entry count")
    pos += 4
    if count > (len(data) - pos) // 4:
        raise ContainerError(f"Vorbis comment claims {count} entries in {len(data) - pos} bytes")
    entries = []
    for _ in range(count):
        size = _u32(data, pos, "entry length")
        pos += 4
        if pos + size > len(data):
            raise ContainerError("Vorbis comment entry runs past the block")
        entries.append(data[pos : pos + size])
        pos += size
    return VorbisComment(vendor, tuple(entries), data[pos:])


def build(comment: VorbisComment) -> bytes:
    """The block bytes of `comment` (the inverse of `parse`)."""
    parts = [len(comment.vendor).to_bytes(4, "little"), comment.vendor]
    parts.append(len(comment.entries).to_bytes(4, "little"))
    for entry in comment.entries:
        parts += [len(entry).to_bytes(4, "little"), entry]
    parts.append(comment.tail)
    return b"".join(parts)
