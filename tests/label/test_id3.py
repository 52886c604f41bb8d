"""The hand-written ID3v2 carrier: tags ffmpeg writes (v2.3, v2.4), tags built here byte by byte for
what ffmpeg never writes (v2.2, unsynchronisation, compression, iTunes sizes), and malformed tags."""

from __future__ import annotations

import json
import subprocess
import zlib
from pathlib import Path

import imageio_ffmpeg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.label import audio, id3
from hegui.label.images import ContainerError

LABEL = json.dumps({"Label": "1", "ContentProducer": "p", "ProduceID": "i"})
AUDIO = b"\xff\xfb\x90\x64" + bytes(400)  # an MPEG frame header and silence: never parsed by the tag code


def _ffmpeg_mp3(tmp: Path, version: int, *meta: str) -> bytes:
    args = [arg for m in meta for arg in ("-metadata", m)]
    out = tmp / f"v{version}.mp3"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
    command += ["-i", "sine=frequency=440:duration=0.2", "-c:a", "libmp3lame", *args]
    command += ["-id3v2_version", str(version), str(out)]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out.read_bytes()


def _syncsafe(n: int) -> bytes:
    return bytes((n >> s) & 0x7F for s in (21, 14, 7, 0))


def _tag(version: int, frames: bytes, flags: int = 0, padding: int = 0) -> bytes:
    return b"ID3" + bytes([version, 0, flags]) + _syncsafe(len(frames) + padding) + frames + bytes(padding)


def _frame(version: int, fid: bytes, payload: bytes, flags: int = 0, plain_size: bool = False) -> bytes:
    if version == 2:
        return fid + len(payload).to_bytes(3, "big") + payload
    size = _syncsafe(len(payload)) if version == 4 and not plain_size else len(payload).to_bytes(4, "big")
    return fid + size + flags.to_bytes(2, "big") + payload


def _txxx(desc: str, value: str, encoding: int = 0) -> bytes:
    codec = {0: "latin-1", 1: "utf-16", 3: "utf-8"}[encoding]
    nul = b"\x00\x00" if encoding == 1 else b"\x00"
    return bytes([encoding]) + desc.encode(codec) + nul + value.encode(codec)


def _unsync(data: bytes) -> bytes:
    out = bytearray()
    for i, byte in enumerate(data):
        out.append(byte)
        if byte == 0xFF and (i + 1 == len(data) or data[i + 1] == 0 or data[i + 1] >= 0xE0):
            out.append(0)
    return bytes(out)


@pytest.mark.parametrize("version", [3, 4])
def test_reads_and_replaces_the_label_ffmpeg_wrote(version: int, tmp_path: Path) -> None:
    data = _ffmpeg_mp3(tmp_path, version, "AIGC=" + LABEL, "title=tone")
    assert data[3] == version
    assert [p.raw for p in audio.mp3_read(data)] == [LABEL]
    new = LABEL.replace('"i"', '"j"')
    out = audio.mp3_write(data, new)
    assert [p.raw for p in audio.mp3_read(out)] == [new]
    tag = id3.read_tag(out)
    assert tag is not None and tag.version == version  # the tag keeps its version
    assert [f.frame_id for f in tag.frames].count("TIT2") == 1
    old = id3.read_tag(data)
    assert old is not None
    assert out.endswith(data[old.size :])  # the audio frames are untouched


@pytest.mark.parametrize("version", [3, 4])
def test_ffprobe_reads_what_was_written(version: int, ffprobe: str, tmp_path: Path) -> None:
    data = _ffmpeg_mp3(tmp_path, version, "title=tone")
    path = tmp_path / "out.mp3"
    value = LABEL.replace('"p"', '"生成方"')  # not ASCII: UTF-16 in v2.3, UTF-8 in v2.4
    path.write_bytes(audio.mp3_write(audio.mp3_write(data, LABEL), value))
    done = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    tags = json.loads(done.stdout)["format"]["tags"]
    assert tags["AIGC"] == value
    assert tags["title"] == "tone"


def test_a_file_without_a_tag_gets_a_v24_tag() -> None:
    assert audio.mp3_read(AUDIO) == []
    out = audio.mp3_write(AUDIO, LABEL)
    assert out[:4] == b"ID3\x04"
    assert out.endswith(AUDIO)
    assert [p.carrier for p in audio.mp3_read(out)] == ["mp3:ID3:TXXX:AIGC"]


