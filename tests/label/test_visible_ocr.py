"""LBL-11 for labels of other designs: `label verify` reads an image without hegui's corner plate by OCR
and finds a third party's "AI生成" banner, measuring its line height against 5 % of the shortest side.
Skips when tesseract or the CJK font is not installed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.label.config import LabelPolicy
from hegui.label.verify import verify_bytes
from hegui.media.ocr import available

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
pytestmark = pytest.mark.skipif(
    available() is not None or not FONT.exists(), reason=f"OCR or fonts-noto-cjk not installed: {available()}"
)


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


def lbl11(data: bytes, *, ocr: bool) -> tuple[bool, str]:
    report = verify_bytes(data, "x.png", LabelPolicy(), ocr=ocr)
    (result,) = [r for r in report.results if r.requirement == "LBL-11"]
    return result.passed, result.reason


def test_a_third_party_banner_is_recognized() -> None:
    data = banner("本图由AI生成", 40)  # 40 px text on a 600 px side: about 7 %
    assert not lbl11(data, ocr=False)[0]  # hegui's own plate is not there
    passed, reason = lbl11(data, ocr=True)
    assert passed and "read by OCR" in reason


def test_a_too_small_banner_fails_with_its_measure() -> None:
    passed, reason = lbl11(banner("AI生成", 18), ocr=True)
    assert not passed and "read by OCR" in reason and "(≥ 5 %)" in reason


def test_a_picture_without_label_text_fails() -> None:
    passed, reason = lbl11(banner("周末愉快", 40), ocr=True)
    assert not passed and "no AI-content label text" in reason


def test_label_verify_reads_other_designs(tmp_path: Path) -> None:
    path = tmp_path / "third-party.png"
    path.write_bytes(banner("本图由AI生成", 40))
    env = {"HEGUI_POLICY_FILE": ""}
    out = CliRunner().invoke(app, ["label", "verify", "--no-explicit", str(path)], env=env)
    assert "LBL-11" not in out.output or "read by OCR" not in out.output  # --no-explicit: not asked
    out = CliRunner().invoke(app, ["label", "verify", str(path)], env=env)
    assert "read by OCR" in out.output
    out = CliRunner().invoke(app, ["label", "verify", "--no-ocr", str(path)], env=env)
    assert "read by OCR" not in out.output and "no visible label found" in out.output
