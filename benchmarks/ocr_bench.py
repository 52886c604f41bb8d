"""Benchmark: OCR of text drawn into images with hegui's engines (rapidocr-onnxruntime in hegui's child
process; tesseract 5 via pytesseract), accuracy and time per 1024×768 image on one core, and what each
adds to a gateway image request.

Images are rendered here with Pillow and the CJK font (fonts-noto-cjk, Noto Sans CJK SC): benign demo
strings written for this benchmark, and the same strings with the bundled demo deny-list term
(演示违禁词, the tests' own demo lexicon) inserted. Nothing is read from ../shared/data.

Measured, per text height and configuration:
- character accuracy: 1 − (edit distance / length) between the drawn text and the OCR text, both
  normalized (hegui.text.normalize: spaces, punctuation and case dropped);
- term recall: the share of images carrying the term whose normalized OCR text contains it (what the
  deny-list check needs), and false hits of the term on the benign images;
- seconds per image, tesseract limited to one thread (OMP_THREAD_LIMIT=1).

Configurations: hegui's two engines as the gateway runs them (``[media] ocr_engine``):
- ``rapidocr`` (the default): rapidocr-onnxruntime (PP-OCRv4 ONNX models inside its wheel) in hegui's
  long-lived child process (hegui.media.rapidocr, onnxruntime and OpenCV on one thread), one pass per
  image; the time is the whole reading as the gateway waits for it (decoding, the pipe, the OCR);
- ``tesseract``: psm 11 read at each of a pyramid of scales, every reading inspected, with the default
  scales (1, ½, ¼) and with (1, ½); and single tesseract passes with psm 3 and psm 11 for comparison;
  chi_sim+eng.
Accuracy is the best pass's; the term counts as found when any pass reads it (the checks read them all).
Also measured: the first reading of a new rapidocr engine (the child starting: importing onnxruntime and
OpenCV, loading the models), once per gateway process.

Gateway latency: an in-process gateway (Starlette's TestClient, a mock upstream) timing
/v1/images/generations answering one 1024×768 PNG with [media] generated_image_ocr off and on, and a chat
request carrying one 1024×768 PNG as an image_url part with [media] image_parts = "pass_with_label"
(forwarded unread) and "ocr" (read and inspected), with each engine.

Run: ``PYTHONPATH=src python benchmarks/ocr_bench.py [--quick]``; writes section "ocr" of RESULTS.md.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract's OpenMP: one core

import pytesseract
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).parent))
from _results import machine, write_section

from hegui.media.ocr import TesseractOcr
from hegui.media.rapidocr import RapidOcr
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


def rapid_passes(engine: RapidOcr) -> Reader:
    return _timed(lambda data: list(engine.read(data).passes))


def first_reading(data: bytes) -> float:
    """Seconds of a new rapidocr engine's first reading (its child starting), then stopped."""
    engine = RapidOcr()
    try:
        started = time.perf_counter()
        engine.read(data)
        return time.perf_counter() - started
    finally:
        engine.close()


def installed_mb() -> dict[str, float]:
    """How large rapidocr-onnxruntime and its native dependencies are installed."""
    spec = find_spec("rapidocr_onnxruntime")
    assert spec is not None and spec.origin is not None
    site = Path(spec.origin).parent.parent
    return {
        name: sum(f.stat().st_size for f in (site / name).rglob("*") if f.is_file()) / 1e6
        for name in ("rapidocr_onnxruntime", "onnxruntime", "cv2", "opencv_python.libs")
        if (site / name).is_dir()
    }


