"""Every field, both directions, through the official openai client against a started gateway.

Input: a deny-listed term in any field of a request (named, or unknown to the map) is refused and the
upstream receives nothing; a term split across texts of one request is caught (joined context).
Output: a term in any field of an answer stops it, whole or streamed; ``logprobs`` never carries refused
or held-back text (dropped by default; with ``logprobs = "released"`` only for released text).
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from hegui.records.audit import find_by_request
from hegui.records.db import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import script
from servers import create_key, fake_upstream, free_port, hegui_env, hegui_server

from conftest import POLICY, Gateway

pytestmark = pytest.mark.e2e

TERM = "演示违禁词"
MASKED = "13800138000"  # masked by the released gateway's policy
USER = [{"role": "user", "content": "hi"}]


_CLIENTS: dict[str, OpenAI] = {}


def client(gw: Gateway) -> OpenAI:
    """One client per gateway for the module, closed at its end (no sockets left to the collector)."""
    if gw.base_url not in _CLIENTS:
        _CLIENTS[gw.base_url] = OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0)
    return _CLIENTS[gw.base_url]


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for c in _CLIENTS.values():
        c.close()
    _CLIENTS.clear()


def audit(gw: Gateway, request_id: str) -> list[tuple[str, str]]:
    engine = make_engine(f"sqlite:///{gw.data_dir / 'hegui.db'}")
    try:
        return [(e.stage, e.action) for e in find_by_request(engine, request_id)]
    finally:
        engine.dispose()


def upstream_lines(gw: Gateway) -> int:
    return len(gw.upstream_log.read_text(encoding="utf-8").splitlines()) if gw.upstream_log.exists() else 0


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A second gateway: ``[gateway] logprobs = "released"`` and a masking check."""
    root = tmp_path_factory.mktemp("fields")
    fake_port, port = free_port(), free_port()
    policy = root / "hegui.toml"
    policy.write_text(
        POLICY.format(fake_port=fake_port, down_port=free_port())
        + f'\n[[checks]]\nname = "mask-list"\ntype = "denylist"\naction = "mask"\nterms = ["{MASKED}"]\n'
        + '\n[gateway]\nlogprobs = "released"\n',
        encoding="utf-8",
    )
    env = hegui_env(root / "data", policy)
    key = create_key(env)
    log = root / "upstream.jsonl"
    with fake_upstream(fake_port, log), hegui_server(port, env, root / "hegui.log"):
        yield Gateway(f"http://127.0.0.1:{port}/v1", key, env, root / "data", log)


# -- input: a term in any field is refused; the upstream receives nothing ------------------------------


def _tool(description: str = "d", param_description: str = "p") -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {"q": {"type": "string", "description": param_description}},
            },
        },
    }


def _assistant_call(name: str = "lookup", arguments: str = "{}") -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
        ],
    }


INPUT_CASES: list[tuple[str, dict[str, Any]]] = [
    ("messages[].name", {"messages": [{"role": "user", "content": "hi", "name": TERM}]}),
    ("tool_calls[].function.name", {"messages": [*USER, _assistant_call(name=TERM)]}),
    (
        "tool_calls[].function.arguments",
        {"messages": [*USER, _assistant_call(arguments=json.dumps({"q": TERM}))]},
    ),
    (
        "legacy function_call.arguments",
        {"messages": [*USER, {"role": "assistant", "function_call": {"name": "f", "arguments": TERM}}]},
    ),
    ("assistant refusal", {"messages": [*USER, {"role": "assistant", "refusal": TERM}, *USER]}),
    ("tools[].function.description", {"messages": USER, "tools": [_tool(description=TERM)]}),
    ("tool parameter description", {"messages": USER, "tools": [_tool(param_description=TERM)]}),
    (
        "response_format schema description",
        {
            "messages": USER,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object", "description": TERM}},
            },
        },
    ),
    ("prediction.content", {"messages": USER, "prediction": {"type": "content", "content": TERM}}),
    ("text part", {"messages": [{"role": "user", "content": [{"type": "text", "text": f"a{TERM}"}]}]}),
    ("system message", {"messages": [{"role": "system", "content": TERM}, *USER]}),
    (
        "tool message",
        {"messages": [*USER, _assistant_call(), {"role": "tool", "tool_call_id": "call_1", "content": TERM}]},
    ),
    ("metadata", {"messages": USER, "metadata": {"note": TERM}}),
    ("stop", {"messages": USER, "stop": [TERM]}),
    (
        "tool_choice name",
        {
            "messages": USER,
            "tools": [_tool()],
            "tool_choice": {"type": "function", "function": {"name": TERM}},
        },
    ),
    ("unknown field", {"messages": USER, "x_note": TERM}),
    ("unknown nested field", {"messages": USER, "x_extra": {"deep": [{"k": TERM}]}}),
    ("unknown key", {"messages": USER, "x_extra": {TERM: 1}}),
]


