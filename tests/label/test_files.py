"""Round trips through `label_bytes` / `read_labels` for every format, and the verifier on the results."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hegui.errors import UnsupportedMediaType
from hegui.label import files, text
from hegui.label.config import LabelPolicy
from hegui.label.implicit import AigcLabel
from hegui.label.verify import verify_bytes

KINDS = ["png", "jpeg", "webp", "mp3", "wav", "flac", "ogg", "mp4", "mov", "pdf", "docx", "md"]


@pytest.mark.parametrize("kind", KINDS)
def test_explicit_and_implicit_round_trip(kind: str, labelled: dict[str, tuple[AigcLabel, bytes]]) -> None:
    label, data = labelled[kind]
    found = files.read_labels(data, kind)
    assert len(found) == 1
    assert found[0].values == label.as_dict()
    assert found[0].carrier.startswith(files.CARRIER[kind])


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp", "mp3", "wav", "flac", "ogg", "pdf", "docx", "md"])
def test_implicit_only_twice_keeps_one_label(kind: str, media: dict[str, bytes], policy: LabelPolicy) -> None:
    first = AigcLabel.first_write(policy.producer, "id-1")
    second = AigcLabel.first_write(policy.producer, "id-2")
    once = files.label_bytes(media[kind], kind, first, explicit=False, policy=policy)
    twice = files.label_bytes(once, kind, second, explicit=False, policy=policy)
    found = files.read_labels(twice, kind)
    assert [p.values["ProduceID"] for p in found] == ["id-2"]


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp"])
def test_implicit_only_leaves_pixels_alone(kind: str, media: dict[str, bytes], policy: LabelPolicy) -> None:
    label = AigcLabel.first_write(policy.producer, "id-px")
    out = files.label_bytes(media[kind], kind, label, explicit=False, policy=policy)
    with Image.open(io.BytesIO(media[kind])) as a, Image.open(io.BytesIO(out)) as b:
        assert a.convert("RGB").tobytes() == b.convert("RGB").tobytes()


@pytest.mark.parametrize("kind", KINDS)
def test_verify_passes_on_labelled_files(
    kind: str, labelled: dict[str, tuple[AigcLabel, bytes]], policy: LabelPolicy
) -> None:
    _, data = labelled[kind]
    report = verify_bytes(data, f"x.{kind}", policy)
    assert report.passed, [r for r in report.results if not r.passed]
    ids = {r.requirement for r in report.results}
    assert {"LBL-01", "LBL-02", "LBL-03", "LBL-04", "LBL-05", "LBL-07", "LBL-08"} <= ids
    explicit_id = {
        "png": "LBL-11",
        "jpeg": "LBL-11",
        "webp": "LBL-11",
        "mp4": "LBL-12",
        "mov": "LBL-12",
        "mp3": "LBL-13",
        "wav": "LBL-13",
        "flac": "LBL-13",
        "ogg": "LBL-13",
    }.get(kind, "LBL-14")
    assert explicit_id in ids


@pytest.mark.parametrize("kind", ["png", "mp4", "wav", "md"])
def test_verify_fails_on_unlabelled_files(kind: str, media: dict[str, bytes], policy: LabelPolicy) -> None:
    report = verify_bytes(media[kind], f"x.{kind}", policy)
    assert "LBL-01" in report.failed()


def test_plain_text_gets_the_explicit_label_only(media: dict[str, bytes], policy: LabelPolicy) -> None:
    label = AigcLabel.first_write(policy.producer, "id-txt")
    out = files.label_bytes(media["txt"], "a.txt", label, explicit=True, policy=policy).decode()
    assert out.rstrip().endswith("【AI生成】")
    assert "end" in text.explicit_positions(out, policy.bracketed)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.JPG", "jpeg"),
        ("image/png", "png"),
        ("b.markdown", "md"),
        ("video/quicktime", "mov"),
        ("audio/mpeg", "mp3"),
        ("x.docx", "docx"),
    ],
)
def test_kind_of(name: str, kind: str) -> None:
    assert files.kind_of(name) == kind


def test_kind_of_sniffs_and_refuses() -> None:
    assert files.kind_of("upload", b"\x89PNG\r\n\x1a\n....") == "png"
    with pytest.raises(UnsupportedMediaType):
        files.kind_of("archive.zip", b"PK\x03\x04")
