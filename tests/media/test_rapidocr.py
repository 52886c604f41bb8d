"""OCR with rapidocr-onnxruntime in its child process: reads text drawn with the CJK font in one pass and
maps spans to regions; needs no network and opens no file outside the installed packages; a reading
that hangs or a child that crashes fails closed and the next reading starts a new child; a policy asking
for it where it is not installed is refused at load. One engine (one child) serves the module.
Skips when rapidocr-onnxruntime or the CJK font is not installed."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hegui.errors import ConfigError
from hegui.media import rapidocr
from hegui.media.ocr import OcrFailed
from hegui.media.rapidocr import WORKER, RapidOcr, available
from hegui.policy import parse_policy

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
pytestmark = pytest.mark.skipif(
    available() is not None or not FONT.exists(),
    reason=f"rapidocr or fonts-noto-cjk not installed: {available()}",
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


@pytest.fixture(scope="module")
def engine() -> Iterator[RapidOcr]:
    ocr = RapidOcr(timeout=20.0)
    yield ocr
    ocr.close()


def test_reads_lines_and_maps_spans_to_regions(engine: RapidOcr) -> None:
    r = engine.read(picture(["春天来了", "演示违禁词"]))
    assert r.text.split("\n") == ["春天来了", "演示违禁词"]
    assert len(r.passes) == 1  # one pass
    start = r.text.index("违禁")
    (box,) = r.region_of(start, start + 2)
    # the second line, drawn at y = 120 (the ink starts about 8 px lower), 28 px high
    assert 115 <= box.top <= 135 and 25 <= box.height <= 36 and box.left < 60
    assert engine.ready["ready"] == "1.4.4"
    assert len(engine.ready["models"]) == 3  # detection, direction, recognition: files of the package
    assert all(
        Path(m).parent.parts[-2:] == ("rapidocr_onnxruntime", "models") for m in engine.ready["models"]
    )


def test_large_and_small_lines_are_read_in_one_pass(engine: RapidOcr) -> None:
    for size in (16, 64):  # 64 px: 9 characters fill 576 of the 640 px
        r = engine.read(picture(["这里写着演示违禁词"], size=size))
        assert "演示违禁词" in r.text, (size, r.text)


def test_boxes_are_in_the_pixels_of_the_image_as_given() -> None:
    """An image larger than max_side is read scaled down; its boxes come back in its own pixels."""
    from PIL import Image

    small = RapidOcr(max_side=320)
    try:
        big = Image.open(io.BytesIO(picture(["春天来了", "演示违禁词"], size=28)))
        r = small.read(picture(["春天来了", "演示违禁词"], size=28))
        assert big.width == 640 and "违禁" in r.text
        line = next(x for x in r.lines if "违禁" in x.text)
        assert 110 <= line.box.top <= 140 and line.box.left < 60
    finally:
        small.close()


def test_an_undecodable_image_fails_closed(engine: RapidOcr) -> None:
    with pytest.raises(OcrFailed, match="could not be decoded"):
        engine.read(b"\x89PNG not an image")


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_a_reading_past_the_timeout_stops_the_child_and_the_next_starts_one(engine: RapidOcr) -> None:
    engine.read(picture(["春天来了"]))
    pid, starts = engine.pid, engine.starts
    assert pid is not None
    engine.timeout = 0.001
    try:
        with pytest.raises(OcrFailed, match="did not finish"):
            engine.read(picture(["春天来了"]))
    finally:
        engine.timeout = 20.0
    assert engine.pid is None and _dead(pid)
    assert "春天" in engine.read(picture(["春天来了"])).text
    assert engine.starts == starts + 1 and engine.pid != pid


def test_a_killed_child_fails_the_reading_and_is_replaced(engine: RapidOcr) -> None:
    engine.read(picture(["春天来了"]))
    pid = engine.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not _dead(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(OcrFailed, match="OCR failed: the OCR worker"):
        engine.read(picture(["春天来了"]))
    assert "春天" in engine.read(picture(["春天来了"])).text


#: Child stand-ins: ready at once, then crash in the middle of the first reading, or never answer.
_READY = (
    "import sys, struct, os, time\n"
    "out = sys.stdout.buffer\n"
    'body = b\'{"ready": "stand-in", "models": []}\'\n'
    "out.write(struct.pack('>I', len(body)) + body); out.flush()\n"
    "head = sys.stdin.buffer.read(4)\n"
)


def test_a_child_that_crashes_mid_reading_fails_closed() -> None:
    crashing = RapidOcr(command=[sys.executable, "-c", _READY + "os.abort()\n"])
    with pytest.raises(OcrFailed, match=r"exited \(killed by SIGABRT\)|closed its input"):
        crashing.read(picture(["春天来了"]))
    assert crashing.pid is None


def test_a_child_that_hangs_is_killed_at_the_timeout() -> None:
    hanging = RapidOcr(timeout=0.5, command=[sys.executable, "-c", _READY + "time.sleep(600)\n"])
    started = time.monotonic()
    with pytest.raises(OcrFailed, match=r"did not finish within 0\.5s"):
        hanging.read(picture(["春天来了"]))
    assert time.monotonic() - started < 5 and hanging.pid is None
    never_ready = RapidOcr(start_timeout=0.5, command=[sys.executable, "-c", "import time; time.sleep(600)"])
    with pytest.raises(OcrFailed, match="did not start"):
        never_ready.read(picture(["春天来了"]))


#: Runs the real worker with an audit hook that logs every socket call and every file opened.
_AUDITED = """
import runpy, sys
log = open(sys.argv[2], "w", encoding="utf-8")
def hook(event, args):
    if event.startswith(("socket.", "urllib.", "http.", "ftplib.", "smtplib.")):
        log.write(f"NET {event}\\n"); log.flush()
    elif event == "open" and isinstance(args[0], str):
        log.write(f"OPEN {args[0]}\\n"); log.flush()
