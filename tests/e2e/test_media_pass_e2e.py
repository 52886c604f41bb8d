"""End to end: ``[media] image_parts = "pass_with_label"``, the third of the issue's choices for image
parts (refuse: tests/e2e/test_fields_e2e.py; inspect by OCR: tests/e2e/test_image_edits_e2e.py).

A chat request's ``image_url`` part and an edit's image are forwarded unread, byte for byte (a deny-listed
term drawn in the image passes: nothing reads it), and marked: the answer's ``X-Hegui-Uninspected``
header and the input audit entry name them. Text is still inspected. Through the official openai client
against a started gateway. Needs no OCR; Pillow draws the picture.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import VENV_BIN, create_key, fake_upstream, free_port, hegui_env, hegui_server

pytestmark = pytest.mark.e2e

TERM = "演示违禁词"
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

POLICY = """
version = "e2e-media-pass"
[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
models = ["fake-model"]
read_timeout = 20.0
total_timeout = 30.0

[[checks]]
name = "demo-denylist"
type = "denylist"
stages = ["input", "output"]
action = "refuse"
category = "A.1h"
terms = ["演示违禁词"]

[media]
image_parts = "pass_with_label"
"""


def picture(line: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (480, 160), "white")
    font = ImageFont.truetype(str(FONT), 28) if FONT.exists() else ImageFont.load_default()
    ImageDraw.Draw(img).text((20, 60), line, font=font, fill="black")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Gw:
    env: dict[str, str]
    client: OpenAI
    upstream_log: Path
    base_url: str
    key: str


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gw]:
    root = tmp_path_factory.mktemp("media-pass")
    up_port, port = free_port(), free_port()
    policy = root / "hegui.toml"
    policy.write_text(POLICY.format(port=up_port), encoding="utf-8")
    env = hegui_env(root / "data", policy)
    key = create_key(env)
    log = root / "upstream.jsonl"
    with (
        fake_upstream(up_port, log),
        hegui_server(port, env, root / "hegui.log"),
        OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=60) as client,
    ):
        yield Gw(env, client, log, f"http://127.0.0.1:{port}", key)


def _audit(gw: Gw, request_id: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [str(VENV_BIN / "hegui"), "audit", "show", request_id],
        env={**os.environ, **gw.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def _detail(entry: dict[str, object]) -> dict[str, object]:
    detail = entry["detail"]
    return json.loads(detail) if isinstance(detail, str) else detail  # type: ignore[return-value]


def _chat(gw: Gw, text: str, url: str, *, stream: bool = False):  # type: ignore[no-untyped-def]
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": url}}],
        }
    ]
    if stream:
        return gw.client.chat.completions.with_streaming_response.create(
            model="fake-model",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
        )
    return gw.client.chat.completions.with_raw_response.create(model="fake-model", messages=messages)  # type: ignore[arg-type]


PART = "messages[0].content[1].image_url"


def test_a_chat_image_part_passes_unread_and_is_marked(gw: Gw) -> None:
    url = "data:image/png;base64," + base64.b64encode(picture(f"海报：{TERM}")).decode("ascii")
    raw = _chat(gw, "图里写了什么？", url)
    answer = raw.parse()
    # Unread: the term drawn in the picture is not seen, the answer comes back labelled as usual.
    assert answer.choices[0].finish_reason == "stop"
    assert raw.headers["x-hegui-uninspected"] == PART
    assert "x-aigc-label" in raw.headers
    # Forwarded byte for byte (not re-encoded, not replaced).
    sent = json.loads(gw.upstream_log.read_text(encoding="utf-8").splitlines()[-1])
    assert sent["messages"][0]["content"][1]["image_url"]["url"] == url
    (entry,) = [e for e in _audit(gw, answer.id) if e["stage"] == "input"]
    assert _detail(entry)["uninspected"] == [PART]


def test_a_streamed_answer_carries_the_mark(gw: Gw) -> None:
    url = "data:image/png;base64," + base64.b64encode(picture("春天来了")).decode("ascii")
    with _chat(gw, "描述这张图", url, stream=True) as raw:
        assert raw.headers["x-hegui-uninspected"] == PART
        assert "fake upstream heard" in "".join(raw.iter_text())


def test_the_text_beside_an_unread_image_is_still_inspected(gw: Gw) -> None:
    url = "data:image/png;base64," + base64.b64encode(picture("春天来了")).decode("ascii")
    raw = _chat(gw, f"请解释{TERM}", url)
    assert raw.parse().choices[0].finish_reason == "content_filter"


def test_a_text_only_request_carries_no_mark(gw: Gw) -> None:
    raw = gw.client.chat.completions.with_raw_response.create(
        model="fake-model", messages=[{"role": "user", "content": "你好"}]
    )
    assert "x-hegui-uninspected" not in raw.headers


def test_an_edit_image_passes_unread_and_is_marked(gw: Gw) -> None:
    image = picture(f"标语：{TERM}")
    raw = gw.client.images.with_raw_response.edit(
        model="fake-model", image=("in.png", image, "image/png"), prompt="把背景换成海边"
    )
    assert raw.headers["x-hegui-uninspected"] == "image[0]"
    assert raw.parse().data
    entries = _audit(gw, raw.headers["x-hegui-request-id"])
    (entry,) = [e for e in entries if e["stage"] == "input"]
    assert _detail(entry)["uninspected"] == ["image[0]"]
    with pytest.raises(openai.BadRequestError):  # the prompt is inspected as ever
        gw.client.images.edit(model="fake-model", image=("in.png", image, "image/png"), prompt=f"写上{TERM}")


def test_a_responses_image_part_passes_unread_and_is_marked(gw: Gw) -> None:
    """The Responses API's input_image: forwarded to the chat upstream as an image_url part, unread."""
    url = "data:image/png;base64," + base64.b64encode(picture(f"海报：{TERM}")).decode("ascii")
    raw = gw.client.responses.with_raw_response.create(
        model="fake-model",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "图里写了什么？"},
                    {"type": "input_image", "image_url": url, "detail": "low"},
                ],
            }
        ],
    )
    answer = raw.parse()
    assert answer.status == "completed"
    assert raw.headers["x-hegui-uninspected"] == "input[0].content[1].image_url"
    sent = json.loads(gw.upstream_log.read_text(encoding="utf-8").splitlines()[-1])
    assert sent["messages"][0]["content"] == [
        {"type": "text", "text": "图里写了什么？"},
        {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
    ]
    (entry,) = [e for e in _audit(gw, raw.headers["x-hegui-request-id"]) if e["stage"] == "input"]
    assert _detail(entry)["uninspected"] == ["input[0].content[1].image_url"]


def test_a_messages_image_block_passes_unread_and_is_marked(gw: Gw) -> None:
    """Anthropic's Messages API through the official anthropic client: the block goes upstream as a chat
    image_url part (a data: URL of its base64), unread."""
    import anthropic

    data = base64.b64encode(picture(f"海报：{TERM}")).decode("ascii")
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
    with anthropic.Anthropic(base_url=gw.base_url, api_key=gw.key, max_retries=0) as claude:
        raw = claude.messages.with_raw_response.create(
            model="fake-model",
            max_tokens=64,
            messages=[{"role": "user", "content": [{"type": "text", "text": "这是什么？"}, block]}],  # type: ignore[list-item]
        )
    assert raw.parse().stop_reason == "end_turn"
    assert raw.headers["x-hegui-uninspected"] == "messages[0].content[1].source"
    sent = json.loads(gw.upstream_log.read_text(encoding="utf-8").splitlines()[-1])
    assert sent["messages"][-1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{data}"},
    }
