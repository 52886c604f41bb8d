"""Readers no one here wrote confirm the labels: exiftool, ffprobe and the C2PA library."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from hegui.label import files, provenance
from hegui.label.config import LabelPolicy
from hegui.label.files import C2paPem
from hegui.label.implicit import AigcLabel


def _exif(exiftool: str, path: Path, *tags: str) -> dict[str, object]:
    done = subprocess.run(
        [exiftool, "-j", "-G1", "-u", "-b", *tags, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(done.stdout)[0]
    return result


@pytest.mark.parametrize(
    ("kind", "tag"),
    [
        ("png", "XMP-TC260:AIGC"),
        ("jpeg", "XMP-TC260:AIGC"),
        ("webp", "XMP-TC260:AIGC"),
        ("mp3", "ID3v2_4:UserDefinedText"),
        ("wav", "RIFF:Unknown_AIGC"),
        ("mp4", "Keys:AIGC"),
        ("mov", "Keys:AIGC"),
        ("flac", "Vorbis:Aigc"),
        ("ogg", "Vorbis:Aigc"),
        ("pdf", "PDF:AIGC"),
    ],
)
def test_exiftool_reads_the_label(
    kind: str, tag: str, exiftool: str, tmp_path: Path, labelled: dict[str, tuple[AigcLabel, bytes]]
) -> None:
    label, data = labelled[kind]
    path = tmp_path / f"x.{kind}"
    path.write_bytes(data)
    shown = {k.lower(): v for k, v in _exif(exiftool, path, f"-{tag}").items()}
    value = shown.get(tag.lower())
    assert isinstance(value, str), f"exiftool shows no {tag}"
    if value.startswith("base64:"):  # exiftool's JSON form of a chunk it has no name for
        # exiftool 12.57 includes the RIFF pad byte of an odd-sized chunk it has no name for
        value = base64.b64decode(value.removeprefix("base64:")).decode().rstrip("\x00")
    value = value.removeprefix("(AIGC) ")
    assert json.loads(value) == label.as_dict()


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp"])
def test_exiftool_reads_the_iptc_source_type(
    kind: str, exiftool: str, tmp_path: Path, labelled: dict[str, tuple[AigcLabel, bytes]]
) -> None:
    path = tmp_path / f"x.{kind}"
    path.write_bytes(labelled[kind][1])
    tags = _exif(exiftool, path, "-XMP-iptcExt:DigitalSourceType")
    assert str(tags["XMP-iptcExt:DigitalSourceType"]).endswith("/trainedAlgorithmicMedia")


@pytest.mark.parametrize("kind", ["mp4", "mov"])
def test_ffprobe_reads_the_mp4_key(
    kind: str, ffprobe: str, tmp_path: Path, labelled: dict[str, tuple[AigcLabel, bytes]]
) -> None:
    label, data = labelled[kind]
    path = tmp_path / f"x.{kind}"
    path.write_bytes(data)
    done = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(json.loads(done.stdout)["format"]["tags"]["AIGC"]) == label.as_dict()


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp", "mp3", "wav", "mp4"])
def test_c2pa_manifest_beside_the_gb_label(
    kind: str, media: dict[str, bytes], policy: LabelPolicy, c2pa_pem: C2paPem
) -> None:
    label = AigcLabel.first_write(policy.producer, f"c2pa-{kind}")
    out = files.label_bytes(media[kind], kind, label, explicit=False, policy=policy, c2pa=c2pa_pem)
    result = provenance.read(out, kind)
    assert result.present
    assert result.validation_state in ("Valid", "Trusted")
    assert result.created_ai
    # the library's only complaint about a certificate made for this test is that no one trusts it
    assert all(e.startswith("signingCredential.untrusted") for e in result.errors)
    assert [p.values for p in files.read_labels(out, kind)] == [label.as_dict()]


def test_c2pa_detects_a_changed_file(media: dict[str, bytes], policy: LabelPolicy, c2pa_pem: C2paPem) -> None:
    label = AigcLabel.first_write(policy.producer, "c2pa-tamper")
    out = bytearray(
        files.label_bytes(media["wav"], "wav", label, explicit=False, policy=policy, c2pa=c2pa_pem)
    )
    out[-10] ^= 0xFF  # a sample in the data chunk, covered by the manifest's hash
    result = provenance.read(bytes(out), "wav")
    assert result.present
    assert [e for e in result.errors if not e.startswith("signingCredential.untrusted")]


def test_no_manifest_reads_as_absent(media: dict[str, bytes]) -> None:
    assert not provenance.read(media["png"], "png").present
