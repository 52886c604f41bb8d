"""Upstream answers checked against their API's shape: a table of good and bad bodies and chunks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hegui.errors import UpstreamError, UpstreamMalformed
from hegui.gateway.upstream_shapes import check_chunk, check_whole

CHAT = {
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
}
CHUNK = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "h"}}]}


def _with(base: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps(base | changes).encode()


GOOD_WHOLE = [
    ("/chat/completions", json.dumps(CHAT).encode()),
    (
        "/chat/completions",
        _with(
            CHAT,
            choices=[
                {
                    "message": {
                        "content": None,
                        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
        ),
    ),
    ("/completions", b'{"object": "text_completion", "choices": [{"index": 0, "text": "hi"}]}'),
    ("/images/generations", b'{"created": 1, "data": [{"url": "https://x/y.png"}, {"b64_json": "AA=="}]}'),
    ("/embeddings", b'{"object": "list", "data": [{"index": 0, "embedding": [0.1, 2, -3e-4]}]}'),
    ("/embeddings", b'{"object": "list", "data": [{"index": 0, "embedding": "AAAA"}]}'),
]

BAD_WHOLE = [
    ("/chat/completions", b'{"choices": "zzz"}', "choices: expected a list"),
    ("/chat/completions", b'{"choices": [5]}', "choices[0]: expected an object, got int"),
    ("/chat/completions", b'{"choices": []}', "empty"),
    ("/chat/completions", b"{}", "choices: missing"),
    ("/chat/completions", b'{"choices": [{"index": 0}]}', "choices[0].message: missing"),
    ("/chat/completions", b'{"choices": [{"message": {"content": 5}}]}', "choices[0].message.content"),
    ("/chat/completions", b'{"choices": [{"index": "0", "message": {}}]}', "choices[0].index"),
    ("/chat/completions", b'{"choices": [{"index": true, "message": {}}]}', "choices[0].index"),
    ("/chat/completions", b'{"choices": [{"message": {"tool_calls": [3]}}]}', "tool_calls[0]"),
    (
        "/chat/completions",
        b'{"choices": [{"message": {"tool_calls": [{"function": {"arguments": {}}}]}}]}',
        "function.arguments",
    ),
    ("/chat/completions", b'{"choices": [{"message": {"refusal": ["x"]}}]}', "message.refusal"),
    ("/chat/completions", _with(CHAT, object="chat.completion.chunk"), "object"),
    ("/chat/completions", _with(CHAT, usage=[1]), "usage"),
    ("/completions", b'{"choices": [{"text": null}]}', "choices[0].text"),
    ("/images/generations", b'{"data": []}', "expected 1 to 4 images"),
    ("/images/generations", json.dumps({"data": [{"url": "u"}] * 5}).encode(), "expected 1 to 4 images"),
    ("/images/generations", b'{"data": [{"revised_prompt": "x"}]}', "neither b64_json nor url"),
    ("/embeddings", b'{"data": [{"embedding": [true]}]}', "list of numbers"),
    ("/chat/completions", b"<!DOCTYPE html><html>502</html>", "an HTML page"),
    ("/chat/completions", b"", "an empty body"),
    ("/chat/completions", b"[1, 2]", "not an object"),
]


@pytest.mark.parametrize(("path", "content"), GOOD_WHOLE)
def test_good_whole_answers_pass(path: str, content: bytes) -> None:
    assert check_whole("u", path, content, max_n=4) == json.loads(content)


@pytest.mark.parametrize(("path", "content", "message"), BAD_WHOLE)
def test_bad_whole_answers_are_malformed(path: str, content: bytes, message: str) -> None:
    with pytest.raises(UpstreamMalformed, match=message.replace("[", r"\[")):
        check_whole("u", path, content, max_n=4)


def test_an_error_body_is_the_upstreams_own_failure() -> None:
    with pytest.raises(UpstreamError, match="overloaded") as err:
        check_whole("u", "/chat/completions", b'{"error": {"message": "overloaded"}}', max_n=4)
    assert type(err.value) is UpstreamError


GOOD_CHUNKS = [
    ("/chat/completions", json.dumps(CHUNK)),
    ("/chat/completions", '{"choices": [], "usage": {"total_tokens": 3}}'),  # include_usage's last chunk
    ("/chat/completions", '{"object": "", "choices": [], "prompt_filter_results": []}'),  # Azure's first
    ("/chat/completions", '{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}'),
    ("/chat/completions", '{"choices": [{"index": 0, "finish_reason": "stop"}]}'),  # no delta
    ("/chat/completions", '{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {}}]}}]}'),
    ("/completions", '{"object": "text_completion", "choices": [{"index": 0, "text": "h"}]}'),
]
BAD_CHUNKS = [
    ("/chat/completions", '{"choices": [5]}', "choices[0]"),
    ("/chat/completions", '{"choices": [{"index": 4, "delta": {}}]}', "choices[0].index"),  # max_n = 4
    ("/chat/completions", '{"choices": [{"index": -1, "delta": {}}]}', "choices[0].index"),
    ("/chat/completions", '{"choices": "zzz"}', "choices: expected a list"),
    ("/chat/completions", '{"id": "x"}', "choices: missing"),
    ("/chat/completions", '{"choices": [{"delta": "text"}]}', "choices[0].delta"),
    ("/chat/completions", '{"choices": [{"delta": {"content": 5}}]}', "delta.content"),
    ("/chat/completions", '{"choices": [{"delta": {"tool_calls": {"a": 1}}}]}', "delta.tool_calls"),
    ("/chat/completions", '{"choices": [{"delta": {}, "finish_reason": 1}]}', "finish_reason"),
    ("/chat/completions", json.dumps(CHAT), "object: expected 'chat.completion.chunk'"),
    ("/completions", '{"choices": [{"text": 5}]}', "choices[0].text"),
    ("/chat/completions", "{nope", "not JSON"),
    ("/chat/completions", '"just a string"', "not a JSON object"),
]


@pytest.mark.parametrize(("path", "data"), GOOD_CHUNKS)
def test_good_chunks_pass(path: str, data: str) -> None:
    assert check_chunk("u", path, data, max_n=4) == json.loads(data)


@pytest.mark.parametrize(("path", "data", "message"), BAD_CHUNKS)
def test_bad_chunks_are_malformed(path: str, data: str, message: str) -> None:
    with pytest.raises(UpstreamMalformed, match=message.replace("[", r"\[")):
        check_chunk("u", path, data, max_n=4)


@pytest.mark.parametrize(
    "data",
    [
        '{"error": {"message": "boom", "type": "server_error"}}',  # OpenAI, SGLang
        '{"error": "boom"}',
        '{"object": "error", "message": "boom", "type": "BadRequestError", "code": 400}',  # vLLM
    ],
)
def test_an_error_chunk_is_the_upstreams_own_failure(data: str) -> None:
    with pytest.raises(UpstreamError, match="boom") as err:
        check_chunk("u", "/chat/completions", data, max_n=4)
    assert type(err.value) is UpstreamError
