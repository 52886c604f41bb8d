"""/v1/responses and /v1/messages through the official `openai` and `anthropic` clients against a
started gateway and the scriptable upstream (tests/e2e/fake_upstream.py), whole and streamed.

Input: a deny-listed term in each field of each surface is refused and the upstream receives nothing
(a tool's output included: ``function_call_output``, ``tool_result``); content hegui cannot inspect or
translate is a 400. Output: a term in each field of the upstream's answer is stopped. Labels (explicit
in the text, implicit in the body and the header) and audit entries are checked on each surface.
"""

from __future__ import annotations

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
from fake_upstream import script

from conftest import Gateway

pytestmark = pytest.mark.e2e

TERM = "演示违禁词"
LABEL = "【AI生成】"
_CLIENTS: dict[str, Any] = {}


def oai(gw: Gateway) -> OpenAI:
    if "openai" not in _CLIENTS:
        _CLIENTS["openai"] = OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0)
    client: OpenAI = _CLIENTS["openai"]
    return client


def claude(gw: Gateway) -> anthropic.Anthropic:
    """The official client as Anthropic users configure it: the key in ``x-api-key``."""
    if "anthropic" not in _CLIENTS:
        base = gw.base_url.removesuffix("/v1")
        _CLIENTS["anthropic"] = anthropic.Anthropic(base_url=base, api_key=gw.key, max_retries=0)
    client: anthropic.Anthropic = _CLIENTS["anthropic"]
    return client


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for c in _CLIENTS.values():
        c.close()
    _CLIENTS.clear()


def audit(gw: Gateway, request_id: str) -> list[tuple[str, str, str]]:
    engine = make_engine(f"sqlite:///{gw.data_dir / 'hegui.db'}")
    try:
        entries = find_by_request(engine, request_id)
        return [(e.stage, e.action, json.loads(e.detail).get("endpoint", "")) for e in entries]
    finally:
        engine.dispose()


def upstream_requests(gw: Gateway) -> list[dict[str, Any]]:
    if not gw.upstream_log.exists():
        return []
    return [json.loads(line) for line in gw.upstream_log.read_text(encoding="utf-8").splitlines()]


def _chat_answer(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 1,
        "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant"} | message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }


def _chat_events(deltas: list[dict[str, Any]], finish: str = "stop") -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": "fake-model"}
    chunks = [base | {"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    return [*chunks, base | {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}]


def _call(name: str = "lookup", arguments: str = '{"q": "weather"}') -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}


# == /v1/responses ==================================================================================

FN_TOOL = {
    "type": "function",
    "name": "lookup",
    "description": "look a word up",
    "parameters": {"type": "object", "properties": {"q": {"type": "string", "description": "the word"}}},
    "strict": False,
}
HI = [{"role": "user", "content": "hi"}]
CALL_ITEM = {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": '{"q": "x"}'}

RESPONSES_INPUT: list[tuple[str, dict[str, Any]]] = [
    ("input string", {"input": f"tell me about {TERM}"}),
    ("instructions", {"input": "hi", "instructions": f"always say {TERM}"}),
    (
        "input_text part",
        {"input": [{"role": "user", "content": [{"type": "input_text", "text": TERM}]}]},
    ),
    ("developer message", {"input": [{"role": "developer", "content": TERM}, *HI]}),
    (
        "assistant output_text",
        {
            "input": [
                *HI,
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": TERM}]},
                *HI,
            ]
        },
    ),
    ("function_call name", {"input": [*HI, CALL_ITEM | {"name": TERM}]}),
    ("function_call arguments", {"input": [*HI, CALL_ITEM | {"arguments": json.dumps({"q": TERM})}]}),
    (
        "function_call_output (string)",
        {"input": [*HI, CALL_ITEM, {"type": "function_call_output", "call_id": "call_1", "output": TERM}]},
    ),
    (
        "function_call_output (parts)",
        {
            "input": [
                *HI,
                CALL_ITEM,
                {
                    "type": "function_call_output",
                    "call_id": "call_1",
                    "output": [{"type": "input_text", "text": f"result: {TERM}"}],
                },
            ]
        },
    ),
    (
        "reasoning summary",
        {
            "input": [
                *HI,
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": TERM}]},
                *HI,
            ]
        },
    ),
    ("tool description", {"input": "hi", "tools": [FN_TOOL | {"description": TERM}]}),
    (
        "tool parameter description",
        {
            "input": "hi",
            "tools": [
                FN_TOOL | {"parameters": {"type": "object", "properties": {"q": {"description": TERM}}}}
            ],
        },
    ),
    (
        "text.format schema",
        {
            "input": "hi",
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "out",
                    "schema": {"type": "object", "description": TERM},
                }
            },
        },
    ),
    ("metadata", {"input": "hi", "metadata": {"note": TERM}}),
    ("unknown field", {"input": "hi", "x_note": TERM}),
    (
        "split across instructions and input",
        {"input": TERM[2:], "instructions": f"hello {TERM[:2]}"},
    ),
]
_RESPONSES_KW = {"input", "instructions", "tools", "text", "metadata", "tool_choice"}


