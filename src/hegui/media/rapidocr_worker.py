"""The child process that runs rapidocr-onnxruntime for `hegui.media.rapidocr.RapidOcr`.

Run as a script (``python -I rapidocr_worker.py``), not imported by the gateway: onnxruntime and OpenCV
are native code, and a reading that crashes or hangs in them must cost this process, not a gateway
worker. It needs only the standard library, numpy and rapidocr-onnxruntime (whose models ship inside its
wheel: nothing is downloaded), and it reads on one thread (the benchmark's setting).

Protocol, over stdin/stdout, every message a frame (4-byte big-endian length, then the bytes):
- first, out: ``{"ready": version, "models": [paths]}`` once the models are loaded (or ``{"error": "…"}``
  when the engine cannot load: a missing native library, a damaged model; then it exits);
- in: a JSON header ``{"width": w, "height": h}``, then a frame of ``w × h × 3`` bytes (RGB rows);
- out: ``{"lines": [{"text", "points": [[x, y] × 4], "score"}], "seconds"}`` or ``{"error": "…"}``.
The process ends when stdin closes (its parent is gone or done).
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time
from typing import Any, BinaryIO

_LENGTH = struct.Struct(">I")


def read_frame(stream: BinaryIO) -> bytes | None:
    """One frame, or None at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (n,) = _LENGTH.unpack(head)
    body = stream.read(n)
    return body if len(body) == n else None


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def _answer(engine: Any, header: dict[str, Any], pixels: bytes) -> dict[str, Any]:
    import numpy as np

    width, height = int(header["width"]), int(header["height"])
    if len(pixels) != width * height * 3:
        return {"error": "the pixels do not match the declared size"}
    rgb = np.frombuffer(pixels, dtype=np.uint8).reshape(height, width, 3)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # an array is taken as OpenCV's BGR
    started = time.perf_counter()
    result, _elapsed = engine(bgr)
    seconds = time.perf_counter() - started
    lines = [
        {"text": str(text), "points": [[float(x), float(y)] for x, y in points], "score": float(score)}
        for points, text, score in (result or [])
    ]
    return {"lines": lines, "seconds": seconds}


def main() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything the engine prints must not corrupt the frames
    from importlib.metadata import version
    from pathlib import Path

    try:
        import cv2
        import rapidocr_onnxruntime
        from rapidocr_onnxruntime import RapidOCR

        cv2.setNumThreads(1)
        engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    except Exception as exc:  # e.g. OpenCV without libGL.so.1: said in the first frame, then exit
        write_frame(stdout, json.dumps({"error": f"{type(exc).__name__}: {exc}"[:500]}).encode())
        sys.exit(1)
    models = sorted(str(p) for p in (Path(rapidocr_onnxruntime.__file__).parent / "models").glob("*.onnx"))
    ready = {"ready": version("rapidocr-onnxruntime"), "models": models}
    write_frame(stdout, json.dumps(ready).encode())
    while (header := read_frame(stdin)) is not None:
        pixels = read_frame(stdin)
        if pixels is None:
            break
        try:
            answer = _answer(engine, json.loads(header), pixels)
        except Exception as exc:  # a failed reading is answered; the parent refuses the image
            answer = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        write_frame(stdout, json.dumps(answer, ensure_ascii=False).encode())


if __name__ == "__main__":
    main()
