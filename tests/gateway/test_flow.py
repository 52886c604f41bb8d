"""A request's path in-process: masking, fail-closed checks, stream splits, tool calls, audit content."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hegui.guard import Context, Finding, Pipeline, Stage
from hegui.guard.refusals import RefusalCatalog
from hegui.records.audit import iter_entries

TERM = "演示违禁词"
LABEL = "\n\n【AI生成】"  # the bundled policy's explicit label, at the end of every answer


def unlabelled(text: str) -> str:
    """The answer without its explicit label, which must be there."""
    assert text.endswith(LABEL), f"no explicit label at the end of {text!r}"
    return text.removesuffix(LABEL)


STOP = RefusalCatalog().notice("output_stopped")  # the default end of a stopped stream


def generated_before_stop(text: str) -> str:
    """The generated text of a stopped stream. It ends with the stop text; generated text before it, if
    any, carries the explicit label, and a stream that released none carries no label at all."""
    assert text.endswith(STOP), f"no stop text at the end of {text!r}"
    body = text.removesuffix(STOP)
    if not body:
        return ""
    assert body.endswith(LABEL + "\n\n"), f"generated text without its label in {text!r}"
    return body.removesuffix(LABEL + "\n\n")


def sse_transport(
    chunks: list[dict[str, Any]] | Callable[[dict[str, Any]], list[dict[str, Any]]],
    seen: list[dict[str, Any]] | None = None,
) -> httpx.MockTransport:
    """An upstream that streams the given chat deltas (or answers them whole when not streaming)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if seen is not None:
            seen.append(body)
        deltas = chunks(body) if callable(chunks) else chunks
        if not body.get("stream"):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(d.get("content", "") for d in deltas),
            }
            calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
            if calls:
                message["tool_calls"] = [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {
                            "name": "f",
                            "arguments": "".join(c["function"]["arguments"] for c in calls),
                        },
                    }
                ]
            return httpx.Response(
                200,
                json={
                    "id": "x",
                    "object": "chat.completion",
                    "created": 1,
                    "model": body["model"],
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                },
            )
        lines = [
            "data: "
            + json.dumps(
                {
                    "id": "x",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": d, "finish_reason": None}],
                },
                ensure_ascii=False,
            )
            for d in deltas
        ]
        lines.append(
            "data: "
            + json.dumps(
                {
                    "id": "x",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
            )
        )
        lines.append("data: [DONE]")
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content="\n\n".join(lines).encode() + b"\n\n"
        )

    return httpx.MockTransport(handler)


def read_stream(response: httpx.Response) -> tuple[str, str, str | None]:
    """(content, tool-call arguments, finish_reason) of an SSE answer."""
    content, args, finish = [], [], None
    for line in response.text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        for choice in chunk.get("choices", []):
            delta = choice.get("delta") or {}
            content.append(delta.get("content") or "")
            for call in delta.get("tool_calls") or []:
                args.append(call["function"].get("arguments") or "")
            finish = choice.get("finish_reason") or finish
    return "".join(content), "".join(args), finish


def chat(
    client: Any, *, stream: bool, content: str = "hi", model: str = "mock-model", **extra: Any
) -> httpx.Response:
    return client.post(
        "/v1/chat/completions",
        json={"model": model, "stream": stream, "messages": [{"role": "user", "content": content}], **extra},
    )


TEXT = f"开头{TERM}结尾"
THREE_WAY = [(i, j) for i, j in itertools.combinations(range(1, len(TEXT)), 2)]


@pytest.mark.parametrize(("i", "j"), THREE_WAY)
def test_term_split_in_three_chunks_is_never_released(make_client: Any, i: int, j: int) -> None:
    pieces = [TEXT[:i], TEXT[i:j], TEXT[j:]]
    client = make_client(mock=sse_transport([{"content": p} for p in pieces]))
    content, _, finish = read_stream(chat(client, stream=True))
    assert finish == "content_filter"
    assert "开头".startswith(generated_before_stop(content))