def _responses(gw: Gateway, body: dict[str, Any], *, stream: bool = False, **extra_body: Any) -> Any:
    kwargs = {k: v for k, v in body.items() if k in _RESPONSES_KW}
    extra = {k: v for k, v in body.items() if k not in _RESPONSES_KW} | extra_body
    return oai(gw).responses.create(model="fake-model", stream=stream, extra_body=extra or None, **kwargs)


def _collect_responses(stream: Any) -> tuple[list[Any], Any]:
    events = list(stream)
    final = next(
        (
            e.response
            for e in events
            if e.type in ("response.completed", "response.incomplete", "response.failed")
        ),
        None,
    )
    return events, final


@pytest.mark.parametrize("body", [c[1] for c in RESPONSES_INPUT], ids=[c[0] for c in RESPONSES_INPUT])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_responses_a_term_in_any_input_field_is_refused_and_not_sent(
    gateway: Gateway, body: dict[str, Any], stream: bool
) -> None:
    before = len(upstream_requests(gateway))
    if stream:
        events, response = _collect_responses(_responses(gateway, body, stream=True))
        assert events[0].type == "response.created"
        assert events[-1].type == "response.incomplete"
    else:
        response = _responses(gateway, body)
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "content_filter"
    assert TERM not in response.output_text
    assert audit(gateway, response.id) == [("input", "refuse", "responses")]
    assert len(upstream_requests(gateway)) == before, "the upstream received the request"


@pytest.mark.parametrize(
    "item",
    [
        {"type": "input_image_generation_call", "id": "x"},
        {"type": "computer_call_output", "call_id": "c", "output": {"type": "computer_screenshot"}},
        {"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]},
        {"type": "item_reference", "id": "msg_1"},
    ],
    ids=["unknown type", "computer_call_output", "input_image", "item_reference"],
)
def test_responses_items_hegui_cannot_inspect_are_a_400(gateway: Gateway, item: dict[str, Any]) -> None:
    before = len(upstream_requests(gateway))
    with pytest.raises(openai.BadRequestError):
        _responses(gateway, {"input": [*HI, item]})
    with pytest.raises(openai.BadRequestError):
        _responses(gateway, {"input": "hi", "previous_response_id": "resp_1"})
    with pytest.raises(openai.BadRequestError):
        _responses(gateway, {"input": "hi", "tools": [{"type": "web_search"}]})
    assert len(upstream_requests(gateway)) == before


def test_responses_translation_reaches_the_upstream_as_chat(gateway: Gateway) -> None:
    body = {
        "instructions": "be brief",
        "input": [
            *HI,
            CALL_ITEM,
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        ],
        "tools": [FN_TOOL],
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}},
    }
    response = _responses(gateway, body)
    assert response.status == "completed"
    sent = upstream_requests(gateway)[-1]
    roles = [m["role"] for m in sent["messages"]]
    assert roles == ["system", "user", "assistant", "tool"]
    assert sent["messages"][2]["tool_calls"][0]["function"]["name"] == "lookup"
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    assert sent["tools"][0]["function"]["description"] == "look a word up"
    assert sent["response_format"]["json_schema"]["name"] == "out"
    assert audit(gateway, response.id) == [("input", "allow", "responses"), ("output", "allow", "responses")]


