"""Labels end to end: the official openai client receives labelled answers and images from a started
gateway, and the ProduceID in each label finds its audit entries (`hegui audit show`)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openai import OpenAI

from hegui.label.files import read_labels

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import VENV_BIN

from conftest import Gateway

pytestmark = pytest.mark.e2e
LABEL = "\n\n【AI生成】"


def client(gw: Gateway) -> OpenAI:
    return OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0)


def audit_show(gw: Gateway, produce_id: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [str(VENV_BIN / "hegui"), "audit", "show", produce_id],
        env={**os.environ, **gw.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.mark.parametrize("model", ["hegui-demo", "fake-model"])
def test_chat_answer_is_labelled(gateway: Gateway, model: str) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "你好"}]
    )
    answer = raw.parse()
    assert (answer.choices[0].message.content or "").endswith(LABEL)
    label = (answer.model_extra or {})["AIGC"]
    assert json.loads(raw.headers["x-aigc-label"]) == label
    assert label["ProduceID"] == answer.id and label["Label"] == "1"
    assert [e["stage"] for e in audit_show(gateway, label["ProduceID"])] == ["input", "output"]


def test_streamed_answer_is_labelled(gateway: Gateway) -> None:
    with client(gateway).chat.completions.with_streaming_response.create(
        model="fake-model", messages=[{"role": "user", "content": "你好"}], stream=True
    ) as raw:
        header = json.loads(raw.headers["x-aigc-label"])
        chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.endswith(LABEL)
    assert (chunks[-1].model_extra or {})["AIGC"] == header
    assert header["ProduceID"] == chunks[0].id
    entries = audit_show(gateway, header["ProduceID"])
    assert [(e["stage"], e["action"]) for e in entries] == [("input", "allow"), ("output", "allow")]


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_generated_images_are_labelled(gateway: Gateway, response_format: str) -> None:
    result = client(gateway).images.generate(
        model="hegui-demo", prompt="山水画", size="256x256", response_format=response_format
    )  # type: ignore[arg-type]
    image = base64.b64decode(result.data[0].b64_json or "")
    (label,) = read_labels(image, "png")
    assert label.ok
    assert label.values == (result.model_extra or {})["AIGC"]
    assert [e["stage"] for e in audit_show(gateway, label.values["ProduceID"])] == ["input", "output"]
