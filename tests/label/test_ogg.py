"""The hand-written Ogg carrier: Vorbis and Opus files ffmpeg writes, labels ffprobe reads back, page
checksums against a bit-by-bit reference, re-laid pages with renumbered sequences, the audio decoding to
the same samples, and malformed streams."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from hegui.label import audio, ogg
from hegui.label.images import ContainerError

LABEL = json.dumps({"Label": "1", "ContentProducer": "p", "ProduceID": "i"})
CODECS = {"vorbis": "libvorbis", "opus": "libopus"}


def _run(*args: str) -> bytes:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    return subprocess.run(command, check=True, capture_output=True, timeout=60).stdout


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("ogg")
    out = {}
    for codec, encoder in CODECS.items():
        path = tmp / f"a.{codec}.ogg"
        _run(
            *("-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", "-c:a", encoder),
            *("-metadata", "title=tone", "-metadata", "AIGC=" + LABEL, "-f", "ogg", str(path)),
        )
        out[codec] = path.read_bytes()
    return out


def _pcm(data: bytes, tmp: Path) -> bytes:
    path = tmp / "in.ogg"
    path.write_bytes(data)
    return _run("-i", str(path), "-f", "s16le", "-")


def _reference_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


@pytest.mark.parametrize("data", [b"", b"\x00", b"OggS", bytes(range(256)), b"\xff" * 1000])
def test_page_checksum_matches_the_bitwise_definition(data: bytes) -> None:
    assert ogg.crc32(data) == _reference_crc(data)


@pytest.mark.parametrize("codec", list(CODECS))
def test_pages_of_ffmpeg_output_serialise_to_the_same_bytes(codec: str, samples: dict[str, bytes]) -> None:
    pages = ogg.pages(samples[codec])
    assert len(pages) > 2
    assert all(page.to_bytes() == raw for page, raw in pages)


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("kind", ["ogg", "opus"])
def test_reads_the_label_ffmpeg_wrote(codec: str, kind: str, samples: dict[str, bytes]) -> None:
    # the codec comes from the first packet, whatever the file name says
    found = audio.vorbis_read(samples[codec], kind)
    assert [(p.carrier, p.raw) for p in found] == [(f"{kind}:VorbisComment:AIGC", LABEL)]


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("size", [100, 200_000])  # one header page, and more pages than before
def test_replaces_the_label_and_keeps_the_audio(
    codec: str, size: int, samples: dict[str, bytes], tmp_path: Path, ffprobe: str
) -> None:
    data = samples[codec]
    new = json.dumps({"Label": "1", "ContentProducer": "生成方", "ProduceID": "x" * size})
    out = audio.vorbis_write(data, new, "ogg")
    assert [p.raw for p in audio.vorbis_read(out, "ogg")] == [new]
    _, block = ogg.comment(out)
    assert [k.lower() for k, _ in block.items()].count("title") == 1
    pages = ogg.pages(out)
    assert all(page.to_bytes() == raw for page, raw in pages)  # every checksum is right
    assert [page.sequence for page, _ in pages] == list(range(len(pages)))
    old_pages = ogg.pages(data)
    if size > 70_000:
        assert len(pages) > len(old_pages)
    else:
        assert len(pages) == len(old_pages)
    # the audio pages carry the same packets, granules and flags
    old_audio = [
        (p.flags, p.granule, p.lacing, p.body)
        for p, _ in old_pages[len(ogg.headers(old_pages).page_indexes) :]
    ]
    skip = len(pages) - len(old_audio)
    assert [(p.flags, p.granule, p.lacing, p.body) for p, _ in pages[skip:]] == old_audio
    assert _pcm(out, tmp_path) == _pcm(data, tmp_path)
    path = tmp_path / "out.ogg"
    path.write_bytes(out)
    done = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "stream_tags", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(done.stdout)["streams"][0]["tags"]["AIGC"] == new


@pytest.mark.parametrize("codec", list(CODECS))
def test_twice_keeps_one_label(codec: str, samples: dict[str, bytes]) -> None:
    once = audio.vorbis_write(samples[codec], "first", "ogg")
    twice = audio.vorbis_write(once, LABEL, "ogg")
    assert [p.raw for p in audio.vorbis_read(twice, "ogg")] == [LABEL]


def _page(body_packets: list[bytes], flags: int = 0, sequence: int = 0) -> bytes:
    lacing = b""
    for packet in body_packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    return ogg.Page(flags, 0, 7, sequence, lacing, b"".join(body_packets)).to_bytes()


IDENT = b"\x01vorbis" + bytes(23)
COMMENT = b"\x03vorbis\x01\x00\x00\x00x\x00\x00\x00\x00\x01"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("not Ogg", b"RIFF" + bytes(40)),
        ("truncated page", _page([IDENT], flags=2)[:-5]),
        ("page version 1", _page([IDENT], flags=2)[:4] + b"\x01" + _page([IDENT], flags=2)[5:]),
        ("first page does not begin a stream", _page([IDENT]) + _page([COMMENT, b"\x05vorbis"], sequence=1)),
        ("unknown codec", _page([b"\x7fFLAC" + bytes(20)], flags=2)),
        ("headers missing", _page([IDENT], flags=2)),
        (
            "audio shares the header page",
            _page([IDENT], flags=2) + _page([COMMENT, b"\x05vorbis", b"a"], sequence=1),
        ),
        ("continued flag without a packet", _page([IDENT], flags=2) + _page([COMMENT], flags=1, sequence=1)),
        (
            "second packet not a comment",
            _page([IDENT], flags=2) + _page([b"\x05vorbis", COMMENT], sequence=1),
        ),
        ("junk after a page", _page([IDENT], flags=2) + b"junk"),
        (
            "truncated comment",
            _page([IDENT], flags=2) + _page([b"\x03vorbis\x09", b"\x05vorbis"], sequence=1),
        ),
    ],
)
def test_malformed_streams_raise_container_error(name: str, data: bytes) -> None:
    with pytest.raises(ContainerError):
        audio.vorbis_read(data, "ogg")
    with pytest.raises(ContainerError):
        audio.vorbis_write(data, LABEL, "ogg")


def test_a_well_formed_synthetic_stream_passes() -> None:
    # the control for the table above: the same pages, put together correctly, are accepted
    data = _page([IDENT], flags=2) + _page([COMMENT, b"\x05vorbis"], sequence=1) + _page([b"a"], sequence=2)
    out = audio.vorbis_write(data, LABEL, "ogg")
    assert [p.raw for p in audio.vorbis_read(out, "ogg")] == [LABEL]
    assert out.endswith(_page([b"a"], sequence=2))