def _create(gw: Gateway, body: dict[str, Any], *, stream: bool = False, path: str = "chat") -> Any:
    known = {"messages", "tools", "response_format", "prediction", "metadata", "stop", "tool_choice"}
    kwargs = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known}
    return client(gw).chat.completions.create(
        model="fake-model", stream=stream, extra_body=extra or None, **kwargs
    )


def _stream_finish(stream: Any) -> tuple[str, str | None, str]:
    text, finish, rid = [], None, ""
    for chunk in stream:
        rid = chunk.id
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    return "".join(text), finish, rid


@pytest.mark.parametrize("body", [c[1] for c in INPUT_CASES], ids=[c[0] for c in INPUT_CASES])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_term_in_any_request_field_is_refused_and_not_sent(
    gateway: Gateway, body: dict[str, Any], stream: bool
) -> None:
    before = upstream_lines(gateway)
    if stream:
        text, finish, rid = _stream_finish(_create(gateway, body, stream=True))
    else:
        answer = _create(gateway, body)
        text, finish, rid = (
            answer.choices[0].message.content or "",
            answer.choices[0].finish_reason,
            answer.id,
        )
    assert finish == "content_filter"
    assert TERM not in text
    assert audit(gateway, rid) == [("input", "refuse")]
    assert upstream_lines(gateway) == before, "the upstream received the request"


def test_completions_suffix_and_extra_field_are_refused(gateway: Gateway) -> None:
    before = upstream_lines(gateway)
    for extra in ({"suffix": TERM}, {"x_hint": [TERM]}):
        answer = client(gateway).completions.create(model="fake-model", prompt="hi", extra_body=extra)
        assert answer.choices[0].finish_reason == "content_filter"
        assert audit(gateway, answer.id) == [("input", "refuse")]
    assert upstream_lines(gateway) == before


@pytest.mark.parametrize(
    "extra", [{"negative_prompt": TERM}, {"x_style": {"notes": [TERM]}}], ids=["negative_prompt", "nested"]
)
def test_images_extra_fields_are_refused(gateway: Gateway, extra: dict[str, Any]) -> None:
    before = upstream_lines(gateway)
    with pytest.raises(openai.BadRequestError) as err:
        client(gateway).images.generate(model="fake-model", prompt="a cat", extra_body=extra)
    assert err.value.code == "content_filter"
    assert upstream_lines(gateway) == before


def test_embeddings_extra_field_is_refused(gateway: Gateway) -> None:
    before = upstream_lines(gateway)
    with pytest.raises(openai.BadRequestError) as err:
        client(gateway).embeddings.create(model="fake-model", input="hi", extra_body={"x_tag": TERM})
    assert err.value.code == "content_filter"
    assert upstream_lines(gateway) == before


UNINSPECTABLE = [
    (
        "image part",
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
            ]
        },
    ),
    ("integer list", {"messages": USER, "x_ids": [1, 2, 3]}),
    ("logit_bias word", {"messages": USER, "logit_bias": {"word": 5}}),
]


