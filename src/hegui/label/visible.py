"""Visible labels on images and video frames (GB 5.2, 5.4): render, and measure on the rendered pixels.

The label is a dark plate flush with one corner, holding the wording in light text whose *ink* height is at
least the policy's share of the shortest side (≥ 5 %). `measure` finds such a plate in any corner of an
image and measures the ink height it holds; that is how `hegui label verify` checks LBL-11 and LBL-12
without trusting what the writer claimed. It recognises hegui-style plates (dark plate, light text, flush
with a corner); it is not OCR, and says "no visible label found" for any other design. Nothing here
paints over or removes a label.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from hegui.errors import ConfigError

PLATE = (24, 24, 24)
INK = (255, 255, 255)
_DARK = 80  # a plate pixel, after lossy compression
_INK_LUMA = 128
_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
Corner = str  # "top-left" | "top-right" | "bottom-left" | "bottom-right"
CORNERS: tuple[Corner, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")


@dataclass(frozen=True)
class LabelMeasure:
    """A visible label found on an image: its corner, plate box and measured text (ink) height."""

    corner: Corner
    box: tuple[int, int, int, int]
    text_height: int
    shortest_side: int

    @property
    def ratio(self) -> float:
        return self.text_height / self.shortest_side


@lru_cache(maxsize=4)
def find_font(configured: str = "") -> str:
    """A font file with CJK glyphs: the configured one, a known Debian path, or fc-match's answer."""
    if configured:
        if not Path(configured).is_file():
            raise ConfigError("font file not found", key="labels.font_file")
        return configured
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    try:
        answer = subprocess.run(
            ["fc-match", "-f", "%{file}", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        answer = ""
    if answer and Path(answer).is_file():
        return answer
    raise ConfigError(
        "no CJK font for visible labels: install fonts-noto-cjk (apt-get install fonts-noto-cjk) "
        "or set labels.font_file",
        key="labels.font_file",
    )


@lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _fit(text: str, font_path: str, target: int) -> tuple[ImageFont.FreeTypeFont, tuple[int, int, int, int]]:
    # Pillow types getbbox as floats; a FreeType font at an integer size returns whole pixels.
    """The smallest font whose ink height for ``text`` is at least ``target`` pixels."""
    size = max(4, int(target * 0.95))
    for _ in range(64):
        font = _font(font_path, size)
        bbox = tuple(int(v) for v in font.getbbox(text))
        if bbox[3] - bbox[1] >= target:
            return font, (bbox[0], bbox[1], bbox[2], bbox[3])
        size += max(1, size // 20)
    raise ConfigError("cannot size the label font", key="labels.font_file")


def render_plate(
    size: tuple[int, int], text: str, *, ratio: float, corner: Corner, font_file: str = ""
) -> Image.Image:
    """A transparent RGBA layer of ``size`` holding the label plate (for images and video overlays)."""
    width, height = size
    # One pixel above the share, and never below 10 px: anti-aliased edges lose about a pixel to
    # compression, and a smaller label is not legible.
    target = max(10, math.ceil(ratio * min(width, height)) + 1)
    font, bbox = _fit(text, find_font(font_file), target)
    ink_w, ink_h = bbox[2] - bbox[0], bbox[3] - bbox[1]
    pad = max(3, ink_h // 3)
    border = max(2, ink_h // 12)
    plate_w, plate_h = min(width, ink_w + 2 * pad), min(height, ink_h + 2 * pad)
    left = 0 if corner.endswith("left") else width - plate_w
    top = 0 if corner.startswith("top") else height - plate_h
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    # A light border on the two inner sides separates the plate from dark content next to it.
    draw.rectangle(
        (left - border, top - border, left + plate_w - 1 + border, top + plate_h - 1 + border),
        fill=(*INK, 255),
    )
    draw.rectangle((left, top, left + plate_w - 1, top + plate_h - 1), fill=(*PLATE, 255))
    draw.text((left + pad - bbox[0], top + pad - bbox[1]), text, font=font, fill=(*INK, 255))
    return layer


def draw_label(
    image: Image.Image, text: str, *, ratio: float, corner: Corner, font_file: str = ""
) -> Image.Image:
    """A copy of ``image`` with the label plate composited onto it."""
    layer = render_plate(image.size, text, ratio=ratio, corner=corner, font_file=font_file)
    base = image.convert("RGBA")
    base.alpha_composite(layer)
    return base if image.mode == "RGBA" else base.convert(image.mode if image.mode in ("RGB", "L") else "RGB")


def _run(gray: Image.Image, start: tuple[int, int], step: tuple[int, int], limit: int) -> int:
    x, y = start
    n = 0
    while n < limit and gray.getpixel((x, y)) < _DARK:  # type: ignore[operator]
        n += 1
        x += step[0]
        y += step[1]
    return n


def measure(image: Image.Image) -> LabelMeasure | None:
    """The biggest hegui-style label plate in a corner of ``image``, measured; None when there is none."""
    gray = image.convert("L")
    width, height = gray.size
    best: LabelMeasure | None = None
    for corner in CORNERS:
        x0 = 0 if corner.endswith("left") else width - 1
        y0 = 0 if corner.startswith("top") else height - 1
        dx = 1 if corner.endswith("left") else -1
        dy = 1 if corner.startswith("top") else -1
        plate_w = _run(gray, (x0, y0), (dx, 0), width)
        plate_h = _run(gray, (x0, y0), (0, dy), height)
        if plate_w < 8 or plate_h < 4:
            continue
        left = x0 if dx > 0 else x0 - plate_w + 1
        top = y0 if dy > 0 else y0 - plate_h + 1
        box = (left, top, left + plate_w, top + plate_h)
        ink = gray.crop(box).point(lambda v: 255 if v >= _INK_LUMA else 0)
        bbox = ink.getbbox()
        # A label plate holds a line of text inside a margin: this keeps dark image corners with
        # bright details from passing for a label.
        if (
            bbox is None
            or bbox[0] < 1
            or bbox[1] < 1
            or bbox[2] > plate_w - 1
            or bbox[3] > plate_h - 1
            or plate_w < plate_h
            or (bbox[3] - bbox[1]) < 0.4 * plate_h
        ):
            continue
        found = LabelMeasure(corner, box, bbox[3] - bbox[1], min(width, height))
        if best is None or found.text_height > best.text_height:
            best = found
    return best
