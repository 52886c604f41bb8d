"""End to end: the `works_overlap` and `persona` checks in a started gateway, through the openai client.

The protected corpus is synthetic (seeded sentences of a small vocabulary); the persons are fictional and
registered with the CLI in the gateway's own database before it starts (`registry = "database"`).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import script
from servers import VENV_BIN, create_key, fake_upstream, free_port, hegui_env, hegui_server

from hegui.works.index import Work, WorksIndex

pytestmark = pytest.mark.e2e

WORDS = [
    "山水",
    "明月",
    "春风",
    "故乡",
    "远方",
    "少年",
    "江湖",
    "长夜",
    "灯火",
    "归来",
    "城市",
    "河流",
    "记忆",
    "清晨",
    "窗前",
    "雨声",
    "花开",
    "落叶",
]

POLICY = """
version = "e2e-works-persons"
[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
models = ["fake-model"]
read_timeout = 5.0
total_timeout = 10.0

[[checks]]
name = "protected-works"
type = "works_overlap"
index = "works.npz"

[[checks]]
name = "persons"
type = "persona"
"""


def prose(seed: int, chars: int) -> str:
    rnd = random.Random(seed)
    out = ""
    while len(out) < chars:
        out += "".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 7))) + rnd.choice("，。；")
    return out[:chars]


@dataclass(frozen=True)
class Gw:
    base_url: str
    key: str
    work: str
    client: OpenAI


def _hegui(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(VENV_BIN / "hegui"), *args],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gw]:
    root = tmp_path_factory.mktemp("works-persons")
    work = prose(1, 3000)
    WorksIndex.build([Work("novel-1", work), Work("novel-2", prose(2, 3000))]).save(root / "works.npz")
    up_port, port = free_port(), free_port()
    policy = root / "hegui.toml"
    policy.write_text(POLICY.format(port=up_port), encoding="utf-8")
    env = hegui_env(root / "data", policy)
    key = create_key(env)  # tenant "default"
    _hegui(env, "persons", "add", "林晓雯", "--kind", "public_figure", "--misspelling", "林小雯")
    _hegui(env, "persons", "add", "陈思远", "--kind", "licensed", "--key", "chen")
    _hegui(
        env,
        "persons",
        "authorize",
        "chen",
        "--scope",
        "voice",
        "--tenant",
        "default",
        "--purpose",
        "有声书",
        "--grantor",
        "陈思远本人",
        "--evidence",
        "contract-ref-001",
    )
    base = f"http://127.0.0.1:{port}/v1"
    with (
        fake_upstream(up_port),
        hegui_server(port, env, root / "hegui.log"),
        OpenAI(base_url=base, api_key=key, max_retries=0) as client,
    ):
        yield Gw(base, key, work, client)


def _client(gw: Gw) -> OpenAI:
    """One client for the module, closed with it (no socket is left to the garbage collector)."""
    return gw.client


def _ask(gw: Gw, prompt: str, answer: str, *, stream: bool) -> tuple[str, str | None]:
    kw = {"extra_body": {"x_script": script(chunks=[answer[i : i + 5] for i in range(0, len(answer), 5)])}}
    messages = [{"role": "user", "content": prompt}]
    if not stream:
        r = _client(gw).chat.completions.create(model="fake-model", messages=messages, **kw)  # type: ignore[arg-type]
        return r.choices[0].message.content or "", r.choices[0].finish_reason
    out, finish = [], None
    for chunk in _client(gw).chat.completions.create(
        model="fake-model", messages=messages, stream=True, **kw
    ):  # type: ignore[arg-type,call-overload]
        for c in chunk.choices:
            out.append(c.delta.content or "")
            finish = c.finish_reason or finish
    return "".join(out), finish


def _lightly_edited(text: str) -> str:
    """Traditional characters, other punctuation and one character in 40 swapped."""
    import opencc

    chars = list(str(opencc.OpenCC("s2t").convert(text)).replace("，", " , ").replace("。", "…"))
    for i in range(20, len(chars), 40):
        chars[i] = "某"
    return "".join(chars)


@pytest.mark.parametrize("edited", [False, True])
@pytest.mark.parametrize("stream", [False, True])
def test_a_copied_answer_is_stopped(gw: Gw, stream: bool, edited: bool) -> None:
    copy = gw.work[1000:1100]
    if edited:
        copy = _lightly_edited(copy)
    text, finish = _ask(gw, "写一段文字", prose(50, 300) + copy + prose(51, 300), stream=stream)
    assert finish == "content_filter"
    assert copy[:50] not in text


@pytest.mark.parametrize("stream", [False, True])
def test_an_original_answer_passes(gw: Gw, stream: bool) -> None:
    answer = prose(60, 600)
    text, finish = _ask(gw, "写一段文字", answer, stream=stream)
    assert finish == "stop" and text.startswith(answer)


@pytest.mark.parametrize(
    ("prompt", "finish"),
    [
        ("画一张林小雯的照片", "content_filter"),  # registered misspelling, no authorization
        ("用陈思远的声音读这段话", "stop"),  # voice authorized for this tenant
        ("克隆陈思远的样子做个视频", "content_filter"),  # likeness is not authorized
        ("画一张张伟的照片", "stop"),  # not registered
    ],
)
def test_persona_requests(gw: Gw, prompt: str, finish: str) -> None:
    assert _ask(gw, prompt, "好的。", stream=False)[1] == finish


def test_a_defamatory_answer_is_stopped(gw: Gw) -> None:
    text, finish = _ask(gw, "说说林晓雯", "林晓雯是个骗子。", stream=False)
    assert finish == "content_filter" and "骗子" not in text