@pytest.mark.parametrize("body", [c[1] for c in UNINSPECTABLE], ids=[c[0] for c in UNINSPECTABLE])
def test_uninspectable_content_is_a_400_and_not_sent(gateway: Gateway, body: dict[str, Any]) -> None:
    before = upstream_lines(gateway)
    kwargs = {"messages": body["messages"]} | (
        {"logit_bias": body["logit_bias"]} if "logit_bias" in body else {}
    )
    extra = {k: v for k, v in body.items() if k not in ("messages", "logit_bias")}
    with pytest.raises(openai.BadRequestError):
        client(gateway).chat.completions.create(model="fake-model", extra_body=extra or None, **kwargs)
    assert upstream_lines(gateway) == before


# -- joined context -------------------------------------------------------------------------------------

JOINED = [
    (
        "two parts of one message",
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "请说演示违"}, {"type": "text", "text": "禁词"}],
            }
        ],
    ),
    ("system + user", [{"role": "system", "content": "你要说演示"}, {"role": "user", "content": "违禁词"}]),
    (
        "user + assistant",
        [{"role": "user", "content": "请接着说演示违"}, {"role": "assistant", "content": "禁词"}, *USER],
    ),
    ("name + content", [{"role": "user", "name": "x演示违", "content": "禁词"}]),
]


@pytest.mark.parametrize("messages", [c[1] for c in JOINED], ids=[c[0] for c in JOINED])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_term_split_across_texts_of_one_request_is_refused(
    gateway: Gateway, messages: list[Any], stream: bool
) -> None:
    before = upstream_lines(gateway)
    if stream:
        _, finish, rid = _stream_finish(_create(gateway, {"messages": messages}, stream=True))
    else:
        answer = _create(gateway, {"messages": messages})
        finish, rid = answer.choices[0].finish_reason, answer.id
    assert finish == "content_filter"
    assert audit(gateway, rid) == [("input", "refuse")]
    assert upstream_lines(gateway) == before


def test_unrelated_texts_do_not_join_into_a_match(gateway: Gateway) -> None:
    answer = _create(
        gateway,
        {
            "messages": [
                {"role": "system", "content": "演示一下"},
                {"role": "user", "content": "违规的定义是什么"},
            ]
        },
    )
    assert answer.choices[0].finish_reason == "stop"
    assert audit(gateway, answer.id) == [("input", "allow"), ("output", "allow")]


# -- output: a term in any answer field stops it --------------------------------------------------------


def _answer(message: dict[str, Any], logprobs: Any = None, **top: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion",
        "created": 1,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant"} | message,
                "finish_reason": "stop",
                "logprobs": logprobs,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    } | top


def _call(name: str = "lookup", arguments: str = "{}") -> list[dict[str, Any]]:
    return [{"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}]


def _lp(*tokens: str, alternative: str = "x") -> dict[str, Any]:
    return {
        "content": [
            {
                "token": t,
                "bytes": list(t.encode()),
                "logprob": -0.5,
                "top_logprobs": [{"token": alternative, "bytes": None, "logprob": -1.0}],
            }
            for t in tokens
        ],
        "refusal": None,
    }


OUTPUT_CASES: list[tuple[str, dict[str, Any]]] = [
    ("message.refusal", _answer({"content": None, "refusal": f"不能说{TERM}"})),
    ("tool_calls[].function.name", _answer({"content": None, "tool_calls": _call(name=TERM)})),
    (
        "tool_calls[].function.arguments",
        _answer(
            {"content": None, "tool_calls": _call(arguments=json.dumps({"q": TERM}, ensure_ascii=False))}
        ),
    ),
    (
        "function_call.arguments",
        _answer({"content": None, "function_call": {"name": "f", "arguments": TERM}}),
    ),
    (
        "audio.transcript",
        _answer(
            {
                "content": None,
                "audio": {"id": "a1", "data": "UklGRgAAAAA=", "expires_at": 1, "transcript": TERM},
            }
        ),
    ),
    ("content as parts", _answer({"content": [{"type": "text", "text": TERM}]})),
    ("extra top-level key", _answer({"content": "好的"}, x_extra=TERM)),
    ("extra message key", _answer({"content": "好的", "x_note": {"a": TERM}})),
    ("logprobs of a stopped answer", _answer({"content": f"前文{TERM}"}, logprobs=_lp("前文", TERM))),
]


@pytest.mark.parametrize("upstream_answer", [c[1] for c in OUTPUT_CASES], ids=[c[0] for c in OUTPUT_CASES])
def test_a_term_in_any_answer_field_stops_the_whole_answer(
    gateway: Gateway, upstream_answer: dict[str, Any]
) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="fake-model", messages=USER, extra_body={"x_script": script(answer=upstream_answer)}
    )
    body = raw.http_response.text
    answer = raw.parse()
    assert TERM not in body
    assert "UklGRgAAAAA=" not in body  # the speech of a refused transcript does not leave
    assert answer.choices[0].finish_reason == "content_filter"
    assert answer.choices[0].logprobs is None
    assert audit(gateway, answer.id) == [("input", "allow"), ("output", "refuse")]


def test_logprobs_are_dropped_by_default(gateway: Gateway) -> None:
    upstream_answer = _answer({"content": "你好"}, logprobs=_lp("你", "好", alternative=TERM))
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="fake-model",
        messages=USER,
        logprobs=True,
        extra_body={"x_script": script(answer=upstream_answer)},
    )
    answer = raw.parse()
    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].logprobs is None
    assert TERM not in raw.http_response.text