def measure(quick: bool, rapid: RapidOcr) -> list[Row]:
    norm = default_normalizer()
    configs: dict[str, Reader] = {
        "hegui rapidocr (default engine), one pass": rapid_passes(rapid),
        "hegui tesseract, scales 1, ½, ¼ (its default)": engine_passes(TesseractOcr("chi_sim+eng")),
        "hegui tesseract, scales 1, ½": engine_passes(TesseractOcr("chi_sim+eng", scales=(1.0, 0.5))),
        "tesseract single pass psm 3": single_pass("3"),
        "tesseract single pass psm 11": single_pass("11"),
    }
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
    out = {
        "generation off": _median_request("generated_image_ocr = false", gen, generation, generated, rounds),
        "chat unread": _median_request('image_parts = "pass_with_label"', msg, chat, answered, rounds),
    }
    for engine in ("rapidocr", "tesseract"):
        on = f'ocr_engine = "{engine}"\n'
        out[f"generation {engine}"] = _median_request(
            on + "generated_image_ocr = true", gen, generation, generated, rounds
        )
        out[f"chat {engine}"] = _median_request(on + 'image_parts = "ocr"', msg, chat, answered, rounds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 strings instead of 8, 3 gateway rounds")
    args = parser.parse_args()
    start = statistics.median(first_reading(render(BENIGN[0], 32)) for _ in range(3))
    rapid = RapidOcr()
    try:
        rows = measure(args.quick, rapid)
        version, models = rapid.ready["ready"], [Path(m).name for m in rapid.ready["models"]]
    finally:
        rapid.close()
    rounds = 3 if args.quick else 8
    latency = gateway_latency(rounds)
    n = 3 if args.quick else len(BENIGN)
    lines = [
        "## OCR of text in images (`benchmarks/ocr_bench.py`)",
        "",
        machine(),
        "",
        f"hegui's engines as the gateway runs them (`[media] ocr_engine`): rapidocr-onnxruntime {version} in "
        "hegui's child process (onnxruntime and OpenCV on one thread; the time is the whole reading the "
        f"gateway waits for: decoding, the pipe, the OCR) and tesseract {pytesseract.get_tesseract_version()} "
        "(Debian), chi_sim+eng, one thread (OMP_THREAD_LIMIT=1), a process per reading. 1024×768 PNGs, one "
        f"line of Noto Sans CJK per image at the given pixel size; {n} benign demo strings, each also with "
        f"the demo term {TERM} inserted ({2 * n} images per row; lines wrapped to fit, the term never cut). "
        "Accuracy: 1 − normalized edit distance of the best pass; recall: images with the term whose OCR "
        "text contains it; false hits: benign images whose OCR text contains it.",
        "",
        "| Configuration | Text px | Char accuracy | Term recall | False hits | s / image (median) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.config} | {r.px} | {r.accuracy:.3f} | {r.recall:.2f} | {r.false_hits} | {r.seconds:.2f} |"
        )
    off, unread = latency["generation off"], latency["chat unread"]
    per_engine = "; ".join(
        f"{engine}: generation {latency[f'generation {engine}']:.3f} s (OCR adds "
        f"{latency[f'generation {engine}'] - off:.3f} s), chat {latency[f'chat {engine}']:.3f} s (OCR adds "
        f"{latency[f'chat {engine}'] - unread:.3f} s)"
        for engine in ("rapidocr", "tesseract")
    )
    sizes = ", ".join(f"{name} {mb:.0f} MB" for name, mb in sorted(installed_mb().items()))
    lines += [
        "",
        f"Gateway, in-process with a mock upstream (median of {rounds} requests after one to warm up): "
        "`/v1/images/generations` answering one 1024×768 PNG (32 px text) and a chat request with that PNG "
        f"as an `image_url` part. Without OCR: generation {off:.3f} s (`generated_image_ocr = false`), "
        f'chat {unread:.3f} s (`image_parts = "pass_with_label"`, forwarded unread). With OCR '
        f'(`generated_image_ocr = true`, `image_parts = "ocr"`), per `ocr_engine`: {per_engine}.',
        "",
        "rapidocr's child starts with each gateway process whose policy reads images (and at the first "
        f"reading of `label verify`): the first reading of a new engine took {start:.2f} s (median of 3; "
        "importing onnxruntime and OpenCV, loading the models, then reading), the later ones the times "
        f"above. Its models ship inside its wheel ({', '.join(models)}); it read every image "
        f"without any download (tests/media/test_rapidocr.py checks it with no network). Installed: {sizes} "
        "(opencv-python and onnxruntime are its dependencies; numpy is hegui's already).",
        "",
        "Times come from a 2-core machine shared with other jobs: compare configurations by ratio (tesseract's "
        "default reads each image three times, at 1, ½ and ¼).",
    ]
    write_section("ocr", "\n".join(lines))


if __name__ == "__main__":
    main()
