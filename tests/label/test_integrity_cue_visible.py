"""SM3withSM2 SecurityData, the Morse cue, and the visible label measured on rendered pixels."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hegui.label import audiocue, integrity, visible
from hegui.label.implicit import AigcLabel, parse_label
from hegui.label.xmp import build_packet, find_labels, merge_packet

CODE = "001191110102MACQD9K64010000"


def test_sm2_signature_verifies_and_detects_a_change() -> None:
    key = integrity.Sm2Key.generate()
    label = integrity.sign(AigcLabel.first_write(CODE, "sig-1"), key)
    assert parse_label(label.to_json(), "t").ok  # the SecurityData JSON satisfies the charset rule
    assert integrity.verify(label.as_dict()).valid
    assert integrity.verify(label.as_dict(), trusted_public=key.public).valid
    changed = label.as_dict() | {"ProduceID": "sig-2"}
    assert not integrity.verify(changed).valid
    other = integrity.Sm2Key.generate()
    assert not integrity.verify(label.as_dict(), trusted_public=other.public).valid


def test_no_security_data_is_reported_absent() -> None:
    check = integrity.verify(AigcLabel.first_write(CODE, "x").as_dict())
    assert not check.present and not check.valid


@pytest.mark.parametrize("position", ["start", "end"])
@pytest.mark.parametrize("kind", ["wav", "mp3", "ogg"])
def test_morse_cue_is_found_where_it_was_put(kind: str, position: str, media: dict[str, bytes]) -> None:
    out = audiocue.add_cue(media[kind], kind, position)
    found = audiocue.find_cue(out, kind)
    assert found is not None and found.position == position
    assert found.pause >= 0.3  # outside the content, not over it


@pytest.mark.parametrize("kind", ["wav", "flac"])
def test_no_cue_in_plain_audio(kind: str, media: dict[str, bytes]) -> None:
    assert audiocue.find_cue(media[kind], kind) is None


@pytest.mark.parametrize("corner", visible.CORNERS)
@pytest.mark.parametrize(
    ("size", "fmt"), [((1024, 1024), "PNG"), ((1280, 720), "JPEG"), ((300, 500), "WEBP")]
)
def test_rendered_label_measures_at_least_five_percent(size: tuple[int, int], fmt: str, corner: str) -> None:
    img = visible.draw_label(Image.new("RGB", size, (30, 30, 30)), "AI生成", ratio=0.05, corner=corner)
    buffer = io.BytesIO()
    img.save(buffer, fmt, **({"quality": 80} if fmt != "PNG" else {}))
    measured = visible.measure(Image.open(io.BytesIO(buffer.getvalue())))
    assert measured is not None and measured.corner == corner
    assert measured.ratio >= 0.05
    assert measured.ratio < 0.08  # the measure is of the text, not of the whole plate


def test_small_label_measures_below_five_percent() -> None:
    img = visible.draw_label(
        Image.new("RGB", (1000, 1000), (200, 200, 200)), "AI生成", ratio=0.02, corner="top-left"
    )
    measured = visible.measure(img)
    assert measured is not None and measured.ratio < 0.05


@pytest.mark.parametrize("color", [(0, 0, 0), (24, 24, 24), (255, 255, 255)])
def test_plain_images_have_no_label(color: tuple[int, int, int]) -> None:
    assert visible.measure(Image.new("RGB", (400, 300), color)) is None


def test_xmp_merge_keeps_other_properties_and_one_label() -> None:
    foreign = (
        build_packet("old")
        .decode()
        .replace(
            "<TC260:AIGC>",
            '<dc:title xmlns:dc="http://purl.org/dc/elements/1.1/">keep me</dc:title><TC260:AIGC>',
        )
        .encode()
    )
    merged = merge_packet(foreign, '{"Label":"1"}')
    assert find_labels(merged) == ['{"Label":"1"}']
    assert b"keep me" in merged


def test_a_signature_gmssl_cannot_verify_is_made_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """gmssl's point arithmetic fails for a few nonces: sign() must never hand out such a signature."""
    from dataclasses import asdict

    from gmssl import sm2

    from hegui.label.implicit import AigcLabel
    from hegui.label.integrity import Sm2Key, sign, verify

    real = sm2.CryptSM2.sign_with_sm3
    calls = []

    def first_one_broken(self: sm2.CryptSM2, data: bytes, k: str | None = None) -> str:
        calls.append(k)
        good = real(self, data, k)
        return "0" * len(good) if len(calls) == 1 else good

    monkeypatch.setattr(sm2.CryptSM2, "sign_with_sm3", first_one_broken)
    key = Sm2Key.generate()
    label = sign(AigcLabel("1", "hegui-test", "id-1"), key)
    assert len(calls) == 2 and calls[0] != calls[1]  # a new nonce the second time
    assert verify(asdict(label), trusted_public=key.public).valid


def test_signing_gives_up_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from gmssl import sm2

    from hegui.label.implicit import AigcLabel
    from hegui.label.integrity import Sm2Key, sign

    monkeypatch.setattr(sm2.CryptSM2, "sign_with_sm3", lambda self, data, k=None: "0" * 128)
    with pytest.raises(RuntimeError, match="SM2 signing failed"):
        sign(AigcLabel("1", "hegui-test", "id-1"), Sm2Key.generate())