def test_released_logprobs_carry_only_released_text(released: Gateway) -> None:
    upstream_answer = _answer({"content": "你好"}, logprobs=_lp("你", "好", alternative=TERM))
    raw = client(released).chat.completions.with_raw_response.create(
        model="fake-model",
        messages=USER,
        logprobs=True,
        extra_body={"x_script": script(answer=upstream_answer)},
    )
    answer = raw.parse()
    assert answer.choices[0].logprobs is not None
    assert [e.token for e in answer.choices[0].logprobs.content or []] == ["你", "好"]
    assert TERM not in raw.http_response.text  # the alternatives are never released


def test_released_logprobs_of_a_masked_answer_are_dropped(released: Gateway) -> None:
    upstream_answer = _answer({"content": f"电话{MASKED}"}, logprobs=_lp("电话", MASKED))
    raw = client(released).chat.completions.with_raw_response.create(
        model="fake-model",
        messages=USER,
        logprobs=True,
        extra_body={"x_script": script(answer=upstream_answer)},
    )
    answer = raw.parse()
    assert MASKED not in raw.http_response.text
    assert answer.choices[0].logprobs is None


def test_completion_logprobs_of_a_stopped_answer_are_dropped(gateway: Gateway) -> None:
    upstream = {
        "id": "cmpl-up",
        "object": "text_completion",
        "created": 1,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "text": f"前文{TERM}",
                "finish_reason": "stop",
                "logprobs": {
                    "tokens": ["前文", TERM],
                    "token_logprobs": [-1, -1],
                    "top_logprobs": None,
                    "text_offset": [0, 2],
                },
            }
        ],
    }
    raw = client(gateway).completions.with_raw_response.create(
        model="fake-model", prompt="hi", extra_body={"x_script": script(answer=upstream)}
    )
    assert TERM not in raw.http_response.text
    assert raw.parse().choices[0].finish_reason == "content_filter"


@pytest.mark.parametrize(
    "item", [{"revised_prompt": TERM}, {"x_caption": TERM}], ids=["revised_prompt", "extra item field"]
)
def test_image_answer_fields_are_inspected(gateway: Gateway, item: dict[str, Any]) -> None:
    upstream = {"created": 1, "data": [{"b64_json": base64.b64encode(b"not inspected").decode()} | item]}
    with pytest.raises(openai.BadRequestError) as err:
        client(gateway).images.generate(
            model="fake-model", prompt="a cat", extra_body={"x_script": script(answer=upstream)}
        )
    assert err.value.code == "content_filter"
    assert TERM not in str(err.value.body)


