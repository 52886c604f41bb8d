"""The output stage judges an answer with its question: ``Context.prompt`` is the latest user turn.

The gateway runs in this process under uvicorn on loopback (so that a test check can be put in its
pipeline) and is called with the official ``openai`` client, whole and streamed, on chat completions and
legacy completions. The upstream always gives the same answer; only the question differs. The test check
refuses that answer when the question asks for harm, as an answer model would, so the verdicts show that
the check saw the question.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from openai import OpenAI

from hegui.gateway import create_app
from hegui.guard import Context, Finding, Pipeline, Stage
from hegui.guard.types import Action
from hegui.policy import parse_policy
from hegui.settings import Settings

POLICY = """
version = "prompt-test"
[[upstreams]]
name = "mock"
type = "openai"
base_url = "http://mock.invalid/v1"
models = ["mock-model"]
read_timeout = 2.0
total_timeout = 4.0
"""

SENTENCES = ["好的，下面是方法。", "第一步：准备材料。", "第二步：按说明操作。"]
ANSWER = "".join(SENTENCES)
HARMFUL_ASK = "怎样伤害别人"
LABEL = "\n\n【AI生成】"


@dataclass
class PromptSeer:
    """Records the prompt it is given with every answer, and refuses a how-to when the question asks harm."""

    name: str = "prompt-seer"
    stages: frozenset[Stage] = frozenset({Stage.OUTPUT})
    horizon: int | None = None
    version: str = "test"
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        self.seen.append((text, ctx.prompt))
        if ctx.prompt is not None and HARMFUL_ASK in ctx.prompt and "第一步" in text:
            return [Finding(self.name, "A.1h", 0, len(text), text, Action.REFUSE, 0.9, tier="model")]
        return []


def _upstream() -> httpx.MockTransport:
    """Answers ANSWER to anything, in the chat or the completions shape, whole or as an SSE stream."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        chat = request.url.path.endswith("/chat/completions")
        pieces = [ANSWER[i : i + 4] for i in range(0, len(ANSWER), 4)]
        base = {"id": "x", "created": 1, "model": body["model"]}
        if not body.get("stream"):
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
            if chat:
                choice["message"] = {"role": "assistant", "content": ANSWER}
            else:
                choice["text"] = ANSWER
            obj = "chat.completion" if chat else "text_completion"
            return httpx.Response(200, json=base | {"object": obj, "choices": [choice]})
        events = []
        for i, piece in enumerate([*pieces, ""]):
            finish = "stop" if i == len(pieces) else None
            if chat:
                c: dict[str, Any] = {"index": 0, "delta": {"content": piece} if piece else {}}
            else:
                c = {"index": 0, "text": piece, "logprobs": None}
            obj = "chat.completion.chunk" if chat else "text_completion"
            events.append(base | {"object": obj, "choices": [c | {"finish_reason": finish}]})
        lines = [f"data: {json.dumps(e, ensure_ascii=False)}" for e in events] + ["data: [DONE]"]
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content="\n\n".join(lines).encode() + b"\n\n"
        )

    return httpx.MockTransport(handler)


@dataclass
class SentenceSeer(PromptSeer):
    """The same judge, asked at every sentence end of a stream."""

    name: str = "sentence-seer"
    judges_at: str = "sentence"


@dataclass
class Served:
    client: OpenAI
    seer: PromptSeer
    state: Any


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("prompt")
    app = create_app(
        Settings(data_dir=Path(data)),
        policy=parse_policy(POLICY, "test.toml"),
        transports={"mock": _upstream()},
    )
    seer = PromptSeer()
    state = app.state.hegui
    state.pipeline = Pipeline([seer], policy_version=state.pipeline.policy_version)
    key, _ = state.keys.create(name="test")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=10)
    try:
        yield Served(client, seer, state)
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=15)


QUESTIONS = [("今天天气怎么样？", False), (f"请告诉我{HARMFUL_ASK}", True)]


def _chat(served: Served, messages: list[dict[str, str]], *, stream: bool) -> tuple[str, str | None]:
    if not stream:
        r = served.client.chat.completions.create(model="mock-model", messages=messages)  # type: ignore[arg-type]
        return r.choices[0].message.content or "", r.choices[0].finish_reason
    out, finish = [], None
    for chunk in served.client.chat.completions.create(
        model="mock-model",
        messages=messages,  # type: ignore[arg-type]
        stream=True,
    ):
        for choice in chunk.choices:
            out.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    return "".join(out), finish


def _completion(served: Served, prompt: str, *, stream: bool) -> tuple[str, str | None]:
    if not stream:
        r = served.client.completions.create(model="mock-model", prompt=prompt)
        return r.choices[0].text, r.choices[0].finish_reason
    out, finish = [], None
    for chunk in served.client.completions.create(model="mock-model", prompt=prompt, stream=True):
        for choice in chunk.choices:
            out.append(choice.text)
            finish = choice.finish_reason or finish
    return "".join(out), finish


def _assert_judged(served: Served, question: str, harmful: bool, text: str, finish: str | None) -> None:
    assert served.seer.seen, "the output stage never ran"
    assert all(prompt == question for _, prompt in served.seer.seen), served.seer.seen
    assert "".join(t for t, _ in served.seer.seen).startswith(ANSWER[:4])
    if harmful:
        assert finish == "content_filter"
        assert "第一步" not in text
    else:
        assert finish == "stop"
        assert text == ANSWER + LABEL


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(("question", "harmful"), QUESTIONS)
def test_chat_answer_is_judged_with_the_last_user_turn(
    served: Served, question: str, harmful: bool, stream: bool
) -> None:
    served.seer.seen.clear()
    messages = [
        {"role": "system", "content": "你是助手。"},
        {"role": "user", "content": "一个更早的问题"},
        {"role": "assistant", "content": "更早的回答"},
        {"role": "user", "content": question},
    ]
    text, finish = _chat(served, messages, stream=stream)
    _assert_judged(served, question, harmful, text, finish)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(("question", "harmful"), QUESTIONS)
def test_completion_answer_is_judged_with_the_prompt(
    served: Served, question: str, harmful: bool, stream: bool
) -> None:
    served.seer.seen.clear()
    text, finish = _completion(served, question, stream=stream)
    _assert_judged(served, question, harmful, text, finish)


def test_a_stream_judged_at_sentence_ends_releases_judged_sentences_and_stops_at_a_refused_one(
    served: Served,
) -> None:
    """The judge refuses once it sees "第一步" in an answer to a harmful question: the first sentence of
    the same answer (which has no how-to) reaches the client before the stream stops."""
    sentence = SentenceSeer()
    pipeline = served.state.pipeline
    served.state.pipeline = Pipeline([sentence], policy_version=pipeline.policy_version)
    try:
        harmful = [{"role": "user", "content": f"请告诉我{HARMFUL_ASK}"}]
        text, finish = _chat(served, harmful, stream=True)
        assert finish == "content_filter"
        assert text == SENTENCES[0] + LABEL  # released before the refusal, then the label, then the stop
        assert all(prompt == harmful[0]["content"] for _, prompt in sentence.seen)
        sentence.seen.clear()
        benign = [{"role": "user", "content": "今天天气怎么样？"}]
        text, finish = _chat(served, benign, stream=True)
        assert (text, finish) == (ANSWER + LABEL, "stop")
        # Judged at the sentence end and at the end of the stream, each time from the start.
        ends = [len("".join(SENTENCES[: i + 1])) for i in range(len(SENTENCES))]
        assert [len(t) for t, _ in sentence.seen] == ends
    finally:
        served.state.pipeline = pipeline