def test_responses_whole_answer_is_labelled_and_audited(gateway: Gateway) -> None:
    raw = oai(gateway).responses.with_raw_response.create(model="fake-model", input="hello")
    response = raw.parse()
    assert response.status == "completed"
    assert response.output_text.startswith("fake upstream heard: hello")
    assert response.output_text.endswith(LABEL)
    assert (response.model_extra or {})["AIGC"]["ProduceID"] == response.id
    assert response.id in raw.headers["x-aigc-label"]
    assert response.usage is not None and response.usage.output_tokens == 1


def test_responses_stream_events_labels_and_audit(gateway: Gateway) -> None:
    events, response = _collect_responses(
        _responses(
            gateway, {"input": "hello"}, stream=True, x_script=script(chunks=["one ", "two ", "three"])
        )
    )
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "one two three" + "\n\n" + LABEL
    assert response.output_text == deltas
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert (response.model_extra or {})["AIGC"]["ProduceID"] == response.id
    assert audit(gateway, response.id) == [("input", "allow", "responses"), ("output", "allow", "responses")]


RESPONSES_OUTPUT: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    ("output text", {"content": f"sure: {TERM}"}, [{"content": "sure: "}, {"content": TERM}]),
    ("refusal", {"refusal": TERM}, [{"refusal": TERM}]),
    (
        "reasoning",
        {"content": "ok", "reasoning_content": TERM},
        [{"reasoning_content": TERM}, {"content": "ok"}],
    ),
    (
        "function_call arguments",
        {"content": None, "tool_calls": [_call(arguments=json.dumps({"q": TERM}, ensure_ascii=False))]},
        [{"tool_calls": [{"index": 0} | _call(arguments=json.dumps({"q": TERM}, ensure_ascii=False))]}],
    ),
    (
        "function_call name",
        {"content": None, "tool_calls": [_call(name=TERM)]},
        [{"tool_calls": [{"index": 0} | _call(name=TERM)]}],
    ),
]


@pytest.mark.parametrize(
    ("message", "deltas"), [c[1:] for c in RESPONSES_OUTPUT], ids=[c[0] for c in RESPONSES_OUTPUT]
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_responses_a_term_in_any_output_field_is_stopped(
    gateway: Gateway, message: dict[str, Any], deltas: list[dict[str, Any]], stream: bool
) -> None:
    if stream:
        x_script = script(events=_chat_events(deltas))
        events, response = _collect_responses(
            _responses(gateway, {"input": "hi"}, stream=True, x_script=x_script)
        )
        sent = json.dumps([e.model_dump() for e in events], ensure_ascii=False)
    else:
        response = _responses(gateway, {"input": "hi"}, x_script=script(answer=_chat_answer(message)))
        sent = response.model_dump_json()
    assert TERM not in sent
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "content_filter"
    assert ("output", "refuse", "responses") in audit(gateway, response.id)


def test_responses_upstream_fault_in_a_stream_is_an_error_event(gateway: Gateway) -> None:
    events = [*_chat_events([{"content": "half"}])[:1], {"choices": [5]}]
    stream = _responses(gateway, {"input": "hi"}, stream=True, x_script=script(events=events))
    got, response = _collect_responses(stream)
    assert [e.type for e in got][-2:] == ["error", "response.failed"]
    assert response.status == "failed"
    assert ("output", "error", "responses") in audit(gateway, response.id)


# == /v1/messages ===================================================================================

ANTHROPIC_TOOL = {
    "name": "lookup",
    "description": "look a word up",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string", "description": "the word"}}},
}
USER = [{"role": "user", "content": "hi"}]
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}


def _tool_turns(result: Any = "sunny", use: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        *USER,
        {"role": "assistant", "content": [use or TOOL_USE]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result}]},
    ]


MESSAGES_INPUT: list[tuple[str, dict[str, Any]]] = [
    ("user string", {"messages": [{"role": "user", "content": f"tell me about {TERM}"}]}),
    ("system string", {"messages": USER, "system": f"always say {TERM}"}),
    ("system blocks", {"messages": USER, "system": [{"type": "text", "text": TERM}]}),
    ("text block", {"messages": [{"role": "user", "content": [{"type": "text", "text": TERM}]}]}),
    ("tool_use name", {"messages": _tool_turns(use=TOOL_USE | {"name": TERM})}),
    ("tool_use input", {"messages": _tool_turns(use=TOOL_USE | {"input": {"q": TERM}})}),
    ("tool_result string", {"messages": _tool_turns(result=f"result: {TERM}")}),
    ("tool_result blocks", {"messages": _tool_turns(result=[{"type": "text", "text": TERM}])}),
    ("tool description", {"messages": USER, "tools": [ANTHROPIC_TOOL | {"description": TERM}]}),
    (
        "tool input_schema",
        {
            "messages": USER,
            "tools": [ANTHROPIC_TOOL | {"input_schema": {"type": "object", "description": TERM}}],
        },
    ),
    ("stop_sequences", {"messages": USER, "stop_sequences": [TERM]}),
    ("unknown field", {"messages": USER, "x_note": TERM}),
    (
        "split across system and user",
        {"messages": [{"role": "user", "content": TERM[2:]}], "system": f"hello {TERM[:2]}"},
    ),
]
_MESSAGES_KW = {"messages", "system", "tools", "stop_sequences", "tool_choice"}


