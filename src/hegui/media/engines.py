"""The OCR engines hegui can run, chosen by ``[media] ocr_engine``: ``rapidocr`` (the default:
rapidocr-onnxruntime in a child process, `hegui.media.rapidocr`) or ``tesseract`` (Debian's tesseract, a
process per reading, `hegui.media.ocr.TesseractOcr`). Both give the same `OcrResult` (lines with boxes in
the image's pixels) and fail closed with `OcrFailed`.

Engines are shared per process (`shared`): rapidocr's child loads its models once (about 1 s) and
serves every later reading of the process.
"""

from __future__ import annotations

import functools
from typing import Literal, Protocol

from hegui.media.ocr import OcrResult, TesseractOcr

EngineName = Literal["tesseract", "rapidocr"]
ENGINES: tuple[EngineName, ...] = ("rapidocr", "tesseract")


class OcrEngine(Protocol):
    def check(self) -> None: ...

    def read(self, data: bytes) -> OcrResult: ...


def available(name: str) -> str | None:
    """Why the engine ``name`` cannot run here, or None when it can."""
    if name == "rapidocr":
        from hegui.media import rapidocr

        return rapidocr.available()
    if name == "tesseract":
        from hegui.media import ocr

        return ocr.available()
    return f"unknown OCR engine {name!r} (one of {', '.join(ENGINES)})"


def shared(
    name: str,
    *,
    languages: str = "chi_sim+eng",
    timeout: float = 20.0,
    max_side: int = 2048,
    scales: tuple[float, ...] = (1.0, 0.5, 0.25),
    modes: tuple[int, ...] = (11,),
) -> OcrEngine:
    """The process's engine for these settings. ``languages``, ``scales`` and ``modes`` are
    tesseract's: rapidocr reads Chinese and Latin text in one pass at the image's own size, and one
    child serves every caller with the same timeout and size limit (the gateway's images and the
    console's label check alike)."""
    if name == "rapidocr":
        return _rapidocr(timeout, max_side)
    if name == "tesseract":
        return _tesseract(languages, timeout, max_side, scales, modes)
    raise ValueError(f"unknown OCR engine {name!r}")


@functools.lru_cache(maxsize=4)
def _rapidocr(timeout: float, max_side: int) -> OcrEngine:
    from hegui.media.rapidocr import RapidOcr

    return RapidOcr(timeout=timeout, max_side=max_side)


@functools.lru_cache(maxsize=8)
def _tesseract(
    languages: str, timeout: float, max_side: int, scales: tuple[float, ...], modes: tuple[int, ...]
) -> OcrEngine:
    return TesseractOcr(languages, timeout=timeout, max_side=max_side, scales=scales, modes=modes)