def test_tool_call_arguments_are_inspected_in_streams(make_client: Any) -> None:
    deltas = [
        {
            "tool_calls": [
                {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": a}}
            ]
        }
        for a in ['{"q": "演示', '违禁词"}']
    ]
    client = make_client(mock=sse_transport(deltas))
    _, args, finish = read_stream(chat(client, stream=True))
    assert finish == "content_filter"
    assert TERM not in args


def test_tool_call_arguments_are_inspected_whole(make_client: Any) -> None:
    deltas = [{"tool_calls": [{"index": 0, "function": {"arguments": '{"q": "演示违禁词"}'}}]}]
    client = make_client(mock=sse_transport(deltas))
    answer = chat(client, stream=False).json()
    assert answer["choices"][0]["finish_reason"] == "content_filter"
    assert TERM not in json.dumps(answer, ensure_ascii=False)


@pytest.mark.parametrize("stream", [False, True])
def test_masked_output(make_client: Any, stream: bool) -> None:
    client = make_client(mock=sse_transport([{"content": "电话1380013"}, {"content": "8000，请回电"}]))
    response = chat(client, stream=stream)
    text = read_stream(response)[0] if stream else response.json()["choices"][0]["message"]["content"]
    assert unlabelled(text) == "电话***********，请回电"
    entries = list(iter_entries(client.app.state.hegui.engine))
    assert [(e.stage, e.action) for e in entries] == [("input", "allow"), ("output", "mask")]


def test_masked_input_reaches_the_upstream_masked(make_client: Any) -> None:
    seen: list[dict[str, Any]] = []
    client = make_client(mock=sse_transport([{"content": "ok"}], seen))
    assert chat(client, stream=False, content="我的电话是13800138000").status_code == 200
    assert seen[0]["messages"][0]["content"] == "我的电话是***********"


def test_audit_entries_hold_no_content(make_client: Any) -> None:
    client = make_client()
    response = chat(client, stream=False, model="hegui-demo", content=f"秘密内容{TERM}")
    assert response.json()["choices"][0]["finish_reason"] == "content_filter"
    (entry,) = list(iter_entries(client.app.state.hegui.engine))
    stored = json.dumps(entry.to_json(), ensure_ascii=False)
    assert "秘密" not in stored and TERM not in stored
    assert json.loads(entry.findings) == [
        {
            "action": "refuse",
            "category": "A.1h",
            "check": "demo-denylist",
            "end": 9,
            "field": "messages[0].content",
            "start": 4,
        }
    ]
    assert entry.request_id == response.json()["id"] == response.headers["x-hegui-request-id"]


def test_end_user_from_header_or_user_field(make_client: Any) -> None:
    client = make_client()
    client.post(
        "/v1/chat/completions",
        json={"model": "hegui-demo", "messages": [{"role": "user", "content": "a"}]},
        headers={"x-hegui-user": "u-header"},
    )
    client.post(
        "/v1/chat/completions",
        json={"model": "hegui-demo", "user": "u-field", "messages": [{"role": "user", "content": "a"}]},
        headers={"x-hegui-user": "u-header"},
    )
    users = [e.end_user for e in iter_entries(client.app.state.hegui.engine)]
    assert users == ["u-header", "u-header", "u-field", "u-field"]


class Broken:
    name = "broken"
    stages = frozenset({Stage.INPUT, Stage.OUTPUT})
    horizon: int | None = 5
    version = "0"

    def __init__(self, stage: Stage) -> None:
        self.stages = frozenset({stage})

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        raise RuntimeError("lexicon file vanished")


@pytest.mark.parametrize(
    ("stage", "stream"),
    [(Stage.INPUT, False), (Stage.OUTPUT, False), (Stage.INPUT, True), (Stage.OUTPUT, True)],
)
def test_a_failing_check_fails_closed(make_client: Any, stage: Stage, stream: bool) -> None:
    seen: list[dict[str, Any]] = []
    client = make_client(mock=sse_transport([{"content": "secret answer"}], seen))
    state = client.app.state.hegui
    state.pipeline = Pipeline([Broken(stage)], policy_version="broken")
    response = chat(client, stream=stream)
    if stage == Stage.INPUT:
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "check_failed"
        assert seen == []
    else:
        assert "secret" not in response.text
        if stream:
            assert read_stream(response)[2] == "content_filter"
        else:
            assert response.status_code == 500
    entries = list(iter_entries(state.engine))
    expected = [("input", "error")] if stage == Stage.INPUT else [("input", "allow"), ("output", "error")]
    assert [(e.stage, e.action) for e in entries] == expected
    assert json.loads(entries[-1].detail)["error"] == "check_failed"


def test_completions_stream_and_refusal(make_client: Any) -> None:
    client = make_client()
    r = client.post("/v1/completions", json={"model": "hegui-demo", "prompt": "你好", "stream": True})
    text = "".join(
        json.loads(line[6:])["choices"][0]["text"]
        for line in r.text.splitlines()
        if line.startswith("data: {")
    )
    assert "你好" in text
    refused = client.post("/v1/completions", json={"model": "hegui-demo", "prompt": ["ok", TERM]}).json()
    assert refused["choices"][0]["finish_reason"] == "content_filter"


def test_metrics_count_requests_and_decisions(make_client: Any) -> None:
    client = make_client()
    chat(client, stream=False, model="hegui-demo", content=TERM)
    body = client.get("/metrics").text
    assert 'hegui_requests_total{endpoint="chat.completions",status="200"} 1.0' in body
    assert 'hegui_decisions_total{action="refuse",category="A.1h",stage="input"} 1.0' in body
    assert "hegui_check_latency_seconds_bucket" in body


def test_health_and_readiness(make_client: Any) -> None:
    client = make_client()
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["problems"] == []
    client.app.state.hegui.audit.close()
    assert client.get("/readyz").status_code == 503


@pytest.mark.parametrize("stream", [False, True])
def test_no_answer_leaves_when_decisions_cannot_be_recorded(make_client: Any, stream: bool) -> None:
    seen: list[dict[str, Any]] = []
    client = make_client(mock=sse_transport([{"content": "an answer"}], seen))
    client.app.state.hegui.audit.close()  # the writer is gone: nothing can be recorded
    response = chat(client, stream=stream)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert "an answer" not in response.text
