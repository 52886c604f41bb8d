"""OCR: the text drawn into an image, with the region of each line, so that it can be inspected.

`OcrResult` is what every engine gives (`hegui.media.engines`: ``[media] ocr_engine``); this module
holds it and the tesseract engine. The default engine is rapidocr-onnxruntime in a child process
(`hegui.media.rapidocr`): measured, it reads in one pass what tesseract needs a pyramid of three
readings for, in less than half the time (RESULTS.md, "ocr").

Tesseract: Debian's ``tesseract`` (packages ``tesseract-ocr`` and ``tesseract-ocr-chi-sim``) driven by
pytesseract (the ``[ocr]`` extra). pytesseract runs the ``tesseract`` program once per image: nothing is
downloaded at run time (the language data comes with the Debian package), a crash of the engine cannot
take the gateway down, and a stuck run is killed at ``timeout``. tesserocr (an in-process binding) was
the other maintained wrapper; its wheel bundles its own libtesseract instead of using the system's.

Fail closed: anything that goes wrong (no engine, an unreadable image, a timeout) raises `OcrFailed`, a
`CheckFailed`, and the gateway refuses instead of passing the image unread.
"""

from __future__ import annotations

import io
import shutil
import time
from dataclasses import dataclass
from typing import Any

from hegui.errors import CheckFailed


class OcrFailed(CheckFailed):
    """The image could not be read; its text is unknown, so it is not passed."""


@dataclass(frozen=True, slots=True)
class Box:
    """A region of the image, in pixels of the image as given."""

    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class OcrLine:
    text: str
    box: Box
    confidence: float  # mean word confidence, 0 to 100


@dataclass(frozen=True, slots=True)
class OcrResult:
    lines: tuple[OcrLine, ...]  # every distinct line of every pass
    seconds: float
    passes: tuple[str, ...] = ()  # the text of each pass, for measurement

    @property
    def text(self) -> str:
        """The recognized text, a line per line (what the checks read)."""
        return "\n".join(line.text for line in self.lines)

    def region_of(self, start: int, end: int) -> list[Box]:
        """The boxes of the lines that the span [start, end) of `text` touches: where a finding is."""
        out, pos = [], 0
        for line in self.lines:
            stop = pos + len(line.text)
            if start < stop and pos < end:
                out.append(line.box)
            pos = stop + 1
        return out


def available() -> str | None:
    """Why OCR cannot run here, or None when it can."""
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return "the [ocr] extra is not installed (pip install 'hegui[ocr]')"
    if shutil.which("tesseract") is None:
        return "the tesseract program is not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)"
    return None