def test_embedding_answer_strings_are_inspected(gateway: Gateway) -> None:
    upstream = {
        "object": "list",
        "model": "fake-model",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}],
        "x_note": TERM,
    }
    with pytest.raises(openai.BadRequestError) as err:
        client(gateway).embeddings.create(
            model="fake-model", input="hi", extra_body={"x_script": script(answer=upstream)}
        )
    assert err.value.code == "content_filter"


# -- output, streamed -----------------------------------------------------------------------------------


def _chunk(
    delta: dict[str, Any], finish: str | None = None, logprobs: Any = None, **top: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": logprobs}],
    } | top


def _split(field: str, text: str, cut: int) -> list[dict[str, Any]]:
    """Two chunks carrying ``text`` at ``field`` (a path in the delta), cut at ``cut``."""

    def at(value: str) -> dict[str, Any]:
        if field == "refusal":
            return {"refusal": value}
        if field == "function_call.arguments":
            return {"function_call": {"arguments": value}}
        if field == "tool_calls.name":
            return {"tool_calls": [{"index": 0, "function": {"name": value}}]}
        return {"tool_calls": [{"index": 0, "function": {"arguments": value}}]}

    first = at(text[:cut])
    if field.startswith("tool_calls"):
        first["tool_calls"][0] |= {"id": "call_1", "type": "function"}
    return [_chunk({"role": "assistant"}), _chunk(first), _chunk(at(text[cut:])), _chunk({}, "stop")]


def _dump(stream: Any) -> tuple[str, str | None, str]:
    """Every chunk as the client received it (extras included), the finish reason, the id."""
    dumps, finish, rid = [], None, ""
    for chunk in stream:
        rid = chunk.id
        dumps.append(chunk.model_dump_json())
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
    return "\n".join(dumps), finish, rid


STREAM_FIELDS = ["refusal", "function_call.arguments", "tool_calls.name", "tool_calls.arguments"]


@pytest.mark.parametrize("field", STREAM_FIELDS)
@pytest.mark.parametrize("cut", [1, 3, 6])
def test_a_term_split_in_a_streamed_field_is_never_released(gateway: Gateway, field: str, cut: int) -> None:
    text = f"前文{TERM}后文"
    stream = client(gateway).chat.completions.create(
        model="fake-model",
        messages=USER,
        stream=True,
        extra_body={"x_script": script(events=_split(field, text, cut))},
    )
    dumped, finish, rid = _dump(stream)
    assert finish == "content_filter"
    assert TERM[:2] not in dumped
    assert audit(gateway, rid) == [("input", "allow"), ("output", "refuse")]


@pytest.mark.parametrize(
    "chunk",
    [
        _chunk({"content": "好"}, x_extra=TERM),
        _chunk({"content": "好", "x_note": TERM}),
        _chunk({"content": "好"}, model=TERM),
    ],
    ids=["extra top-level key", "extra delta key", "model"],
)
def test_a_term_in_an_unknown_chunk_field_stops_the_stream(gateway: Gateway, chunk: dict[str, Any]) -> None:
    events = [_chunk({"role": "assistant"}), chunk, _chunk({}, "stop")]
    stream = client(gateway).chat.completions.create(
        model="fake-model", messages=USER, stream=True, extra_body={"x_script": script(events=events)}
    )
    dumped, finish, _ = _dump(stream)
    assert finish == "content_filter"
    assert TERM not in dumped


def _logprob_events(text: str, pieces: list[str]) -> list[dict[str, Any]]:
    assert "".join(pieces) == text
    return [
        _chunk({"role": "assistant"}),
        *(_chunk({"content": p}, logprobs=_lp(p, alternative=TERM)) for p in pieces),
        _chunk({}, "stop"),
    ]


def _tokens_never_ahead(stream: Any) -> tuple[str, list[str], str | None, bool]:
    """Reads the stream, checking at every chunk that the released logprobs tokens spell no more than
    the content released so far. Also says whether entries came before the finishing chunks."""
    content, tokens, finish, early = "", [], None, False
    for chunk in stream:
        assert TERM not in chunk.model_dump_json()
        for choice in chunk.choices:
            content += choice.delta.content or ""
            if choice.logprobs is not None:
                tokens += [e.token for e in choice.logprobs.content or []]
                early = early or len(content) < len("".join(LONG))
            assert content.startswith("".join(tokens)), (content, tokens)
            finish = choice.finish_reason or finish
    return content, tokens, finish, early


