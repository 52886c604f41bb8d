"""LBL-11 for labels of other designs: `label verify` reads an image without hegui's corner plate by OCR
and finds a third party's "AI生成" banner, measuring its line height against 5 % of the shortest side, with each OCR engine (rapidocr, the default,
and tesseract). An engine's cases skip when it is not installed; all skip without the CJK font."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.label.config import LabelPolicy
from hegui.label.verify import verify_bytes
from hegui.media.engines import available

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
pytestmark = pytest.mark.skipif(not FONT.exists(), reason="fonts-noto-cjk is not installed")


@pytest.fixture(params=["rapidocr", "tesseract"])
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if available(name) is not None:
        pytest.skip(f"{name} is not installed: {available(name)}")
    return name


def banner(text: str, px: int) -> bytes:
    """A 800×600 picture with a centred, rounded, semi-transparent banner at the bottom: not hegui's
    corner plate (that needs a dark plate touching a corner)."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (800, 600), (120, 170, 120))
    draw = ImageDraw.Draw(img, "RGBA")
    draw.ellipse((250, 100, 550, 400), fill=(200, 80, 60))
    font = ImageFont.truetype(str(FONT), px)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = (800 - (right - left)) // 2, 600 - (bottom - top) - 60
    draw.rounded_rectangle(
        (x - 20, y - 12, x + right - left + 20, y + bottom - top + 24), 12, fill=(255, 255, 255, 220)
    )
    draw.text((x - left, y - top), text, font=font, fill=(30, 30, 160))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def lbl11(data: bytes, *, ocr: bool, engine: str = "rapidocr") -> tuple[bool, str]:
    report = verify_bytes(data, "x.png", LabelPolicy(), ocr=ocr, ocr_engine=engine)
    (result,) = [r for r in report.results if r.requirement == "LBL-11"]
    return result.passed, result.reason


def test_a_third_party_banner_is_recognized(engine: str) -> None:
    data = banner("本图由AI生成", 40)  # 40 px text on a 600 px side: about 7 %
    assert not lbl11(data, ocr=False)[0]  # hegui's own plate is not there
    passed, reason = lbl11(data, ocr=True, engine=engine)
    assert passed and f"read by OCR ({engine})" in reason
    height = int(reason.split("line height ")[1].split(" px")[0])
    if engine == "rapidocr":  # its line box is the ink's height within a few px (40 px type: 38 px of ink)
        assert 36 <= height <= 44, reason


def test_a_too_small_banner_fails_with_its_measure(engine: str) -> None:
    passed, reason = lbl11(banner("AI生成", 18), ocr=True, engine=engine)
    assert not passed and "read by OCR" in reason and "(≥ 5 %)" in reason


def test_a_picture_without_label_text_fails(engine: str) -> None:
    passed, reason = lbl11(banner("周末愉快", 40), ocr=True, engine=engine)
    assert not passed and "no AI-content label text" in reason


def test_a_missing_engine_is_named_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    from hegui.media import rapidocr

    monkeypatch.setattr(rapidocr, "find_spec", lambda _name: None)
    passed, reason = lbl11(banner("本图由AI生成", 40), ocr=True, engine="rapidocr")
    assert (
        not passed and "labels of other designs not read" in reason and "pip install 'hegui[ocr]'" in reason
    )


def test_label_verify_reads_other_designs(tmp_path: Path) -> None:
    path = tmp_path / "third-party.png"
    path.write_bytes(banner("本图由AI生成", 40))
    env = {"HEGUI_POLICY_FILE": ""}
    out = CliRunner().invoke(app, ["label", "verify", "--no-explicit", str(path)], env=env)
    assert "LBL-11" not in out.output or "read by OCR" not in out.output  # --no-explicit: not asked
    out = CliRunner().invoke(app, ["label", "verify", str(path)], env=env)
    assert "read by OCR (rapidocr)" in out.output  # the default engine
    if available("tesseract") is None:
        out = CliRunner().invoke(app, ["label", "verify", "--ocr-engine", "tesseract", str(path)], env=env)
        assert "read by OCR (tesseract)" in out.output
    out = CliRunner().invoke(app, ["label", "verify", "--ocr-engine", "nope", str(path)], env=env)
    assert out.exit_code != 0 and "rapidocr or tesseract" in out.output
    out = CliRunner().invoke(app, ["label", "verify", "--no-ocr", str(path)], env=env)
    assert "read by OCR" not in out.output and "no visible label found" in out.output
