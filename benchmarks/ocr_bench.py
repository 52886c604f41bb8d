"""Benchmark: OCR of text drawn into images (hegui.media.ocr: tesseract 5 via pytesseract), accuracy and
time per 1024×768 image on one core, and what it adds to a gateway image request.

Images are rendered here with Pillow and the CJK font (fonts-noto-cjk, Noto Sans CJK SC): benign demo
strings written for this benchmark, and the same strings with the bundled demo deny-list term
(演示违禁词, the tests' own demo lexicon) inserted. Nothing is read from ../shared/data.

Measured, per text height and configuration:
- character accuracy: 1 − (edit distance / length) between the drawn text and the OCR text, both
  normalized (hegui.text.normalize: spaces, punctuation and case dropped);
- term recall: the share of images carrying the term whose normalized OCR text contains it (what the
  deny-list check needs), and false hits of the term on the benign images;
- seconds per image, tesseract limited to one thread (OMP_THREAD_LIMIT=1).

Configurations: hegui's engine (psm 11, read at each of a pyramid of scales, every reading inspected) with
the default scales (1, ½, ¼) and with (1, ½), and single passes with psm 3 and psm 11; chi_sim+eng.
Accuracy is the best pass's; the term counts as found when any pass reads it (the checks read them all).
With ``--rapidocr-python PY`` also rapidocr-onnxruntime (the ONNX OCR issue 15 named, PP-OCRv4 models
inside its wheel), one pass per image, run by ``PY`` (an interpreter where it is installed; hegui does
not depend on it) in a child process pinned to one core (_rapidocr_worker.py; its OCR call is timed).

Gateway latency: an in-process gateway (Starlette's TestClient, a mock upstream) timing
/v1/images/generations answering one 1024×768 PNG with [media] generated_image_ocr off and on, and a chat
request carrying one 1024×768 PNG as an image_url part with [media] image_parts = "pass_with_label"
(forwarded unread) and "ocr" (read and inspected).

Run: ``PYTHONPATH=src python benchmarks/ocr_bench.py [--quick] [--rapidocr-python PY]``; writes section
"ocr" of RESULTS.md.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract's OpenMP: one core

import pytesseract
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).parent))
from _results import machine, write_section

from hegui.media.ocr import TesseractOcr
from hegui.text.normalize import default_normalizer

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
TERM = "演示违禁词"  # the bundled demo deny-list term (default_policy.toml)
BENIGN = [
    "春季新品发布会欢迎光临",
    "今日特价水果八折优惠",
    "请保持安静，图书馆阅览区",
    "周末亲子手工课报名中",
    "社区运动会将于下周六举行",
    "Open 9:00 – 21:00 每天营业",
    "会议室预订请联系前台",
    "新鲜出炉的面包和咖啡",
]
HEIGHTS = (16, 24, 32, 48, 72, 96)


def wrap(text: str, px: int, width: int = 940) -> list[str]:
    """Lines that fit ``width`` at ``px`` (a CJK character is about ``px`` wide); the term is never cut."""
    per_line = max(len(TERM), width // px)
    pieces: list[str] = []
    rest = text
    while rest:
        at = rest.find(TERM)
        if at == 0:
            pieces.append(TERM)
            rest = rest[len(TERM) :]
        else:
            chunk = rest[: at if at > 0 else len(rest)]
            pieces += list(chunk)
            rest = rest[len(chunk) :]
    lines, cur = [], ""
    for piece in pieces:
        if len(cur) + len(piece) > per_line and cur:
            lines.append(cur)
            cur = ""
        cur += piece
    return [*lines, cur] if cur else lines


def render(text: str, px: int) -> bytes:
    img = Image.new("RGB", (1024, 768), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, px)
    for i, line in enumerate(wrap(text, px)):
        draw.text((40, 160 + i * round(px * 1.6)), line, font=font, fill=(20, 20, 20))
    draw.rectangle((20, 20, 1004, 120), fill=(200, 220, 240))  # a shape that is not text
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@dataclass
class Row:
    config: str
    px: int
    accuracy: float
    recall: float
    false_hits: int
    seconds: float


@dataclass
class Reading:
    texts: list[str]
    seconds: float


Reader = Callable[[bytes], Reading]


def _timed(read: Callable[[bytes], list[str]]) -> Reader:
    def timed(data: bytes) -> Reading:
        started = time.perf_counter()
        texts = read(data)
        return Reading(texts, time.perf_counter() - started)

    return timed


def single_pass(psm: str) -> Reader:
    def read(data: bytes) -> list[str]:
        img = Image.open(io.BytesIO(data)).convert("L")
        return [str(pytesseract.image_to_string(img, lang="chi_sim+eng", config=f"--psm {psm}"))]

    return _timed(read)


def engine_passes(engine: TesseractOcr) -> Reader:
    return _timed(lambda data: list(engine.read(data).passes))


class RapidOcr:
    """rapidocr-onnxruntime in a child process of another interpreter (_rapidocr_worker.py)."""

    def __init__(self, python: str) -> None:
        worker = Path(__file__).with_name("_rapidocr_worker.py")
        self.proc = subprocess.Popen(
            [python, str(worker)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        ready = json.loads(self.proc.stdout.readline())
        self.version, self.models = ready["ready"], ready["models"]
        self.installed_mb: dict[str, float] = ready["installed_mb"]

    def __call__(self, data: bytes) -> Reading:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"png": base64.b64encode(data).decode("ascii")}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return Reading(["".join(answer["lines"])], answer["seconds"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def measure(quick: bool, rapid: RapidOcr | None) -> list[Row]:
    norm = default_normalizer()
    configs: dict[str, Reader] = {
        "hegui, scales 1, ½, ¼ (default)": engine_passes(TesseractOcr("chi_sim+eng")),
        "hegui, scales 1, ½": engine_passes(TesseractOcr("chi_sim+eng", scales=(1.0, 0.5))),
        "single pass psm 3": single_pass("3"),
        "single pass psm 11": single_pass("11"),
    }
    if rapid is not None:
        configs[f"rapidocr-onnxruntime {rapid.version}, one pass"] = rapid
    texts = BENIGN[:3] if quick else BENIGN
    term = norm.normalize(TERM).text
    rows = []
    for name, read in configs.items():
        for px in HEIGHTS:
            accs, times, hits, false_hits = [], [], 0, 0
            for line in texts:
                marked = line[: len(line) // 2] + TERM + line[len(line) // 2 :]
                for text, carries in ((line, False), (marked, True)):
                    reading = read(render(text, px))
                    times.append(reading.seconds)
                    want = norm.normalize(text).text
                    readings = [norm.normalize(g).text for g in reading.texts]
                    # accuracy of the best pass; the term counts if any pass reads it (all are inspected)
                    accs.append(max(max(0.0, 1 - distance(want, r) / len(want)) for r in readings))
                    seen = "\n".join(readings)
                    if carries:
                        hits += term in seen
                    else:
                        false_hits += term in seen
            rows.append(
                Row(name, px, statistics.mean(accs), hits / len(texts), false_hits, statistics.median(times))
            )
            print(rows[-1], flush=True)
    return rows


def _median_request(
    media: str, path: str, body: dict[str, object], answer: dict[str, object], rounds: int
) -> float:
    """Median seconds of ``rounds`` requests to ``path`` through an in-process gateway whose ``[media]``
    table is ``media``, a mock upstream answering ``answer`` (the first request warms up)."""
    import tempfile

    import httpx
    from starlette.testclient import TestClient

    from hegui.gateway.app import create_app
    from hegui.policy import parse_policy
    from hegui.settings import Settings

    text = (
        'version = "bench"\n[[upstreams]]\nname = "u"\nbase_url = "http://up.invalid/v1"\n'
        f'models = ["m"]\n[media]\n{media}\n'
    )
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            Settings(data_dir=Path(tmp)),
            policy=parse_policy(text, "bench.toml"),
            transports={"u": httpx.MockTransport(lambda _r: httpx.Response(200, json=answer))},
        )
        key, _ = app.state.hegui.keys.create(name="bench")
        with TestClient(app, headers={"authorization": f"Bearer {key}"}) as client:
            times = []
            for _ in range(rounds + 1):
                started = time.perf_counter()
                r = client.post(path, json=body)
                assert r.status_code == 200, r.text
                times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def gateway_latency(rounds: int) -> dict[str, float]:
    """Median seconds of an image generation (OCR of the answer off/on) and of a chat request with one
    image part (passed unread / read by OCR), through an in-process gateway."""
    picture = base64.b64encode(render("春季新品发布会欢迎光临", 32)).decode()
    generation = {"model": "m", "prompt": "一张海报"}
    generated = {"created": 1, "data": [{"b64_json": picture}]}
    chat = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "图里写了什么？"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{picture}"}},
                ],
            }
        ],
    }
    answered = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "一张海报。"}, "finish_reason": "stop"}
        ],
    }
    gen, msg = "/v1/images/generations", "/v1/chat/completions"
    return {
        "generation off": _median_request("generated_image_ocr = false", gen, generation, generated, rounds),
        "generation on": _median_request("generated_image_ocr = true", gen, generation, generated, rounds),
        "chat unread": _median_request('image_parts = "pass_with_label"', msg, chat, answered, rounds),
        "chat ocr": _median_request('image_parts = "ocr"', msg, chat, answered, rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 strings instead of 8, 3 gateway rounds")
    parser.add_argument(
        "--rapidocr-python",
        metavar="PY",
        help="an interpreter with rapidocr-onnxruntime installed: measure it beside tesseract",
    )
    args = parser.parse_args()
    rapid = RapidOcr(args.rapidocr_python) if args.rapidocr_python else None
    try:
        rows = measure(args.quick, rapid)
    finally:
        if rapid is not None:
            rapid.close()
    latency = gateway_latency(3 if args.quick else 8)
    n = 3 if args.quick else len(BENIGN)
    lines = [
        "## OCR of text in images (`benchmarks/ocr_bench.py`)",
        "",
        machine(),
        "",
        f"tesseract {pytesseract.get_tesseract_version()} (Debian), chi_sim+eng, one thread "
        f"(OMP_THREAD_LIMIT=1); 1024×768 PNGs, one line of Noto Sans CJK per image at the given pixel "
        f"size; {n} benign demo strings, each also with the demo term {TERM} inserted ({2 * n} images per "
        "row; lines wrapped to fit, the term never cut). Accuracy: 1 − normalized edit distance of the best pass; recall: images with the term whose OCR text "
        "contains it; false hits: benign images whose OCR text contains it.",
        "",
        "| Configuration | Text px | Char accuracy | Term recall | False hits | s / image (median) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.config} | {r.px} | {r.accuracy:.3f} | {r.recall:.2f} | {r.false_hits} | {r.seconds:.2f} |"
        )
    lines += [
        "",
        "Gateway, in-process with a mock upstream (median of "
        f"{3 if args.quick else 8} requests): `/v1/images/generations` answering one 1024×768 PNG, "
        f"{latency['generation off']:.3f} s with `generated_image_ocr = false`, "
        f"{latency['generation on']:.3f} s with `true` (OCR adds "
        f"{latency['generation on'] - latency['generation off']:.3f} s); a chat request with one 1024×768 "
        f"PNG as an `image_url` part, {latency['chat unread']:.3f} s with `image_parts = "
        f'"pass_with_label"` (forwarded unread), {latency["chat ocr"]:.3f} s with `"ocr"` (OCR adds '
        f"{latency['chat ocr'] - latency['chat unread']:.3f} s).",
        "",
        "Times come from a 2-core machine shared with other jobs: compare configurations by ratio (the "
        "default reads each image three times, at 1, ½ and ¼).",
    ]
    if rapid is not None:
        sizes = ", ".join(f"{name} {mb:.0f} MB" for name, mb in sorted(rapid.installed_mb.items()))
        lines += [
            "",
            f"rapidocr-onnxruntime {rapid.version} (the ONNX OCR the issue named) ran in another "
            "interpreter, pinned to one core with onnxruntime on one thread, one pass per image with its "
            f"defaults; its models ship inside its wheel ({', '.join(rapid.models)}) and it read every "
            f"image without any download. Installed: {sizes} (opencv-python and onnxruntime are its "
            "dependencies; numpy is hegui's already).",
        ]
    write_section("ocr", "\n".join(lines))


if __name__ == "__main__":
    main()
