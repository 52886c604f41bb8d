"""rapidocr-onnxruntime as a child process of ocr_bench.py (``--rapidocr-python``), run by an interpreter
that has it installed (it is not one of hegui's dependencies: the benchmark compares it, hegui does not
use it). Pinned to one core (sched_setaffinity, onnxruntime with one thread), like tesseract there.

Protocol: one JSON object per line on stdin, ``{"png": base64}``; one per line on stdout,
``{"lines": [...], "seconds": s}`` (the time of the OCR call alone). The first line out says
``{"ready": version, "models": [...], "installed_mb": {...}}`` once the engine is loaded from the
models inside its wheel (and how large it and its native dependencies are installed).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path


def main() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import rapidocr_onnxruntime  # type: ignore[import-not-found]
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-not-found]

    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    here = Path(rapidocr_onnxruntime.__file__).parent
    models = sorted(p.name for p in (here / "models").glob("*.onnx"))
    site = here.parent
    installed = {
        name: sum(f.stat().st_size for f in (site / name).rglob("*") if f.is_file()) / 1e6
        for name in ("rapidocr_onnxruntime", "onnxruntime", "cv2")
        if (site / name).is_dir()
    }
    ready = {"ready": version("rapidocr-onnxruntime"), "models": models, "installed_mb": installed}
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        data = base64.b64decode(json.loads(line)["png"])
        started = time.perf_counter()
        result, _elapsed = engine(data)
        seconds = time.perf_counter() - started
        texts = [str(r[1]) for r in (result or [])]
        print(json.dumps({"lines": texts, "seconds": seconds}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