def test_the_audio_stays_in_place_when_the_padding_has_room() -> None:
    once = audio.mp3_write(AUDIO, LABEL)
    twice = audio.mp3_write(once, LABEL.replace('"i"', '"k"'))
    assert len(twice) == len(once)
    assert twice.endswith(AUDIO)


@pytest.mark.parametrize(
    ("version", "frames"),
    [
        (2, _frame(2, b"TT2", b"\x00tone") + _frame(2, b"TXX", _txxx("AIGC", "old"))),
        (3, _frame(3, b"TIT2", b"\x00tone") + _frame(3, b"TXXX", _txxx("aigc_label", "old", 1))),
        (4, _frame(4, b"TIT2", b"\x03tone") + _frame(4, b"TXXX", _txxx("AIGC", "old", 3))),
    ],
)
def test_versions_two_to_four_are_replaced_in_their_own_format(version: int, frames: bytes) -> None:
    data = _tag(version, frames, padding=64) + AUDIO
    assert [p.raw for p in audio.mp3_read(data)] == ["old"]
    out = audio.mp3_write(data, LABEL)
    assert [p.raw for p in audio.mp3_read(out)] == [LABEL]
    tag = id3.read_tag(out)
    assert tag is not None and tag.version == version
    assert tag.frames[0].frame_id in ("TT2", "TIT2")
    assert len(tag.frames) == 2


# a title with bytes that need unsynchronisation (FF followed by E0 or higher, FF at the end)
TITLE = "\xffÿ\xe9 tone \xff"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        (
            "v2.3 whole-tag unsynchronisation",
            _tag(3, _unsync(_frame(3, b"TIT2", b"\x00" + TITLE.encode("latin-1"))), flags=0x80),
        ),
        (
            "v2.4 frame unsynchronisation with a data length indicator",
            _tag(
                4,
                _frame(
                    4,
                    b"TIT2",
                    _syncsafe(len(TITLE) + 1) + _unsync(b"\x00" + TITLE.encode("latin-1")),
                    flags=0x0003,
                ),
            ),
        ),
        (
            "v2.4 header unsynchronisation",
            _tag(4, _frame(4, b"TIT2", _unsync(b"\x00" + TITLE.encode("latin-1"))), flags=0x80),
        ),
        (
            "v2.3 extended header",
            _tag(3, b"\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00" + _frame(3, b"TIT2", b"\x00x"), flags=0x40),
        ),
    ],
)
def test_unsynchronised_and_extended_tags_keep_their_other_frames(name: str, data: bytes) -> None:
    tag = id3.read_tag(data)
    assert tag is not None, name
    before = [(f.frame_id, id3.frame_payload(f, tag.version)) for f in tag.frames]
    title = b"\x00x" if "extended" in name else b"\x00" + TITLE.encode("latin-1")
    assert before == [("TIT2", title)]
    out = audio.mp3_write(data + AUDIO, LABEL)
    assert out[5] & 0xC0 == 0  # neither whole-tag unsynchronisation nor an extended header any more
    again = id3.read_tag(out)
    assert again is not None
    after = [(f.frame_id, id3.frame_payload(f, again.version)) for f in again.frames]
    assert after[:-1] == before
    assert [p.raw for p in audio.mp3_read(out)] == [LABEL]
    assert out.endswith(AUDIO)


def test_unsynchronised_label_is_read() -> None:
    value = '{"x": "\xff\xe9"}'
    data = _tag(3, _unsync(_frame(3, b"TXXX", _txxx("AIGC", value))), flags=0x80)
    assert [p.raw for p in audio.mp3_read(data)] == [value]


@pytest.mark.parametrize("version", [3, 4])
def test_compressed_label_is_read_and_replaced(version: int) -> None:
    payload = _txxx("AIGC", "old")
    packed = len(payload).to_bytes(4, "big") + zlib.compress(payload)
    flags = 0x0080 if version == 3 else 0x0009
    if version == 4:
        packed = _syncsafe(len(payload)) + zlib.compress(payload)
    data = _tag(version, _frame(version, b"TXXX", packed, flags=flags)) + AUDIO
    assert [p.raw for p in audio.mp3_read(data)] == ["old"]
    assert [p.raw for p in audio.mp3_read(audio.mp3_write(data, LABEL))] == [LABEL]