#: Longer than the hold-back (19 characters: the longest deny-listed term is 20), so that text and its
#: entries are released mid-stream, not only at the end.
LONG = [
    "今天",
    "天气",
    "很好",
    "，",
    "我们",
    "一起",
    "出门",
    "走走",
    "，",
    "看看",
    "公园",
    "里的",
    "花开",
    "了没有",
    "。",
]
PREFIX = "这是一段足够长的前文，让检查在遇到后面的词之前先放出一部分文字。"


def test_streamed_logprobs_are_dropped_by_default(gateway: Gateway) -> None:
    pieces = LONG
    stream = client(gateway).chat.completions.create(
        model="fake-model",
        messages=USER,
        stream=True,
        logprobs=True,
        extra_body={"x_script": script(events=_logprob_events("".join(pieces), pieces))},
    )
    content, tokens, finish, _ = _tokens_never_ahead(stream)
    assert (finish, tokens) == ("stop", [])
    assert content.startswith("".join(LONG))


def test_streamed_released_logprobs_follow_the_released_text(released: Gateway) -> None:
    pieces = LONG
    stream = client(released).chat.completions.create(
        model="fake-model",
        messages=USER,
        stream=True,
        logprobs=True,
        extra_body={"x_script": script(events=_logprob_events("".join(pieces), pieces))},
    )
    content, tokens, finish, early = _tokens_never_ahead(stream)
    assert finish == "stop"
    assert content.startswith("".join(pieces))
    assert tokens == pieces  # every entry, each only once its text was released
    assert early, "no entry was released mid-stream: the test did not exercise the hold-back"


@pytest.mark.parametrize("cut", [1, 20, len(PREFIX) + 2])
@pytest.mark.parametrize("which", ["released", "default"])
def test_streamed_logprobs_never_carry_held_back_or_refused_text(
    released: Gateway, gateway: Gateway, which: str, cut: int
) -> None:
    text = f"{PREFIX}{TERM}后文"
    pieces = [text[:cut], text[cut:]]
    stream = client(released if which == "released" else gateway).chat.completions.create(
        model="fake-model",
        messages=USER,
        stream=True,
        logprobs=True,
        extra_body={"x_script": script(events=_logprob_events(text, pieces))},
    )
    content, tokens, finish, _ = _tokens_never_ahead(stream)
    assert finish == "content_filter"
    assert TERM[0] not in content
    assert TERM[0] not in "".join(tokens)


# -- masks reach every field ----------------------------------------------------------------------------


def test_a_masked_term_is_masked_in_any_request_field_before_it_is_sent(released: Gateway) -> None:
    before = upstream_lines(released)
    client(released).chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "hi", "name": f"n{MASKED}"}],
        tools=[_tool(description=f"call {MASKED}")],  # type: ignore[list-item]
        extra_body={"x_note": {"k": MASKED}},
    )
    lines = released.upstream_log.read_text(encoding="utf-8").splitlines()[before:]
    assert len(lines) == 1
    assert MASKED not in lines[0]
    sent = json.loads(lines[0])
    assert sent["messages"][0]["name"] == "n" + "*" * len(MASKED)
    assert sent["tools"][0]["function"]["description"] == "call " + "*" * len(MASKED)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_masked_term_is_masked_in_answer_fields(released: Gateway, stream: bool) -> None:
    if not stream:
        upstream_answer = _answer(
            {"content": None, "refusal": f"号码{MASKED}", "tool_calls": _call(arguments=MASKED)}
        )
        raw = client(released).chat.completions.with_raw_response.create(
            model="fake-model", messages=USER, extra_body={"x_script": script(answer=upstream_answer)}
        )
        message = raw.parse().choices[0].message
        assert MASKED not in raw.http_response.text
        assert message.refusal == "号码" + "*" * len(MASKED)
        return
    events = [*_split("refusal", f"号码{MASKED}。", 5)[:-1], *_split("tool_calls.arguments", MASKED, 4)[1:]]
    stream_ = client(released).chat.completions.create(
        model="fake-model", messages=USER, stream=True, extra_body={"x_script": script(events=events)}
    )
    refusal, arguments, finish = "", "", None
    for chunk in stream_:
        assert MASKED not in chunk.model_dump_json()
        for choice in chunk.choices:
            refusal += choice.delta.refusal or ""
            for call in choice.delta.tool_calls or []:
                arguments += (call.function.arguments or "") if call.function else ""
            finish = choice.finish_reason or finish
    assert finish == "stop"
    assert refusal == "号码" + "*" * len(MASKED) + "。"
    assert arguments == "*" * len(MASKED)


