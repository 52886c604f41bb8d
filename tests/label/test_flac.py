"""The hand-written FLAC carrier: files ffmpeg writes, labels ffmpeg and ffprobe read back, the audio
decoding to the same samples, and malformed metadata."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from hegui.label import audio, flac, vorbiscomment
from hegui.label.images import ContainerError

LABEL = json.dumps({"Label": "1", "ContentProducer": "p", "ProduceID": "i"})


def _run(*args: str) -> bytes:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    return subprocess.run(command, check=True, capture_output=True, timeout=60).stdout


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("flac") / "a.flac"
    _run(
        *("-f", "lavfi", "-i", "sine=frequency=440:duration=0.3", "-c:a", "flac"),
        *("-metadata", "title=tone", "-metadata", "AIGC=" + LABEL, str(out)),
    )
    return out.read_bytes()


def _pcm(data: bytes, tmp: Path) -> bytes:
    path = tmp / "in.flac"
    path.write_bytes(data)
    return _run("-i", str(path), "-f", "s16le", "-")


def test_reads_the_label_ffmpeg_wrote(sample: bytes) -> None:
    assert [(p.carrier, p.raw) for p in audio.vorbis_read(sample, "flac")] == [
        ("flac:VorbisComment:AIGC", LABEL)
    ]


def test_replaces_it_and_keeps_the_rest(sample: bytes, tmp_path: Path, ffprobe: str) -> None:
    new = LABEL.replace('"i"', '"生成-2"')
    out = audio.vorbis_write(sample, new, "flac")
    assert [p.raw for p in audio.vorbis_read(out, "flac")] == [new]
    _, old_blocks, old_audio = flac.split(sample)
    _, blocks, new_audio = flac.split(out)
    assert new_audio == old_audio
    assert [k for k, _ in blocks] == [k for k, _ in old_blocks]
    assert len(out) == len(sample)  # the padding block took up the difference
    keys = [k for k, _ in flac.comments(out)[0].items()]
    assert sorted(keys) == sorted(k for k, _ in flac.comments(sample)[0].items())
    assert _pcm(out, tmp_path) == _pcm(sample, tmp_path)
    path = tmp_path / "out.flac"
    path.write_bytes(out)
    done = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    tags = json.loads(done.stdout)["format"]["tags"]
    assert tags["AIGC"] == new
    assert {k.lower(): v for k, v in tags.items()}["title"] == "tone"


def _without(data: bytes, kinds: set[int]) -> bytes:
    prefix, blocks, frames = flac.split(data)
    kept = [(k, b) for k, b in blocks if k not in kinds]
    body = b"".join(
        bytes([(0x80 if i == len(kept) - 1 else 0) | k]) + len(b).to_bytes(3, "big") + b
        for i, (k, b) in enumerate(kept)
    )
    return prefix + b"fLaC" + body + frames


def test_a_file_without_comments_or_padding_gets_a_comment_block(sample: bytes, tmp_path: Path) -> None:
    bare = _without(sample, {flac.VORBIS_COMMENT, flac.PADDING})
    assert audio.vorbis_read(bare, "flac") == []
    out = audio.vorbis_write(bare, LABEL, "flac")
    _, blocks, _ = flac.split(out)
    assert [k for k, _ in blocks][:2] == [flac.STREAMINFO, flac.VORBIS_COMMENT]
    assert [p.raw for p in audio.vorbis_read(out, "flac")] == [LABEL]
    assert _pcm(out, tmp_path) == _pcm(sample, tmp_path)


def test_an_id3_tag_before_flac_is_kept(sample: bytes) -> None:
    id3_tag = b"ID3\x03\x00\x00\x00\x00\x00\x0aTIT2\x00\x00\x00\x00\x00\x00"
    out = audio.vorbis_write(id3_tag + sample, LABEL.replace("i", "j"), "flac")
    assert out.startswith(id3_tag + b"fLaC")
    assert len(audio.vorbis_read(out, "flac")) == 1


def test_labels_in_a_second_comment_block_are_removed(sample: bytes) -> None:
    prefix, blocks, frames = flac.split(sample)
    extra = vorbiscomment.build(vorbiscomment.VorbisComment(b"x", (b"aigc=old", b"OTHER=kept")))
    blocks.append((flac.VORBIS_COMMENT, extra))
    body = b"".join(
        bytes([(0x80 if i == len(blocks) - 1 else 0) | k]) + len(b).to_bytes(3, "big") + b
        for i, (k, b) in enumerate(blocks)
    )
    doubled = prefix + b"fLaC" + body + frames
    assert len(audio.vorbis_read(doubled, "flac")) == 2
    out = audio.vorbis_write(doubled, LABEL, "flac")
    assert [p.raw for p in audio.vorbis_read(out, "flac")] == [LABEL]
    assert ("OTHER", "kept") in flac.comments(out)[1].items()


def _damage(sample: bytes, name: str) -> bytes:
    if name == "no marker":
        return b"RIFF" + sample[4:]
    if name == "truncated metadata":
        return sample[:40]
    if name == "no STREAMINFO first":
        return _without(sample, {flac.STREAMINFO})
    if name == "block type 127":
        return sample[:4] + b"\xff" + sample[5:]
    if name == "comment count too large":
        comment = vorbiscomment.build(vorbiscomment.VorbisComment(b"x", ()))[:-4] + b"\xff\xff\xff\x00"
        return sample[:42] + b"\x84" + len(comment).to_bytes(3, "big") + comment
    if name == "ID3 size not sync-safe":
        return b"ID3\x03\x00\x00\x00\x00\x00\xff" + sample
    raise AssertionError(name)


@pytest.mark.parametrize(
    "name",
    [
        "no marker",
        "truncated metadata",
        "no STREAMINFO first",
        "block type 127",
        "comment count too large",
        "ID3 size not sync-safe",
    ],
)
def test_malformed_files_raise_container_error(name: str, sample: bytes) -> None:
    damaged = _damage(sample, name)
    with pytest.raises(ContainerError):
        audio.vorbis_read(damaged, "flac")
    with pytest.raises(ContainerError):
        audio.vorbis_write(damaged, LABEL, "flac")


@pytest.mark.parametrize(
    "block",
    [
        b"",
        b"\x05\x00\x00\x00ab",
        b"\x01\x00\x00\x00a\x02\x00\x00\x00",
        b"\x00\x00\x00\x00\x01\x00\x00\x00\x09",
    ],
)
def test_truncated_comment_blocks_raise(block: bytes) -> None:
    with pytest.raises(ContainerError):
        vorbiscomment.parse(block)
