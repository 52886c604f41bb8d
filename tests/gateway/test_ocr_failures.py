"""OCR failures through the gateway fail closed, with rapidocr's child process: a reading past
``[media] ocr_timeout`` and a child that died are each a ``check_failed`` error (5xx) recorded at the
input stage, never an image passed unread; the next request gets a new child and is inspected. Skips
when rapidocr-onnxruntime or the CJK font is not installed."""

from __future__ import annotations

import base64
import io
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from tests.gateway.conftest import MakeClient

from hegui.gateway.media_inspect import engine
from hegui.media.rapidocr import RapidOcr, available
from hegui.records.audit import iter_entries

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
pytestmark = pytest.mark.skipif(
    available() is not None or not FONT.exists(), reason=f"rapidocr or fonts-noto-cjk missing: {available()}"
)


def _chat(text: str) -> dict[str, Any]:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (480, 160), "white")
    ImageDraw.Draw(img).text((20, 50), text, font=ImageFont.truetype(str(FONT), 28), fill="black")
    out = io.BytesIO()
    img.save(out, "PNG")
    url = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
    content = [{"type": "text", "text": "图里写了什么？"}, {"type": "image_url", "image_url": {"url": url}}]
    return {"model": "hegui-demo", "messages": [{"role": "user", "content": content}]}


def _errors(client: Any) -> list[Any]:
    return [e for e in iter_entries(client.app.state.hegui.engine) if e.action == "error"]


def test_a_reading_past_the_timeout_is_refused_and_recorded(
    make_client: MakeClient, base_policy: str
) -> None:
    client = make_client(
        base_policy + '[media]\nimage_parts = "ocr"\nocr_engine = "rapidocr"\nocr_timeout = 0.001\n'
    )
    r = client.post("/v1/chat/completions", json=_chat("春天来了"))
    assert r.status_code >= 500 and r.json()["error"]["code"] == "check_failed", r.text
    (entry,) = _errors(client)
    assert entry.stage == "input" and "did not finish" in str(entry.detail)


def test_a_dead_child_is_refused_recorded_and_replaced(make_client: MakeClient, base_policy: str) -> None:
    client = make_client(base_policy + '[media]\nimage_parts = "ocr"\nocr_engine = "rapidocr"\n')
    assert client.post("/v1/chat/completions", json=_chat("春天来了")).status_code == 200
    ocr = engine(client.app.state.hegui.policy.media)  # type: ignore[attr-defined]
    assert isinstance(ocr, RapidOcr) and ocr.pid is not None
    pid = ocr.pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    r = client.post("/v1/chat/completions", json=_chat("春天来了"))
    assert r.status_code >= 500 and r.json()["error"]["code"] == "check_failed", r.text
    (entry,) = _errors(client)
    assert "OCR worker" in str(entry.detail)
    r = client.post("/v1/chat/completions", json=_chat("这里写着演示违禁词"))  # a new child reads it
    assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] == "content_filter", r.text
    assert ocr.pid not in (None, pid)


def test_an_engine_that_cannot_load_stops_the_start(
    make_client: MakeClient, base_policy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed but broken (here: a stand-in child that cannot import OpenCV): the gateway does not
    start, and says why, instead of failing every image later."""
    from hegui.errors import ConfigError
    from hegui.media import rapidocr

    broken = tmp_path / "broken_worker.py"
    broken.write_text(
        "import json, struct, sys\n"
        "body = json.dumps({'error': 'ImportError: libGL.so.1: cannot open shared object file'}).encode()\n"
        "sys.stdout.buffer.write(struct.pack('>I', len(body)) + body); sys.stdout.buffer.flush()\n"
        "sys.exit(1)\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(rapidocr, "WORKER", broken)
    policy = (
        base_policy + '[media]\ngenerated_image_ocr = true\nocr_engine = "rapidocr"\nocr_timeout = 7.25\n'
    )
    with pytest.raises(ConfigError, match=r"ocr_engine = 'rapidocr' cannot read images here: .*libGL\.so\.1"):
        make_client(policy)
