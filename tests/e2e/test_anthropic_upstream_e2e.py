"""An upstream of ``type = "anthropic"`` (tests/e2e/fake_anthropic.py) behind a started gateway: reached
with ``x-api-key`` and ``anthropic-version``, its answers and events inspected, labelled and audited on
/v1/messages (official `anthropic` client), /v1/chat/completions and /v1/responses (official `openai`
client), whole and streamed."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from openai import OpenAI

from hegui.records.audit import find_by_request
from hegui.records.db import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import HERE, create_key, free_port, hegui_env, hegui_server, running

from conftest import Gateway

pytestmark = pytest.mark.e2e

TERM = "演示违禁词"
LABEL = "【AI生成】"
UPSTREAM_KEY = "sk-ant-fake-upstream-key"
POLICY = """
version = "e2e-anthropic"
[[upstreams]]
name = "claude"
type = "anthropic"
base_url = "http://127.0.0.1:{port}/v1"
api_key_env = "HEGUI_TEST_ANTHROPIC_KEY"
anthropic_version = "2023-06-01"
models = ["claude-fake"]
read_timeout = 2.0
total_timeout = 3.0
connect_timeout = 1.0
max_retries = 0
breaker_failures = 1000

[[checks]]
name = "demo-denylist"
type = "denylist"
terms = ["演示违禁词"]
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("anthropic")
    up_port, port = free_port(), free_port()
    policy = root / "hegui.toml"
    policy.write_text(POLICY.format(port=up_port), encoding="utf-8")
    env = hegui_env(root / "data", policy) | {"HEGUI_TEST_ANTHROPIC_KEY": UPSTREAM_KEY}
    key = create_key(env)
    log = root / "upstream.jsonl"
    fake_env = {"FAKE_UPSTREAM_LOG": str(log), "FAKE_ANTHROPIC_KEY": UPSTREAM_KEY}
    cmd = [sys.executable, str(HERE / "fake_anthropic.py"), str(up_port)]
    with (
        running(cmd, f"http://127.0.0.1:{up_port}/healthz", fake_env),
        hegui_server(port, env, root / "hegui.log"),
    ):
        yield Gateway(f"http://127.0.0.1:{port}/v1", key, env, root / "data", log)


@pytest.fixture(scope="module")
def clients(gw: Gateway) -> Iterator[tuple[anthropic.Anthropic, OpenAI]]:
    a = anthropic.Anthropic(base_url=gw.base_url.removesuffix("/v1"), api_key=gw.key, max_retries=0)
    o = OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0)
    yield a, o
    a.close()
    o.close()


def received(gw: Gateway) -> list[dict[str, Any]]:
    if not gw.upstream_log.exists():
        return []
    return [json.loads(line) for line in gw.upstream_log.read_text(encoding="utf-8").splitlines()]


def audit(gw: Gateway, request_id: str) -> list[tuple[str, str]]:
    engine = make_engine(f"sqlite:///{gw.data_dir / 'hegui.db'}")
    try:
        return [(e.stage, e.action) for e in find_by_request(engine, request_id)]
    finally:
        engine.dispose()


def scripted(**fields: Any) -> str:
    return "script:" + base64.b64encode(json.dumps(fields, ensure_ascii=False).encode()).decode()


def _text(message: Any) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


def test_messages_reach_the_anthropic_upstream_with_its_headers(
    gw: Gateway, clients: tuple[anthropic.Anthropic, OpenAI]
) -> None:
    message = clients[0].messages.create(
        model="claude-fake", max_tokens=32, system="be brief", messages=[{"role": "user", "content": "hello"}]
    )
    assert _text(message) == "fake anthropic heard: hello\n\n" + LABEL
    assert message.stop_reason == "end_turn"
    assert (message.model_extra or {})["AIGC"]["ProduceID"] == message.id
    last = received(gw)[-1]
    assert last["headers"]["x-api-key"] == UPSTREAM_KEY
    assert last["headers"]["anthropic-version"] == "2023-06-01"
    assert "authorization" not in last["headers"]
    assert last["body"]["system"] == "be brief"
    assert last["body"]["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]
    assert audit(gw, message.id) == [("input", "allow"), ("output", "allow")]


def test_messages_stream_from_the_anthropic_upstream(
    gw: Gateway, clients: tuple[anthropic.Anthropic, OpenAI]
) -> None:
    with clients[0].messages.stream(
        model="claude-fake", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "fake anthropic heard: hello\n\n" + LABEL
    assert final.stop_reason == "end_turn"
    assert audit(gw, final.id) == [("input", "allow"), ("output", "allow")]


def test_chat_completions_and_responses_reach_the_anthropic_upstream(
    gw: Gateway, clients: tuple[anthropic.Anthropic, OpenAI]
) -> None:
    o = clients[1]
    chat = o.chat.completions.create(model="claude-fake", messages=[{"role": "user", "content": "hi"}])
    assert chat.choices[0].message.content == "fake anthropic heard: hi\n\n" + LABEL
    chunks = o.chat.completions.create(
        model="claude-fake", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "fake anthropic heard: hi\n\n" + LABEL
    )
    use = {"type": "tool_use", "id": "toolu_9", "name": "lookup", "input": {"q": "rain"}}
    response = o.responses.create(model="claude-fake", input=scripted(blocks=[use], stop_reason="tool_use"))
    call = next(i for i in response.output if i.type == "function_call")
    assert call.name == "lookup" and json.loads(call.arguments) == {"q": "rain"}


@pytest.mark.parametrize(
    "blocks",
    [
        [{"type": "text", "text": f"sure: {TERM}"}],
        [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": TERM}}],
        [{"type": "thinking", "thinking": TERM, "signature": "s"}, {"type": "text", "text": "ok"}],
    ],
    ids=["text", "tool_use input", "thinking"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_term_from_the_anthropic_upstream_is_stopped(
    gw: Gateway, clients: tuple[anthropic.Anthropic, OpenAI], blocks: list[dict[str, Any]], stream: bool
) -> None:
    messages = [{"role": "user", "content": scripted(blocks=blocks)}]
    if stream:
        with clients[0].messages.stream(model="claude-fake", max_tokens=32, messages=messages) as s:
            events = [e.model_dump() for e in s]
            final = s.get_final_message()
        sent = json.dumps(events, ensure_ascii=False)
    else:
        final = clients[0].messages.create(model="claude-fake", max_tokens=32, messages=messages)
        sent = final.model_dump_json()
    assert TERM not in sent
    assert final.stop_reason == "refusal"
    assert ("output", "refuse") in audit(gw, final.id)


def test_a_term_in_the_input_never_reaches_the_anthropic_upstream(
    gw: Gateway, clients: tuple[anthropic.Anthropic, OpenAI]
) -> None:
    before = len(received(gw))
    message = clients[0].messages.create(
        model="claude-fake", max_tokens=32, messages=[{"role": "user", "content": f"about {TERM}"}]
    )
    assert message.stop_reason == "refusal"
    assert len(received(gw)) == before


def test_a_stream_cut_before_message_stop_is_an_error(
    gw: Gateway, clients: tuple[anthropic.Anthropic, OpenAI]
) -> None:
    content = scripted(blocks=[{"type": "text", "text": "half an answer"}], cut=True)
    stream = clients[1].chat.completions.create(
        model="claude-fake", messages=[{"role": "user", "content": content}], stream=True
    )
    with pytest.raises(openai.APIError):
        list(stream)
