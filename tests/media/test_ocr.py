"""OCR (tesseract through pytesseract): reads text drawn with the CJK font, maps spans to regions, and
fails closed. Skips when tesseract or its Chinese model is not installed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hegui.errors import ConfigError
from hegui.media.ocr import OcrFailed, TesseractOcr, available
from hegui.policy import parse_policy

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
pytestmark = pytest.mark.skipif(
    available() is not None or not FONT.exists(), reason=f"OCR or fonts-noto-cjk not installed: {available()}"
)


def picture(lines: list[str], size: int = 28) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (640, 360), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), size)
    for i, line in enumerate(lines):
        draw.text((30, 40 + 80 * i), line, font=font, fill="black")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def test_reads_lines_and_maps_spans_to_regions() -> None:
    r = TesseractOcr().read(picture(["春天来了", "演示违禁词"]))
    assert r.text.split("\n")[:2] == ["春天来了", "演示违禁词"]
    start = r.text.index("违禁")
    (box,) = r.region_of(start, start + 2)
    assert 100 <= box.top <= 140 and box.left < 60  # the second line, drawn at y = 120


def test_a_large_line_is_read_again_at_the_models_height() -> None:
    r = TesseractOcr().read(picture(["这里写着演示违禁词三个字"], size=48))
    assert "演示违禁词" in r.text


def test_fails_closed() -> None:
    with pytest.raises(OcrFailed, match="could not be decoded"):
        TesseractOcr().read(b"\x89PNG not an image")
    with pytest.raises(OcrFailed, match="did not finish"):
        TesseractOcr(timeout=0.001).read(picture(["春天来了"]))
    with pytest.raises(OcrFailed, match="not installed"):
        TesseractOcr("xx_nope").check()


def test_a_policy_asking_for_a_missing_ocr_language_is_refused() -> None:
    text = (
        '[[upstreams]]\nname = "u"\nbase_url = "http://127.0.0.1:9/v1"\nmodels = ["m"]\n'
        '[media]\nimage_parts = "ocr"\nocr_engine = "tesseract"\nocr_languages = "xx_nope"\n'
    )
    with pytest.raises(ConfigError, match="media"):
        parse_policy(text, "hegui.toml")
    assert parse_policy(text.replace("xx_nope", "chi_sim+eng"), "hegui.toml").media.image_parts == "ocr"