def test_itunes_plain_frame_sizes_in_v24() -> None:
    long_title = b"\x03" + b"t" * 300  # 301 = 0x12d: its plain size bytes are not its sync-safe ones
    frames = _frame(4, b"TIT2", long_title, plain_size=True) + _frame(4, b"TXXX", _txxx("AIGC", "old", 3))
    data = _tag(4, frames) + AUDIO
    assert [p.raw for p in audio.mp3_read(data)] == ["old"]
    out = audio.mp3_write(data, LABEL)
    tag = id3.read_tag(out)
    assert tag is not None and tag.frames[0].data == long_title


def test_every_label_frame_is_replaced_by_one() -> None:
    frames = b"".join(_frame(3, b"TXXX", _txxx(d, "old")) for d in ("AIGC", "aigc", "X_AIGC"))
    frames += _frame(3, b"TXXX", _txxx("other", "kept"))
    out = audio.mp3_write(_tag(3, frames) + AUDIO, LABEL)
    tag = id3.read_tag(out)
    assert tag is not None
    assert id3.user_texts(tag) == [("other", ["kept"]), ("AIGC", [LABEL])]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("truncated header", b"ID3\x04\x00"),
        ("version 2.5", _tag(5, b"")),
        ("size not sync-safe", b"ID3\x04\x00\x00\x00\x00\x00\xff"),
        ("tag past the file", b"ID3\x04\x00\x00\x00\x00\x10\x00"),
        ("frame past the tag", _tag(4, b"TXXX\x00\x00\x01\x00\x00\x00\x03AIGC")),
        ("invalid frame id", _tag(3, _frame(3, b"tx!x", b"\x00a"))),
        ("garbage after the frames", _tag(3, _frame(3, b"TIT2", b"\x00a") + b"\x00\x00\x07")),
        ("unknown text encoding", _tag(3, _frame(3, b"TXXX", b"\x07AIGC\x00v"))),
        ("odd UTF-16", _tag(3, _frame(3, b"TXXX", b"\x01\xff\xfeA\x00\x00\x00v"))),
        ("bad UTF-8", _tag(4, _frame(4, b"TXXX", b"\x03AIGC\x00\xc3("))),
        ("encrypted user text", _tag(3, _frame(3, b"TXXX", b"\x01" + _txxx("AIGC", "v"), flags=0x0040))),
        ("bad zlib", _tag(3, _frame(3, b"TXXX", b"\x00\x00\x00\x09garbage!", flags=0x0080))),
        ("flags longer than frame", _tag(4, _frame(4, b"TXXX", b"\x00", flags=0x0001))),
        ("extended header past the tag", _tag(3, b"\x00\x00\x00\x60", flags=0x40)),
        ("compressed v2.2 tag", _tag(2, b"", flags=0x40)),
    ],
)
def test_malformed_tags_raise_container_error(name: str, data: bytes) -> None:
    with pytest.raises(ContainerError):
        audio.mp3_read(data + AUDIO)
    with pytest.raises(ContainerError):
        audio.mp3_write(data + AUDIO, LABEL)


_SAMPLE = _tag(
    4,
    _frame(4, b"TIT2", b"\x03tone")
    + _frame(4, b"TXXX", _syncsafe(len(LABEL) + 6) + _txxx("AIGC", LABEL, 3), flags=0x0001),
    padding=16,
)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_SAMPLE) - 1), st.integers(0, 255), st.integers(1, len(_SAMPLE)))
def test_damaged_tags_never_escape_as_other_errors(at: int, byte: int, cut: int) -> None:
    damaged = bytearray(_SAMPLE[:cut])
    if at < len(damaged):
        damaged[at] = byte
    try:
        audio.mp3_read(bytes(damaged))
        out = audio.mp3_write(bytes(damaged), LABEL)
    except ContainerError:
        return
    # whatever the damage, a file that could be written carries exactly the new label
    assert [p.raw for p in audio.mp3_read(out)] == [LABEL]