sys.addaudithook(hook)
worker = sys.argv[1]
sys.argv = [worker]
runpy.run_path(worker, run_name="__main__")
"""


def test_no_network_and_no_file_outside_the_installed_packages(tmp_path: Path) -> None:
    """The child reads with no network at all (a new network namespace, when ``unshare -rn`` works
    here) and, audited, makes no socket call and opens files only under the interpreter's prefix
    (its standard library and site-packages, where the models are): nothing is downloaded."""
    log = tmp_path / "audit.log"
    command = [sys.executable, "-I", "-c", _AUDITED, str(WORKER), str(log)]
    isolated = shutil.which("unshare") is not None and (
        subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    )
    if isolated:
        command = ["unshare", "-rn", *command]
    audited = RapidOcr(command=command)
    try:
        assert "演示违禁词" in audited.read(picture(["这里写着演示违禁词"])).text
    finally:
        audited.close()
    events = log.read_text(encoding="utf-8").splitlines()
    assert not [e for e in events if e.startswith("NET")]
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    opened = {Path(e.removeprefix("OPEN ")).resolve() for e in events if e.startswith("OPEN ")}
    allowed = (*roots, WORKER.resolve(), Path("/dev"), Path("/proc"), Path("/sys"), Path("/etc"))
    allowed += (Path("/usr/lib/os-release"),)  # the platform module's system name (read, not fetched)
    outside = {p for p in opened if not any(p.is_relative_to(r) for r in allowed)}
    assert not outside, outside
    assert any(p.name == "config.yaml" and "rapidocr_onnxruntime" in p.parts for p in opened)
    if not isolated:
        pytest.skip("audited only: unshare -rn (a namespace without network) is not allowed here")


def test_a_policy_asking_for_rapidocr_where_it_is_missing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        '[[upstreams]]\nname = "u"\nbase_url = "http://127.0.0.1:9/v1"\nmodels = ["m"]\n'
        '[media]\nimage_parts = "ocr"\nocr_engine = "rapidocr"\n'
    )
    assert parse_policy(text, "hegui.toml").media.ocr_engine == "rapidocr"
    monkeypatch.setattr(rapidocr, "find_spec", lambda _name: None)
    with pytest.raises(
        ConfigError, match=r"rapidocr-onnxruntime is not installed \(pip install 'hegui\[ocr\]'"
    ):
        parse_policy(text, "hegui.toml")
    # OCR off: the engine is not needed, and its absence is no error
    assert parse_policy(text.replace('image_parts = "ocr"', ""), "hegui.toml").media.ocr_engine == "rapidocr"