def _messages(gw: Gateway, body: dict[str, Any], **extra_body: Any) -> Any:
    kwargs = {k: v for k, v in body.items() if k in _MESSAGES_KW}
    extra = {k: v for k, v in body.items() if k not in _MESSAGES_KW} | extra_body
    return claude(gw).messages.create(model="fake-model", max_tokens=64, extra_body=extra or None, **kwargs)


def _stream_messages(gw: Gateway, body: dict[str, Any], **extra_body: Any) -> tuple[list[Any], Any]:
    kwargs = {k: v for k, v in body.items() if k in _MESSAGES_KW}
    extra = {k: v for k, v in body.items() if k not in _MESSAGES_KW} | extra_body
    with claude(gw).messages.stream(
        model="fake-model", max_tokens=64, extra_body=extra or None, **kwargs
    ) as stream:
        events = list(stream)
        return events, stream.get_final_message()


def _text(message: Any) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


@pytest.mark.parametrize("body", [c[1] for c in MESSAGES_INPUT], ids=[c[0] for c in MESSAGES_INPUT])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_messages_a_term_in_any_input_field_is_refused_and_not_sent(
    gateway: Gateway, body: dict[str, Any], stream: bool
) -> None:
    before = len(upstream_requests(gateway))
    message = _stream_messages(gateway, body)[1] if stream else _messages(gateway, body)
    assert message.stop_reason == "refusal"
    assert TERM not in _text(message)
    assert audit(gateway, message.id) == [("input", "refuse", "messages")]
    assert len(upstream_requests(gateway)) == before, "the upstream received the request"


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}},
        {"type": "redacted_thinking", "data": "abc"},
        {"type": "future_block", "text": "x"},
    ],
    ids=["image", "document", "redacted_thinking", "unknown"],
)
def test_messages_blocks_hegui_cannot_inspect_are_a_400(gateway: Gateway, block: dict[str, Any]) -> None:
    before = len(upstream_requests(gateway))
    with pytest.raises(anthropic.BadRequestError) as err:
        _messages(gateway, {"messages": [{"role": "user", "content": [block]}]})
    assert err.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert len(upstream_requests(gateway)) == before


def test_messages_translation_reaches_the_upstream_as_chat(gateway: Gateway) -> None:
    message = _messages(gateway, {"messages": _tool_turns(), "system": "be brief", "tools": [ANTHROPIC_TOOL]})
    assert message.stop_reason == "end_turn"
    sent = upstream_requests(gateway)[-1]
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool"]
    call = sent["messages"][2]["tool_calls"][0]
    assert call["id"] == "toolu_1" and json.loads(call["function"]["arguments"]) == {"q": "x"}
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"}
    assert sent["tools"][0]["function"]["parameters"] == ANTHROPIC_TOOL["input_schema"]
    assert audit(gateway, message.id) == [("input", "allow", "messages"), ("output", "allow", "messages")]


def test_messages_whole_answer_is_labelled_and_audited(gateway: Gateway) -> None:
    raw = claude(gateway).messages.with_raw_response.create(
        model="fake-model", max_tokens=64, messages=[{"role": "user", "content": "hello"}]
    )
    message = raw.parse()
    assert _text(message).startswith("fake upstream heard: hello")
    assert _text(message).endswith(LABEL)
    assert (message.model_extra or {})["AIGC"]["ProduceID"] == message.id
    assert message.id in raw.headers["x-aigc-label"]
    assert message.usage.output_tokens == 1