class TesseractOcr:
    """Read images with tesseract. ``languages``: tesseract's ``-l`` (``chi_sim+eng``)."""

    def __init__(
        self,
        languages: str = "chi_sim+eng",
        *,
        timeout: float = 20.0,
        max_side: int = 2048,
        scales: tuple[float, ...] = (1.0, 0.5, 0.25),
        modes: tuple[int, ...] = (11,),
    ) -> None:
        self.languages = languages
        self.timeout = timeout
        self.max_side = max_side
        self.scales = scales
        #: Tesseract page segmentation modes, each run at every scale: 11 (sparse text, the default)
        #: finds scattered lines; 6 (one uniform block) reads a caption that 11's layout analysis misses
        #: next to large shapes.
        self.modes = modes

    def check(self) -> None:
        """Raise OcrFailed when the engine or a language is missing (at start-up, not per request)."""
        why = available()
        if why is not None:
            raise OcrFailed(f"OCR is not available: {why}")
        import pytesseract

        try:
            installed = set(pytesseract.get_languages(config=""))
        except (OSError, RuntimeError, pytesseract.TesseractError) as exc:
            raise OcrFailed(f"OCR is not available: {type(exc).__name__}") from None
        missing = [lang for lang in self.languages.split("+") if lang not in installed]
        if missing:
            raise OcrFailed(f"OCR languages not installed: {', '.join(missing)}")

    def read(self, data: bytes) -> OcrResult:
        """The lines of text in the image ``data`` (PNG, JPEG, WebP, …). Raises OcrFailed."""
        started = time.perf_counter()
        try:
            import pytesseract  # noqa: F401  (used in _pass; a missing extra fails here)
        except ImportError as exc:
            raise OcrFailed(f"OCR is not available: {exc.name} is not installed") from None
        image, scale = decode(data, self.max_side, "L")
        # Tesseract's models read best at a text height of about 20 to 35 px (measured: a 48 px line
        # misreads characters that the same line at 24 px reads right, and 72 px lines are mostly
        # lost). The image is read at each of ``scales`` (a pyramid: 1, ½, ¼ by default) and every
        # reading is kept: the checks see them all, so a misread at one scale cannot hide a term
        # another scale reads. A scale that would leave the shorter side under 128 px is skipped.
        lines: list[OcrLine] = []
        passes: list[str] = []
        seen: set[str] = set()
        for factor in self.scales:
            if factor != 1.0 and min(image.size) * factor < _MIN_SIDE:
                continue
            scaled = (
                image
                if factor == 1.0
                else image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))))
            )
            for mode in self.modes:
                found = self._pass(scaled, scale * factor, mode)
                passes.append("\n".join(x.text for x in found))
                for x in found:
                    if x.text not in seen:
                        seen.add(x.text)
                        lines.append(x)
        return OcrResult(tuple(lines), time.perf_counter() - started, tuple(passes))

    def _pass(self, image: Any, scale: float, mode: int = 11) -> tuple[OcrLine, ...]:
        import pytesseract

        try:
            data = pytesseract.image_to_data(
                image,
                lang=self.languages,
                config=f"--psm {mode}",
                timeout=self.timeout,
                output_type=pytesseract.Output.DICT,
            )
        except RuntimeError as exc:  # pytesseract's timeout
            raise OcrFailed(f"OCR did not finish within {self.timeout:g}s ({exc})") from None
        except (OSError, pytesseract.TesseractError, pytesseract.TesseractNotFoundError) as exc:
            raise OcrFailed(f"OCR failed ({type(exc).__name__})") from None
        return _lines(data, scale)


def decode(data: bytes, max_side: int, mode: str) -> tuple[Any, float]:
    """The image ``data`` decoded to the Pillow ``mode`` (``L``, ``RGB``) and scaled down to
    ``max_side``, with the scale applied (boxes are divided by it). Raises OcrFailed."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:
        raise OcrFailed(f"OCR is not available: {exc.name} is not installed") from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            image = img.convert(mode)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise OcrFailed(f"the image could not be decoded for OCR ({type(exc).__name__})") from None
    scale = 1.0
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    return image, scale


#: The smallest shorter side (pixels) a scaled pass is read at.
_MIN_SIDE = 128


def _lines(d: dict[str, list[object]], scale: float) -> tuple[OcrLine, ...]:
    """Words grouped into lines (tesseract's block, paragraph, line numbers), boxes in the image's own
    pixels. Chinese words come with spaces between characters; the checks' normalizer drops them."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, word in enumerate(d["text"]):
        if not str(word).strip():
            continue
        key = (int(str(d["block_num"][i])), int(str(d["par_num"][i])), int(str(d["line_num"][i])))
        groups.setdefault(key, []).append(i)
    out = []
    for idx in groups.values():
        words = [str(d["text"][i]).strip() for i in idx]
        left = min(int(str(d["left"][i])) for i in idx)
        top = min(int(str(d["top"][i])) for i in idx)
        right = max(int(str(d["left"][i])) + int(str(d["width"][i])) for i in idx)
        bottom = max(int(str(d["top"][i])) + int(str(d["height"][i])) for i in idx)
        conf = [float(str(d["conf"][i])) for i in idx if float(str(d["conf"][i])) >= 0]
        text = "".join(_join(words))
        box = Box(
            round(left / scale),
            round(top / scale),
            round((right - left) / scale),
            round((bottom - top) / scale),
        )
        out.append(OcrLine(text, box, sum(conf) / len(conf) if conf else 0.0))
    return tuple(out)


def _join(words: list[str]) -> list[str]:
    """Words joined with a space only between two Latin words (``hello world``, ``演示违禁词``)."""
    out: list[str] = []
    for w in words:
        if out and out[-1][-1:].isascii() and out[-1][-1:].isalnum() and w[:1].isascii() and w[:1].isalnum():
            out.append(" ")
        out.append(w)
    return out
