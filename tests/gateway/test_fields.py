"""The field map's walk (fields.py, fieldcheck.py), the joined context (joined.py) and the echoes
(echoes.py), as tables."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hegui.errors import RequestError
from hegui.gateway import fieldmap as fm
from hegui.gateway.echoes import StreamEchoes, release_whole
from hegui.gateway.fieldcheck import answer_slots, nest, request_slots
from hegui.gateway.joined import Piece, crossing
from hegui.guard.denylist import DenyListCheck
from hegui.guard.pipeline import Pipeline
from hegui.guard.types import Context, Stage, Verdict

T = "演示违禁词"

REQUEST_TEXTS: list[tuple[str, dict[str, Any], set[str]]] = [
    (
        "name",
        {"messages": [{"role": "user", "content": "a", "name": T}]},
        {"messages[0].content", "messages[0].name"},
    ),
    (
        "parts",
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": T}]}
            ]
        },
        {"messages[0].content[0].text", "messages[0].content[1].text"},
    ),
    (
        "tool call name and arguments",
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": T, "arguments": "{}"}}
                    ],
                }
            ]
        },
        {
            "messages[0].tool_calls[0].id",
            "messages[0].tool_calls[0].function.name",
            "messages[0].tool_calls[0].function.arguments",
        },
    ),
    (
        "legacy function_call",
        {"messages": [{"role": "assistant", "function_call": {"name": "f", "arguments": T}}]},
        {"messages[0].function_call.name", "messages[0].function_call.arguments"},
    ),
    ("refusal", {"messages": [{"role": "assistant", "refusal": T}]}, {"messages[0].refusal"}),
    (
        "tool description and schema",
        {
            "messages": [],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "description": T,
                        "parameters": {
                            "type": "object",
                            "properties": {"q": {"description": T, "enum": [T]}},
                        },
                    },
                }
            ],
        },
        {
            "tools[0].function.name",
            "tools[0].function.description",
            "tools[0].function.parameters.type",
            "tools[0].function.parameters.properties",
            "tools[0].function.parameters.properties.q",
            "tools[0].function.parameters.properties.q.description",
            "tools[0].function.parameters.properties.q.enum",
            "tools[0].function.parameters.properties.q.enum[0]",
            "tools[0].function.parameters.properties.q.type",  # a key: "type" is a property name here
        }
        - {"tools[0].function.parameters.properties.q.type"},
    ),
    (
        "response_format schema",
        {
            "messages": [],
            "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"title": T}}},
        },
        {
            "response_format.json_schema.name",
            "response_format.json_schema.schema.title",
        },
    ),
    ("prediction", {"messages": [], "prediction": {"type": "content", "content": T}}, {"prediction.content"}),
    ("stop and metadata", {"messages": [], "stop": [T], "metadata": {"k": T}}, {"stop[0]", "metadata.k"}),
    ("known enum values pass", {"messages": [], "reasoning_effort": "low", "service_tier": "auto"}, set()),
    ("other enum values are text", {"messages": [], "reasoning_effort": T}, {"reasoning_effort"}),
    ("unknown field", {"messages": [], "x_note": T}, {"x_note"}),
    ("unknown nested", {"messages": [], "x": {"a": [T, 1]}}, {"x", "x.a", "x.a[0]"}),
    ("a number where text is declared", {"messages": [{"role": "user", "content": 5}]}, set()),
    ("model is routed, not inspected", {"model": T, "messages": []}, set()),
]


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in REQUEST_TEXTS], ids=[c[0] for c in REQUEST_TEXTS]
)
def test_request_texts(body: dict[str, Any], expected: set[str]) -> None:
    assert {s.field for s in request_slots(fm.CHAT.request, body)} == expected


REFUSED: list[tuple[str, Any, dict[str, Any], str]] = [
    (
        "image part",
        fm.CHAT.request,
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
        "messages",
    ),
    (
        "audio part",
        fm.CHAT.request,
        {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
        "messages",
    ),
    (
        "unknown part",
        fm.CHAT.request,
        {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
        "messages",
    ),
    ("token prompt", fm.COMPLETIONS.request, {"prompt": [1, 2, 3]}, "prompt"),
    ("token prompts", fm.COMPLETIONS.request, {"prompt": [[1, 2]]}, "prompt"),
    ("token input", fm.EMBEDDINGS.request, {"input": [[1, 2]]}, "input"),
    ("unknown int list", fm.CHAT.request, {"messages": [], "x_ids": [1, 2]}, "x_ids"),
    ("logit_bias word key", fm.CHAT.request, {"messages": [], "logit_bias": {"word": 1}}, "logit_bias"),
]


@pytest.mark.parametrize(("spec", "body", "param"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_uninspectable_request_content_is_refused(spec: Any, body: dict[str, Any], param: str) -> None:
    with pytest.raises(RequestError) as err:
        request_slots(spec, body)
    assert err.value.param == param


def test_logit_bias_token_ids_pass() -> None:
    assert request_slots(fm.CHAT.request, {"messages": [], "logit_bias": {"123": 5}}) == []


def test_setters_rewrite_values_and_keys_in_place() -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "a", "name": "n"}], "x": {"k": "v"}}
    for slot in request_slots(fm.CHAT.request, body):
        assert slot.set is not None
        slot.set(slot.text.upper())
    assert body == {"messages": [{"role": "user", "content": "A", "name": "N"}], "X": {"K": "V"}}


ANSWER_KEYS: list[tuple[str, Any, dict[str, Any], set[tuple[Any, str]]]] = [
    (
        "chat message",
        fm.CHAT.answer,
        {
            "id": "i",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": "c",
                        "refusal": "r",
                        "audio": {"id": "a", "data": "AAAA", "transcript": "t"},
                        "function_call": {"name": "f", "arguments": "x"},
                        "tool_calls": [
                            {"id": "c", "type": "function", "function": {"name": "g", "arguments": "y"}}
                        ],
                    },
                }
            ],
            "x_extra": "e",
        },
        {
            (None, "id"),
            (None, "model"),
            (0, "content"),
            (0, "refusal"),
            (0, "audio.id"),
            (0, "audio.transcript"),
            (0, "function_call.name"),
            (0, "function_call.arguments"),
            (0, "tool_calls[0].id"),
            (0, "tool_calls[0].function.name"),
            (0, "tool_calls[0].function.arguments"),
            (None, "x_extra"),
        },
    ),
    (
        "chunk: choices and tool calls by their index",
        fm.CHAT_CHUNK,
        {
            "choices": [
                {
                    "index": 2,
                    "delta": {
                        "refusal": "r",
                        "tool_calls": [{"index": 3, "function": {"arguments": "y"}}],
                        "function_call": {"arguments": "z"},
                    },
                    "logprobs": {"content": [{"token": "secret"}]},
                }
            ],
            "obfuscation": "xyz",
        },
        {(2, "refusal"), (2, "tool_calls[3].function.arguments"), (2, "function_call.arguments")},
    ),
    (
        "content as parts (not in the API): every string inspected",
        fm.CHAT.answer,
        {"choices": [{"index": 0, "message": {"content": [{"type": "text", "text": "p"}]}}]},
        {(0, "content[0].type"), (0, "content[0].text")},
    ),
    (
        "completions",
        fm.COMPLETIONS.answer,
        {"choices": [{"index": 1, "text": "t", "logprobs": {"tokens": ["t"]}}]},
        {(1, "text")},
    ),
]


@pytest.mark.parametrize(
    ("spec", "body", "expected"), [c[1:] for c in ANSWER_KEYS], ids=[c[0] for c in ANSWER_KEYS]
)
def test_answer_slot_keys(spec: Any, body: dict[str, Any], expected: set[tuple[Any, str]]) -> None:
    container = {id(fm.CHAT.answer): "message", id(fm.CHAT_CHUNK): "delta"}.get(id(spec))
    assert {s.key for s in answer_slots(spec, body, container)} == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("content", {"content": "v"}),
        ("tool_calls[1].function.arguments", {"tool_calls": [{"index": 1, "function": {"arguments": "v"}}]}),
        ("function_call.name", {"function_call": {"name": "v"}}),
        ("audio.transcript", {"audio": {"transcript": "v"}}),
    ],
)
def test_nest_builds_the_chunk_piece_of_a_path(path: str, expected: dict[str, Any]) -> None:
    assert nest(path, "v") == expected


# -- joined context ------------------------------------------------------------------------------


@pytest.fixture
def run() -> Any:
    pipeline = Pipeline([DenyListCheck("d", [T, "hegui-forbidden-demo"])], policy_version="t")

    def run_(text: str) -> Verdict:
        return pipeline.run(Stage.INPUT, text, Context())

    return run_


JOINED = [
    ("two parts", ["演示违", "禁词"], ["joined(a+b)"]),
    ("three pieces", ["演示", "违禁", "词"], ["joined(a+b+c)"]),
    ("Latin", ["say hegui-forb", "idden-demo"], ["joined(a+b)"]),
    ("inside one text: found there, not here", [T, "x"], []),
    ("unrelated texts", ["演示", "说明"], []),
    ("one text", ["演示违禁词"], []),
    ("empty pieces skipped", ["演示违", "", "禁词"], ["joined(a+c)"]),
]


@pytest.mark.parametrize(("texts", "expected"), [c[1:] for c in JOINED], ids=[c[0] for c in JOINED])
def test_crossing_findings(run: Any, texts: list[str], expected: list[str]) -> None:
    pieces = [Piece(name, t) for name, t in zip("abc", texts, strict=False)]
    assert [name for name, _ in crossing(run, pieces)] == expected


# -- echoes --------------------------------------------------------------------------------------


def _lp(*tokens: str) -> dict[str, Any]:
    return {
        "content": [
            {
                "token": t,
                "bytes": list(t.encode()),
                "logprob": -0.1,
                "top_logprobs": [{"token": T, "logprob": -1}],
            }
            for t in tokens
        ],
        "refusal": None,
    }


def test_whole_echoes_released_only_for_unchanged_text() -> None:
    kept = release_whole(_lp("前", "文"), {"content": "前文", "refusal": None}, completions=False)
    assert kept is not None
    assert [e["token"] for e in kept["content"]] == ["前", "文"]
    assert all(e["top_logprobs"] == [] for e in kept["content"])  # alternatives never released
    assert release_whole(_lp("前", "文"), {"content": None}, completions=False) is None  # masked/stopped
    # tokens that do not spell the text: only the matching prefix
    kept = release_whole(_lp("前", "X"), {"content": "前文"}, completions=False)
    assert kept is not None and [e["token"] for e in kept["content"]] == ["前"]


def test_whole_completion_echoes() -> None:
    lp = {
        "tokens": ["a", "b"],
        "token_logprobs": [-1, -2],
        "top_logprobs": [{T: -1}, {T: -1}],
        "text_offset": [0, 1],
    }
    assert release_whole(lp, {"text": "ab"}, completions=True) == {
        "tokens": ["a", "b"],
        "token_logprobs": [-1, -2],
        "top_logprobs": None,
        "text_offset": [0, 1],
    }
    assert release_whole(lp, {"text": None}, completions=True) is None


def test_stream_echoes_follow_the_released_position() -> None:
    echoes = StreamEchoes(keep=True, completions=False)
    choice: dict[str, Any] = {"index": 0, "logprobs": _lp("前文", "演示")}
    echoes.take(choice)
    assert choice["logprobs"] is None  # taken off the chunk as sent
    key = (0, "content")
    echoes.fed(key, "前文演示")
    assert [e.token for e in echoes.release(key, 3)] == ["前文"]  # "演" is held back: its entry too
    assert echoes.release(key, 3) == []
    assert [e.token for e in echoes.release(key, 4)] == ["演示"]


def test_stream_echoes_dropped_mode_and_killed_slots() -> None:
    drop = StreamEchoes(keep=False, completions=False)
    choice: dict[str, Any] = {"index": 0, "logprobs": _lp("a")}
    drop.take(choice)
    drop.fed((0, "content"), "a")
    assert choice["logprobs"] is None and drop.release((0, "content"), 1) == []
    keep = StreamEchoes(keep=True, completions=False)
    keep.take({"index": 0, "logprobs": _lp("a", "b")})
    keep.fed((0, "content"), "ab")
    keep.kill((0, "content"))  # masked
    assert keep.release((0, "content"), 2) == []


def test_escaped_tool_arguments_are_inspected_and_sent_as_characters() -> None:
    escaped = json.dumps({"q": T})  # {"q": "\u6f14..."}
    assert T not in escaped
    body: dict[str, Any] = {
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": escaped}}],
            }
        ]
    }
    slots = {s.field: s.text for s in request_slots(fm.CHAT.request, body)}
    assert slots["messages[0].tool_calls[0].function.arguments"] == json.dumps({"q": T}, ensure_ascii=False)
    assert T in body["messages"][0]["tool_calls"][0]["function"]["arguments"]  # what the upstream receives
    not_json = {"messages": [{"role": "assistant", "function_call": {"name": "f", "arguments": "{\\u6f14"}}]}
    assert request_slots(fm.CHAT.request, not_json)[1].text == "{\\u6f14"


def test_usage_counts_pass_and_strings_in_them_are_inspected() -> None:
    usage = {"prompt_tokens": 1, "prompt_tokens_details": {"cached_tokens": 0}, "vendor_extra_tokens": 2}
    answer: dict[str, Any] = {"choices": [], "usage": usage}
    assert answer_slots(fm.CHAT.answer, answer, "message") == []
    answer["usage"] = usage | {"note": T, T: 1, "details": {"Odd Key": 3}}
    assert {s.key for s in answer_slots(fm.CHAT.answer, answer, "message")} == {
        (None, "usage.note"),
        (None, f"usage.{T}"),
        (None, "usage.details.Odd Key"),
    }