def test_completions_suffix_is_refused_in_a_stream(gateway: Gateway) -> None:
    before = upstream_lines(gateway)
    finish, rid = None, ""
    for chunk in client(gateway).completions.create(
        model="fake-model", prompt="hi", stream=True, extra_body={"suffix": f"x{TERM}"}
    ):
        rid = chunk.id
        finish = chunk.choices[0].finish_reason or finish if chunk.choices else finish
    assert finish == "content_filter"
    assert audit(gateway, rid) == [("input", "refuse")]
    assert upstream_lines(gateway) == before


@pytest.mark.parametrize("gw_name", ["default", "released"])
def test_streamed_completion_logprobs_never_carry_held_back_or_refused_text(
    gateway: Gateway, released: Gateway, gw_name: str
) -> None:
    text = f"{PREFIX}{TERM}后文"
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    base = {"id": "cmpl-up", "object": "text_completion", "created": 1, "model": "fake-model"}

    def choice(piece: str, finish: str | None = None) -> dict[str, Any]:
        lp = {"tokens": [piece], "token_logprobs": [-0.1], "top_logprobs": [{TERM: -1.0}], "text_offset": [0]}
        return {"index": 0, "text": piece, "finish_reason": finish, "logprobs": lp if piece else None}

    events = [base | {"choices": [choice(p)]} for p in pieces] + [base | {"choices": [choice("", "stop")]}]
    gw = released if gw_name == "released" else gateway
    out, tokens, finish = "", [], None
    for chunk in client(gw).completions.create(
        model="fake-model",
        prompt="hi",
        stream=True,
        logprobs=1,
        extra_body={"x_script": script(events=events)},
    ):
        assert TERM not in chunk.model_dump_json()
        for c in chunk.choices:
            out += c.text
            if c.logprobs is not None:
                tokens += c.logprobs.tokens or []
            assert out.startswith("".join(tokens))
            finish = c.finish_reason or finish
    assert finish == "content_filter"
    assert TERM[0] not in out + "".join(tokens)
    if gw_name == "released":
        assert tokens, "released text carries its entries"
    else:
        assert tokens == []


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_term_split_across_two_answer_fields_stops_the_answer(gateway: Gateway, stream: bool) -> None:
    if not stream:
        upstream_answer = _answer({"content": "前文演示", "refusal": "违禁词后文"})
        raw = client(gateway).chat.completions.with_raw_response.create(
            model="fake-model", messages=USER, extra_body={"x_script": script(answer=upstream_answer)}
        )
        assert raw.parse().choices[0].finish_reason == "content_filter"
        assert "演示" not in raw.http_response.text
        return
    events = [
        _chunk({"role": "assistant"}),
        _chunk({"content": "前文演示"}),
        _chunk({"refusal": "违禁词后文"}),
        _chunk({}, "stop"),
    ]
    dumped, finish, rid = _dump(
        client(gateway).chat.completions.create(
            model="fake-model", messages=USER, stream=True, extra_body={"x_script": script(events=events)}
        )
    )
    assert finish == "content_filter"
    assert "演示" not in dumped and "违禁词" not in dumped  # both ends were still held back
    assert audit(gateway, rid) == [("input", "allow"), ("output", "refuse")]
