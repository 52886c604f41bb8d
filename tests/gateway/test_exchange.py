"""One path for every route (gateway/exchange.py): the image route's output stage is the chat route's —
it records a failing check and restores pseudonyms — and what a request leaves to keep does not hold up
its answer; DSR and egress entries go through the one audit writer."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.types import Message
from tests.gateway.conftest import chat_post_scope

from hegui.guard import Context, Finding, Pipeline, Stage
from hegui.records import keep
from hegui.records.audit import iter_entries
from hegui.records.conversations import turns_of

PHONE = "13812345678"
FOREIGN = """
version = "exchange-test"
[provider]
region = "CN"
[[upstreams]]
name = "mock"
type = "openai"
base_url = "http://foreign.invalid/v1"
region = "US"
models = ["foreign-model"]
read_timeout = 2.0
total_timeout = 4.0
"""


def _png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 220, 240)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def image_upstream(seen: list[dict[str, Any]]) -> httpx.MockTransport:
    """Answers an image request with one picture and the prompt it received as ``revised_prompt``."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        item = {"b64_json": _png(), "revised_prompt": f"revised: {body['prompt']}"}
        return httpx.Response(200, json={"created": 1, "data": [item]})

    return httpx.MockTransport(handler)


def test_revised_prompt_gets_the_users_own_values_back(make_client: Any) -> None:
    seen: list[dict[str, Any]] = []
    client = make_client(FOREIGN, mock=image_upstream(seen))  # an upstream abroad
    r = client.post(
        "/v1/images/generations", json={"model": "foreign-model", "prompt": f"一张写着 {PHONE} 的海报"}
    )
    assert r.status_code == 200, r.text
    assert PHONE not in json.dumps(seen)  # the upstream abroad saw a pseudonym
    assert r.json()["data"][0]["revised_prompt"] == f"revised: 一张写着 {PHONE} 的海报"


@pytest.mark.parametrize("stream", [True, "true", 1])
def test_a_streamed_image_generation_is_refused_before_the_upstream(make_client: Any, stream: object) -> None:
    seen: list[dict[str, Any]] = []
    client = make_client(mock=image_upstream(seen))
    r = client.post(
        "/v1/images/generations", json={"model": "mock-model", "prompt": "一只猫", "stream": stream}
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "stream"
    assert seen == []
    plain = client.post(
        "/v1/images/generations", json={"model": "mock-model", "prompt": "一只猫", "stream": False}
    )
    assert plain.status_code == 200 and len(seen) == 1


class Broken:
    name = "broken"
    stages = frozenset({Stage.OUTPUT})
    horizon: int | None = 5
    version = "0"

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        raise RuntimeError("the classifier's model file vanished")


def test_a_failing_output_check_on_an_image_answer_is_recorded(make_client: Any) -> None:
    seen: list[dict[str, Any]] = []
    client = make_client(mock=image_upstream(seen))
    state = client.app.state.hegui
    state.pipeline = Pipeline([Broken()], policy_version="broken")
    r = client.post("/v1/images/generations", json={"model": "mock-model", "prompt": "一只猫"})
    assert r.status_code == 500 and r.json()["error"]["code"] == "check_failed"
    assert "b64_json" not in r.text
    entries = list(iter_entries(state.engine))
    assert [(e.stage, e.action) for e in entries] == [("input", "allow"), ("output", "error")]
    assert json.loads(entries[-1].detail)["error"] == "check_failed"


def test_keeping_a_turn_does_not_hold_up_the_answer(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()
    state = client.app.state.hegui
    real = keep.keep_turn

    def slow(*args: Any, **kwargs: Any) -> None:
        time.sleep(1.0)  # a slow database: the conversation store and the pool take a second
        real(*args, **kwargs)

    monkeypatch.setattr(keep, "keep_turn", slow)
    started = time.perf_counter()
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "hegui-demo",
            "user": "alice",
            "messages": [{"role": "user", "content": "你好，介绍一下你自己"}],
        },
    )
    took = time.perf_counter() - started
    assert r.status_code == 200, r.text
    assert took < 0.8, f"the answer waited for the keep ({took:.2f} s)"
    assert keep.pending(state.engine) <= 1  # journaled before the answer left (or already kept)
    assert keep.settle(state.engine, state.vault, state.policy.records) == 0
    turns = turns_of(state.engine, state.vault, "default", "alice")
    assert [(t.role, t.request_id) for t in turns] == [
        ("user", r.json()["id"]),
        ("assistant", r.json()["id"]),
    ]


def test_a_refused_turn_is_journaled_before_the_refusal_leaves(make_client: Any) -> None:
    client = make_client()
    state = client.app.state.hegui
    state.keeper.close()  # nothing keeps it: what the refusal left behind stays in the journal
    r = client.post(
        "/v1/chat/completions",
        json={"model": "hegui-demo", "user": "bob", "messages": [{"role": "user", "content": "演示违禁词"}]},
    )
    assert r.json()["choices"][0]["finish_reason"] == "content_filter"
    assert keep.pending(state.engine) == 1
    assert keep.settle(state.engine, state.vault, state.policy.records) == 0
    assert [t.role for t in turns_of(state.engine, state.vault, "default", "bob")] == ["user", "assistant"]


def test_dsr_entries_go_through_the_gateways_audit_writer(make_client: Any) -> None:
    client = make_client()
    state = client.app.state.hegui
    admin_key, _ = state.keys.create(name="admin", role="admin")
    before = state.audit.entries
    r = client.post(
        "/hegui/api/dsr",
        json={"user": "carol", "kind": "access"},
        headers={"authorization": f"Bearer {admin_key}"},
    )
    assert r.status_code == 201, r.text
    done = client.post(
        f"/hegui/api/dsr/{r.json()['id']}/complete", json={}, headers={"authorization": f"Bearer {admin_key}"}
    )
    assert done.status_code == 200, done.text
    assert state.audit.entries == before + 2  # dsr-open and dsr-done, written by the writer thread
    actions = [e.action for e in iter_entries(state.engine) if e.request_id.startswith("dsr-")]
    assert actions == ["dsr-open", "dsr-done"]


def test_a_client_that_leaves_while_its_body_is_read_is_not_an_unexpected_error(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[dict[str, Any]] = []
    client = make_client(mock=image_upstream(seen))
    sent: list[Message] = []
    first = True

    async def receive() -> Message:
        nonlocal first
        if first:  # part of the body, then the client is gone
            first = False
            return {"type": "http.request", "body": b'{"model": "mock-model", "mess', "more_body": True}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = chat_post_scope(client.headers["authorization"])
    with caplog.at_level(logging.INFO):
        client.portal.call(client.app, scope, receive, send)
    assert sent[0]["status"] == 400 and b"client_disconnected" in sent[1]["body"]
    assert "unexpected error" not in caplog.text and "client disconnected" in caplog.text
    assert seen == []
