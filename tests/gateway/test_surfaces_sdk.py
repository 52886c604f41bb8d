"""The meta-test for /v1/responses and /v1/messages: every string field of the official SDKs' request,
answer and stream-event types is declared in the surface's field map (inspected, or refused by a stated
rule). `openai.types.responses` for the Responses API; the `anthropic` package's MessageCreateParams,
Message and RawMessageStreamEvent for the Messages API.

The second half shows that it can fail: a map with one field removed is caught, field by field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types import message_create_params as anthropic_params
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses import response_create_params as responses_params

from hegui.gateway import fieldmap as fm
from hegui.gateway.fields import Spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sdk_walk import uncovered
from test_fieldmap_sdk import without

PAIRS: list[tuple[str, Spec, Any]] = [
    ("responses request", fm.RESPONSES.request, responses_params.ResponseCreateParamsBase),
    ("responses answer", fm.RESPONSES.answer, Response),
    ("responses events", fm.RESPONSES_EVENT, ResponseStreamEvent),
    ("messages request", fm.MESSAGES.request, anthropic_params.MessageCreateParamsBase),
    ("messages answer", fm.MESSAGES.answer, Message),
    ("messages events", fm.MESSAGES_EVENT, RawMessageStreamEvent),
]


@pytest.mark.parametrize(("spec", "sdk_type"), [p[1:] for p in PAIRS], ids=[p[0] for p in PAIRS])
def test_every_string_field_of_the_sdks_is_declared(spec: Spec, sdk_type: Any) -> None:
    assert uncovered(spec, sdk_type) == []


DOCTORED = [
    ("responses request", ("instructions",), "instructions: not declared"),
    (
        "responses request",
        ("input", "list", "[]", "<function_call_output>", "output"),
        "input[].output: not declared",
    ),
    ("responses request", ("input", "list", "[]", "<function_call>", "arguments"), "input[].arguments"),
    ("responses request", ("input", "list", "[]", "<reasoning>", "summary"), "input[].summary"),
    ("responses request", ("tools", "[]", "<function>", "description"), "tools[].description"),
    ("responses request", ("tools", "[]", "<function>", "parameters"), "tools[].parameters"),
    ("responses request", ("text", "format", "<json_schema>", "schema"), "text.format.schema"),
    ("responses request", ("metadata",), "metadata: not declared"),
    ("responses answer", ("output", "[]", "<function_call>", "arguments"), "output[].arguments"),
    ("responses events", ("<response.output_text.delta>", "delta"), "delta: not declared"),
    ("messages request", ("system",), "system: not declared"),
    (
        "messages request",
        ("messages", "[]", "content", "list", "[]", "<tool_result>", "content"),
        "messages[].content[].content: not declared",
    ),
    (
        "messages request",
        ("messages", "[]", "content", "list", "[]", "<tool_use>", "input"),
        "messages[].content[].input: not declared",
    ),
    ("messages request", ("tools", "[]", "<custom>", "input_schema"), "tools[].input_schema"),
    ("messages request", ("tools", "[]", "<custom>", "description"), "tools[].description"),
    ("messages answer", ("content", "[]", "<tool_use>", "name"), "content[].name: not declared"),
    ("messages events", ("<content_block_delta>", "delta", "<text_delta>", "text"), "delta.text"),
]


@pytest.mark.parametrize(
    ("name", "path", "expected"), DOCTORED, ids=[f"{d[0]}:{'/'.join(d[1])}" for d in DOCTORED]
)
def test_the_meta_test_fails_when_a_field_is_removed_from_the_map(
    name: str, path: tuple[str, ...], expected: str
) -> None:
    _, spec, sdk_type = next(p for p in PAIRS if p[0] == name)
    problems = uncovered(without(spec, *path), sdk_type)
    assert any(expected in p for p in problems), problems
