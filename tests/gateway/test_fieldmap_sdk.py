"""The meta-test: every string field of the official `openai` package's request and response types, for
the endpoints hegui exposes, is declared in the field map (inspected, or refused/dropped by a rule).

The second half shows that it can fail: a map with one field removed is caught, field by field.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest
from openai.types import (
    Completion,
    CreateEmbeddingResponse,
    ImagesResponse,
    completion_create_params,
    embedding_create_params,
    image_create_variation_params,
    image_edit_params,
    image_generate_params,
)
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat import completion_create_params as chat_params

from hegui.gateway import fieldmap as fm
from hegui.gateway.fields import Arr, Either, Obj, Spec, Tagged

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sdk_walk import uncovered

PAIRS: list[tuple[str, Spec, Any]] = [
    ("chat request", fm.CHAT.request, chat_params.CompletionCreateParamsBase),
    ("chat answer", fm.CHAT.answer, ChatCompletion),
    ("chat chunk", fm.CHAT_CHUNK, ChatCompletionChunk),
    ("completions request", fm.COMPLETIONS.request, completion_create_params.CompletionCreateParamsBase),
    ("completions answer", fm.COMPLETIONS.answer, Completion),
    ("embeddings request", fm.EMBEDDINGS.request, embedding_create_params.EmbeddingCreateParams),
    ("embeddings answer", fm.EMBEDDINGS.answer, CreateEmbeddingResponse),
    ("images request", fm.IMAGES.request, image_generate_params.ImageGenerateParamsBase),
    ("images answer", fm.IMAGES.answer, ImagesResponse),
    ("image edits request", fm.IMAGE_EDITS.request, image_edit_params.ImageEditParamsBase),
    (
        "image variations request",
        fm.IMAGE_VARIATIONS.request,
        image_create_variation_params.ImageCreateVariationParams,
    ),
]


@pytest.mark.parametrize(("spec", "sdk_type"), [p[1:] for p in PAIRS], ids=[p[0] for p in PAIRS])
def test_every_string_field_of_the_sdk_is_declared(spec: Spec, sdk_type: Any) -> None:
    assert uncovered(spec, sdk_type) == []


def without(spec: Spec, *path: str) -> Spec:
    """``spec`` with the field at ``path`` removed; ``[]`` steps into an array, ``<tag>`` into a
    variant, ``str|list|obj`` into a branch of an Either."""
    head, rest = path[0], path[1:]
    if isinstance(spec, Obj):
        if not rest:
            return Obj({k: v for k, v in spec.fields.items() if k != head})
        return Obj(dict(spec.fields) | {head: without(spec.fields[head], *rest)})
    if isinstance(spec, Arr) and head == "[]":
        return dataclasses.replace(spec, item=without(spec.item, *rest))
    if isinstance(spec, Tagged) and head.startswith("<"):
        tag = head.strip("<>")
        return dataclasses.replace(
            spec, variants=dict(spec.variants) | {tag: without(spec.variants[tag], *rest)}
        )
    if isinstance(spec, Either) and head in ("str", "list", "obj"):
        attr = f"{head}_" if head != "obj" else "obj"
        return dataclasses.replace(spec, **{attr: without(getattr(spec, attr), *rest)})
    raise AssertionError(f"cannot step {head!r} into {type(spec).__name__}")


DOCTORED = [
    ("chat request", ("messages", "[]", "name"), "messages[].name: not declared"),
    ("chat request", ("messages", "[]", "refusal"), "messages[].refusal: not declared"),
    ("chat request", ("messages", "[]", "function_call"), "messages[].function_call: not declared"),
    (
        "chat request",
        ("messages", "[]", "tool_calls", "[]", "<function>", "function", "name"),
        "function.name",
    ),
    ("chat request", ("messages", "[]", "content", "list", "[]", "<text>", "text"), "content[].text"),
    ("chat request", ("tools", "[]", "<function>", "function", "description"), "function.description"),
    ("chat request", ("response_format", "<json_schema>", "json_schema", "schema"), "json_schema.schema"),
    ("chat request", ("prediction",), "prediction: not declared"),
    ("chat request", ("metadata",), "metadata: not declared"),
    ("completions request", ("suffix",), "suffix: not declared"),
    ("chat answer", ("choices", "[]", "message", "refusal"), "message.refusal: not declared"),
    ("chat answer", ("choices", "[]", "message", "audio", "transcript"), "audio.transcript"),
    ("chat answer", ("choices", "[]", "logprobs"), "choices[].logprobs: not declared"),
    ("chat chunk", ("choices", "[]", "delta", "function_call"), "delta.function_call: not declared"),
    ("chat chunk", ("choices", "[]", "delta", "refusal"), "delta.refusal: not declared"),
    ("completions answer", ("choices", "[]", "text"), "choices[].text: not declared"),
    ("images answer", ("data", "[]", "revised_prompt"), "data[].revised_prompt: not declared"),
    ("images request", ("prompt",), "prompt: not declared"),
]


@pytest.mark.parametrize(("name", "path", "expected"), DOCTORED, ids=["/".join(d[1]) for d in DOCTORED])
def test_the_meta_test_fails_when_a_field_is_removed_from_the_map(
    name: str, path: tuple[str, ...], expected: str
) -> None:
    _, spec, sdk_type = next(p for p in PAIRS if p[0] == name)
    problems = uncovered(without(spec, *path), sdk_type)
    assert any(expected in p for p in problems), problems


def test_every_exposed_model_endpoint_has_a_field_map(make_client: Any) -> None:
    """A route added under /v1 that takes a body (responses, messages, …) needs its map first."""
    app = make_client().app
    posted = {r.path for r in app.routes if r.path.startswith("/v1/") and "POST" in getattr(r, "methods", ())}
    assert posted == {e.path for e in fm.ENDPOINTS}