def test_messages_stream_events_labels_and_audit(gateway: Gateway) -> None:
    events, message = _stream_messages(gateway, {"messages": USER}, x_script=script(chunks=["one ", "two"]))
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert "content_block_start" in types and "content_block_stop" in types and "message_delta" in types
    assert _text(message) == "one two\n\n" + LABEL
    delta = next(e for e in events if e.type == "message_delta")
    assert (delta.model_extra or {})["AIGC"]["ProduceID"] == message.id
    assert audit(gateway, message.id) == [("input", "allow", "messages"), ("output", "allow", "messages")]


def test_messages_tool_use_answer_streamed(gateway: Gateway) -> None:
    deltas = [{"tool_calls": [{"index": 0} | _call(arguments='{"q": "rain"}')]}]
    _events, message = _stream_messages(
        gateway,
        {"messages": USER, "tools": [ANTHROPIC_TOOL]},
        x_script=script(events=_chat_events(deltas, "tool_calls")),
    )
    assert message.stop_reason == "tool_use"
    use = next(b for b in message.content if b.type == "tool_use")
    assert use.name == "lookup" and use.input == {"q": "rain"}


MESSAGES_OUTPUT: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    ("text", {"content": f"sure: {TERM}"}, [{"content": "sure: "}, {"content": TERM}]),
    ("refusal", {"refusal": TERM}, [{"refusal": TERM}]),
    (
        "tool_use input",
        {"content": None, "tool_calls": [_call(arguments=json.dumps({"q": TERM}, ensure_ascii=False))]},
        [{"tool_calls": [{"index": 0} | _call(arguments=json.dumps({"q": TERM}, ensure_ascii=False))]}],
    ),
    (
        "tool_use name",
        {"content": None, "tool_calls": [_call(name=TERM)]},
        [{"tool_calls": [{"index": 0} | _call(name=TERM)]}],
    ),
]


@pytest.mark.parametrize(
    ("message", "deltas"), [c[1:] for c in MESSAGES_OUTPUT], ids=[c[0] for c in MESSAGES_OUTPUT]
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_messages_a_term_in_any_output_field_is_stopped(
    gateway: Gateway, message: dict[str, Any], deltas: list[dict[str, Any]], stream: bool
) -> None:
    if stream:
        events, answer = _stream_messages(
            gateway, {"messages": USER}, x_script=script(events=_chat_events(deltas))
        )
        sent = json.dumps([e.model_dump() for e in events], ensure_ascii=False)
    else:
        answer = _messages(gateway, {"messages": USER}, x_script=script(answer=_chat_answer(message)))
        sent = answer.model_dump_json()
    assert TERM not in sent
    assert answer.stop_reason == "refusal"
    assert ("output", "refuse", "messages") in audit(gateway, answer.id)


def test_messages_upstream_fault_in_a_stream_is_an_error_event(gateway: Gateway) -> None:
    events = [*_chat_events([{"content": "half"}])[:1], {"choices": [5]}]
    with pytest.raises(anthropic.APIStatusError):
        _stream_messages(gateway, {"messages": USER}, x_script=script(events=events))


def test_messages_errors_are_anthropic_shaped(gateway: Gateway) -> None:
    bad = anthropic.Anthropic(
        base_url=gateway.base_url.removesuffix("/v1"), api_key="sk-wrong", max_retries=0
    )
    try:
        with pytest.raises(anthropic.AuthenticationError) as err:
            bad.messages.create(model="fake-model", max_tokens=8, messages=USER)  # type: ignore[arg-type]
        assert err.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    finally:
        bad.close()
    with pytest.raises(anthropic.NotFoundError):
        claude(gateway).messages.create(model="no-such-model", max_tokens=8, messages=USER)  # type: ignore[arg-type]


def test_responses_function_call_answer_streamed(gateway: Gateway) -> None:
    deltas = [{"tool_calls": [{"index": 0} | _call(arguments='{"q": "rain"}')]}]
    x_script = script(events=_chat_events(deltas, "tool_calls"))
    events, response = _collect_responses(
        _responses(gateway, {"input": "hi", "tools": [FN_TOOL]}, stream=True, x_script=x_script)
    )
    assert response.status == "completed"
    call = next(i for i in response.output if i.type == "function_call")
    assert call.name == "lookup" and json.loads(call.arguments) == {"q": "rain"}
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == '{"q": "rain"}'
