"""End to end: /v1/images/edits and /v1/images/variations through the official openai client against a
started gateway; the DS-02 edit consent; OCR of request images and of generated images; the
unregistered person-name switch.

The persons are fictional; the deny-listed term is the bundled demo term. Images are drawn here with the
CJK font (fonts-noto-cjk). The gateway reads images with rapidocr (the default ``[media] ocr_engine``);
the OCR tests also run against a second gateway with ``ocr_engine = "tesseract"``. Skips when
rapidocr-onnxruntime is not installed (the tesseract runs: when tesseract or its Chinese model is not).
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import script
from servers import VENV_BIN, create_key, fake_upstream, free_port, hegui_env, hegui_server

from hegui.media.engines import available, shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        available("rapidocr") is not None, reason=f"OCR not installed: {available('rapidocr')}"
    ),
]

TERM = "演示违禁词"
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

POLICY = """
version = "e2e-image-edits"
[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
models = ["fake-image"]
read_timeout = 20.0
total_timeout = 30.0

[[checks]]
name = "persons"
type = "persona"

[[checks]]
name = "demo-denylist"
type = "denylist"
stages = ["input", "output"]
action = "refuse"
category = "A.1h"
terms = ["演示违禁词"]

[media]
image_parts = "ocr"
generated_image_ocr = true
ocr_engine = "{engine}"
person_names = "refuse"
audio_parts = "transcribe"
asr_url = "http://127.0.0.1:{port}/v1"
"""


def picture(*lines: str, size: tuple[int, int] = (640, 360)) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 28)
    for i, line in enumerate(lines):
        draw.text((30, 40 + 60 * i), line, font=font, fill="black")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Gw:
    base_url: str
    key: str
    env: dict[str, str]
    client: OpenAI


def _hegui(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [str(VENV_BIN / "hegui"), *args],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout


def _gateway(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[Gw]:
    if not FONT.exists():
        pytest.skip("fonts-noto-cjk is not installed")
    if available(engine) is not None:
        pytest.skip(f"{engine} is not installed: {available(engine)}")
    root = tmp_path_factory.mktemp(f"image-edits-{engine}")
    up_port, port = free_port(), free_port()
    policy = root / "hegui.toml"
    policy.write_text(POLICY.format(port=up_port, engine=engine), encoding="utf-8")
    env = hegui_env(root / "data", policy)
    key = create_key(env)  # tenant "default"
    _hegui(env, "persons", "add", "陈思远", "--kind", "licensed", "--key", "chen")
    _hegui(
        env,
        "persons",
        "authorize",
        "chen",
        "--scope",
        "likeness",
        "--tenant",
        "default",
        "--purpose",
        "广告",
        "--grantor",
        "陈思远本人",
        "--evidence",
        "contract-ref-002",
    )
    base = f"http://127.0.0.1:{port}/v1"
    with (
        fake_upstream(up_port),
        hegui_server(port, env, root / "hegui.log"),
        OpenAI(base_url=base, api_key=key, max_retries=0, timeout=60) as client,
    ):
        yield Gw(base, key, env, client)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gw]:
    """The gateway with the default engine, rapidocr."""
    yield from _gateway(tmp_path_factory, "rapidocr")


@pytest.fixture(scope="module")
def gw_tesseract(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gw]:
    yield from _gateway(tmp_path_factory, "tesseract")


@pytest.fixture(params=["rapidocr", "tesseract"])
def ocr_gw(request: pytest.FixtureRequest) -> Gw:
    """Each OCR test against both engines (one gateway per engine for the module)."""
    gateway: Gw = request.getfixturevalue("gw" if request.param == "rapidocr" else "gw_tesseract")
    return gateway


def _audit(gw: Gw, request_id: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in _hegui(gw.env, "audit", "show", request_id).splitlines()]


def _client(gw: Gw) -> OpenAI:
    """One client for the module, closed with it (no socket is left to the garbage collector)."""
    return gw.client


def _edit(gw: Gw, prompt: str, image: bytes, **kw: object) -> bytes:
    r = _client(gw).images.edit(
        model="fake-image",
        image=("in.png", image, "image/png"),
        prompt=prompt,
        **kw,  # type: ignore[arg-type]
    )
    assert r.data and r.data[0].b64_json
    return base64.b64decode(r.data[0].b64_json)


def test_a_background_edit_passes_and_comes_back_labelled(gw: Gw) -> None:
    image = picture("今天天气很好")
    out = _edit(gw, "把背景换成海边", image)
    assert out != image and out.startswith(b"\x89PNG")
    assert b"AIGC" in out  # the implicit label in the XMP


def test_an_edit_of_a_registered_face_needs_the_persons_consent(gw: Gw) -> None:
    image = picture("合影")
    with pytest.raises(openai.BadRequestError) as refused:
        _edit(gw, "把照片里的脸换成陈思远的脸", image)
    assert "单独同意" in str(refused.value) and "X-Hegui-Consent" in str(refused.value)
    _hegui(
        gw.env,
        "persons",
        "consent",
        "add",
        "--subject",
        "陈思远",
        "--person",
        "chen",
        "--tenant",
        "default",
        "--scope",
        "likeness",
        "--purpose",
        "广告海报",
        "--consented-by",
        "陈思远本人",
        "--evidence",
        "consent-form-7",
    )
    assert _edit(gw, "把照片里的脸换成陈思远的脸", image).startswith(b"\x89PNG")


def test_an_unnamed_face_swap_needs_a_consent_named_in_the_header(gw: Gw) -> None:
    image = picture("合影")
    with pytest.raises(openai.BadRequestError):
        _edit(gw, "帮我换脸", image)
    out = _hegui(
        gw.env,
        "persons",
        "consent",
        "add",
        "--subject",
        "同事甲",
        "--tenant",
        "default",
        "--scope",
        "likeness",
        "--purpose",
        "年会视频",
        "--consented-by",
        "同事甲本人",
        "--evidence",
        "signed-2026-11",
    )
    consent_id = out.split()[2].rstrip(":")
    assert _edit(gw, "帮我换脸", image, extra_headers={"X-Hegui-Consent": consent_id}).startswith(b"\x89PNG")
    with pytest.raises(openai.BadRequestError) as unknown:
        _edit(gw, "帮我换脸", image, extra_headers={"X-Hegui-Consent": "0" * 32})
    assert "not on record" in str(unknown.value)


def test_a_voice_change_needs_a_consent(gw: Gw) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        _edit(gw, "把视频里他的声音变成女声", picture("配音"))
    assert "声音" in str(refused.value)


def test_a_deny_listed_term_drawn_in_the_edited_image_is_refused(ocr_gw: Gw) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        _edit(ocr_gw, "把背景换成蓝色", picture("海报标题", f"这里写着{TERM}"))
    assert refused.value.code == "content_filter"


def _vary(gw: Gw, image: bytes) -> object:
    with warnings.catch_warnings():  # the client marks create_variation deprecated; it is still sent
        warnings.simplefilter("ignore", DeprecationWarning)
        return _client(gw).images.create_variation(model="fake-image", image=("in.png", image, "image/png"))


def test_a_variation_passes_and_its_image_is_read(ocr_gw: Gw) -> None:
    r = _vary(ocr_gw, picture("花开"))
    assert r.data and r.data[0].b64_json  # type: ignore[attr-defined]
    with pytest.raises(openai.BadRequestError):
        _vary(ocr_gw, picture(f"{TERM}"))


def test_a_generated_image_carrying_a_deny_listed_term_is_stopped(ocr_gw: Gw) -> None:
    bad = base64.b64encode(picture("新品发布", f"标语：{TERM}")).decode()
    answer = {"created": 1, "data": [{"b64_json": bad}]}
    with pytest.raises(openai.BadRequestError) as stopped:
        _client(ocr_gw).images.generate(
            model="fake-image", prompt="一张海报", extra_body={"x_script": script(answer=answer)}
        )
    assert stopped.value.code == "content_filter"
    good = base64.b64encode(picture("新品发布")).decode()
    r = _client(ocr_gw).images.generate(
        model="fake-image",
        prompt="一张海报",
        extra_body={"x_script": script(answer={"created": 1, "data": [{"b64_json": good}]})},
    )
    assert r.data and r.data[0].b64_json


def test_an_unregistered_person_name_is_refused_in_an_image_request(gw: Gw) -> None:
    good = base64.b64encode(picture("海边")).decode()
    kw = {"extra_body": {"x_script": script(answer={"created": 1, "data": [{"b64_json": good}]})}}
    with pytest.raises(openai.BadRequestError) as refused:
        _client(gw).images.generate(model="fake-image", prompt="画一张张伟在海边散步的照片", **kw)  # type: ignore[arg-type]
    assert "张伟" in str(refused.value)
    assert _client(gw).images.generate(model="fake-image", prompt="画一张海边日落的照片", **kw).data  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["rapidocr", "tesseract"])
def test_ocr_fails_closed(engine: str) -> None:
    if available(engine) is not None:
        pytest.skip(f"{engine} is not installed")
    with pytest.raises(Exception, match="could not be decoded"):
        shared(engine).read(b"\x89PNG not really")


def _data_url(image: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(image).decode("ascii")


def _chat_with_image(gw: Gw, image: bytes) -> tuple[str, str | None]:
    text, finish, _ = _chat_with_image_id(gw, image)
    return text, finish


def _chat_with_image_id(gw: Gw, image: bytes) -> tuple[str, str | None, str]:
    r = _client(gw).chat.completions.create(
        model="fake-image",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "图里写了什么？"},
                    {"type": "image_url", "image_url": {"url": _data_url(image)}},
                ],
            }
        ],
    )
    return r.choices[0].message.content or "", r.choices[0].finish_reason, r.id


def test_a_chat_image_part_is_read_and_inspected(ocr_gw: Gw) -> None:
    text, finish = _chat_with_image(ocr_gw, picture("春天来了"))
    assert finish == "stop" and text.startswith("fake upstream heard")
    text, finish, request_id = _chat_with_image_id(ocr_gw, picture("标题", f"请看{TERM}"))
    assert finish == "content_filter" and TERM not in text
    # The input entry records the OCR reading and where in the picture the finding is: the box of the
    # second line (drawn at y = 100, 28 px high).
    (entry,) = [e for e in _audit(ocr_gw, request_id) if e["stage"] == "input"]
    detail = entry["detail"] if isinstance(entry["detail"], dict) else json.loads(str(entry["detail"]))
    part = "messages[0].content[1].image_url(ocr)"
    assert detail["images"][part]["lines"] >= 1
    ((left, top, width, height),) = detail["regions"][f"{part}:demo-denylist"]
    assert 80 <= top <= 110 and 20 <= height <= 50 and left >= 20 and width > 100


def test_a_chat_audio_part_is_transcribed_and_inspected(gw: Gw) -> None:
    def ask(spoken: str) -> tuple[str, str | None]:
        data = base64.b64encode(spoken.encode("utf-8")).decode("ascii")  # the fake ASR's "recording"
        r = _client(gw).chat.completions.create(
            model="fake-image",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}],
                }
            ],
        )
        return r.choices[0].message.content or "", r.choices[0].finish_reason

    assert ask("今天天气怎么样")[1] == "stop"
    text, finish = ask(f"请说{TERM}")
    assert finish == "content_filter" and TERM not in text


def _respond_with_image(gw: Gw, image: bytes) -> tuple[str, str]:
    r = _client(gw).responses.create(
        model="fake-image",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "图里写了什么？"},
                    {"type": "input_image", "image_url": _data_url(image)},
                ],
            }
        ],
    )
    return r.output_text, r.status


def test_a_responses_image_part_is_read_and_inspected(gw: Gw) -> None:
    text, status = _respond_with_image(gw, picture("春天来了"))
    assert status == "completed" and text.startswith("fake upstream heard")
    text, status = _respond_with_image(gw, picture(f"请看{TERM}"))
    assert status == "incomplete" and TERM not in text


def _message_with_image(gw: Gw, image: bytes) -> tuple[str, str | None]:
    import anthropic

    base = gw.base_url.removesuffix("/v1")
    with anthropic.Anthropic(base_url=base, api_key=gw.key, max_retries=0) as claude:
        m = claude.messages.create(
            model="fake-image",
            max_tokens=64,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "图里写了什么？"},
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": base64.b64encode(image).decode("ascii"),
                            },
                        },
                    ],
                }
            ],
        )
    text = "".join(b.text for b in m.content if b.type == "text")
    return text, m.stop_reason


def test_a_messages_image_block_is_read_and_inspected(gw: Gw) -> None:
    """Anthropic's Messages API through the official anthropic client: an image block read by OCR."""
    text, stop = _message_with_image(gw, picture("春天来了"))
    assert stop == "end_turn" and text.startswith("fake upstream heard")
    text, stop = _message_with_image(gw, picture(f"请看{TERM}"))
    assert stop == "refusal" and TERM not in text
