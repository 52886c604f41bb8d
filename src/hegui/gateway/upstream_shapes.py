"""What an upstream's answers must look like before anything else in the gateway reads them.

Every whole body (``chat.completion``, ``text_completion``, images, embeddings) and every stream chunk
(``chat.completion.chunk``, ``text_completion``) is checked here against the shape the OpenAI API gives,
as far as the gateway relies on it: the containers are of the right type, the generated text is a string
or null, the indices are integers. A body that fails (``{"choices": [5]}``, ``{"choices": "zzz"}``, HTML,
invalid JSON) raises :class:`UpstreamMalformed`, which the gateway answers with 502 or, in a stream, with
an error event; the output stage never sees it, so no malformed answer can slip past a check by making
the check's reader fail. An ``{"error": …}`` body with status 200 is the upstream's own failure:
:class:`UpstreamError` with its message.

Fields the gateway does not read are left as they are (OpenAI-compatible servers add their own); which
of them may reach the client is the field map's business (shapes.py), not this module's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from hegui.errors import UpstreamError, UpstreamMalformed

Checker = Callable[[str, dict[str, Any], int], None]
#: Indices of tool calls and embeddings have no policy bound; this one only keeps them sane.
_NO_LIMIT = 1 << 31


class _Bad(Exception):
    """One shape error, with where it is (``choices[0].delta``)."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}" if where else what)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(where, f"expected an object, got {_kind(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(where, f"expected a list, got {_kind(value)}")
    return value


def _opt_str(parent: dict[str, Any], key: str, where: str) -> None:
    value = parent.get(key)
    if value is not None and not isinstance(value, str):
        raise _Bad(f"{where}.{key}", f"expected a string or null, got {_kind(value)}")


def _opt_obj(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key)
    return {} if value is None else _obj(value, f"{where}.{key}")


def _index(choice: dict[str, Any], where: str, below: int = _NO_LIMIT) -> None:
    value = choice.get("index", 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < below:
        raise _Bad(f"{where}.index", f"expected an integer from 0 to {below - 1}, got {value!r:.40}")


def _object_is(body: dict[str, Any], expected: str) -> None:
    value = body.get("object") or expected  # Azure's first chunk (prompt filter results) has "object": ""
    if value != expected:
        raise _Bad("object", f"expected {expected!r}, got {value!r:.60}")


def _content(message: dict[str, Any], where: str) -> None:
    content = message.get("content")
    if isinstance(content, list):
        for i, part in enumerate(content):
            _obj(part, f"{where}.content[{i}]")
    elif content is not None and not isinstance(content, str):
        raise _Bad(f"{where}.content", f"expected a string, a list of parts or null, got {_kind(content)}")


def _message(message: dict[str, Any], where: str) -> None:
    """A chat message or a chat delta: the fields the output stage reads."""
    _content(message, where)
    for key in ("refusal", "reasoning_content", "role"):
        _opt_str(message, key, where)
    calls = message.get("tool_calls")
    if calls is not None:
        for k, call in enumerate(_list(calls, f"{where}.tool_calls")):
            at = f"{where}.tool_calls[{k}]"
            _obj(call, at)
            if "index" in call:
                _index(call, at)
            function = _opt_obj(call, "function", at)
            _opt_str(function, "name", f"{at}.function")
            _opt_str(function, "arguments", f"{at}.function")
    legacy = _opt_obj(message, "function_call", where)
    _opt_str(legacy, "name", f"{where}.function_call")
    _opt_str(legacy, "arguments", f"{where}.function_call")
    audio = _opt_obj(message, "audio", where)
    _opt_str(audio, "transcript", f"{where}.audio")


def _choices(body: dict[str, Any], *, whole: bool, max_n: int) -> list[tuple[str, dict[str, Any]]]:
    if "choices" not in body:
        raise _Bad("choices", "missing")
    items = _list(body["choices"], "choices")
    if whole and not items:
        raise _Bad("choices", "empty: a whole answer without any choice")
    out = []
    for i, item in enumerate(items):
        where = f"choices[{i}]"
        choice = _obj(item, where)
        _index(choice, where, max_n)  # a choice index is below the request's n, so below max_n
        _opt_str(choice, "finish_reason", where)
        out.append((where, choice))
    usage = body.get("usage")
    if usage is not None:
        _obj(usage, "usage")
    return out


def _chat(kind: str, body: dict[str, Any], max_n: int) -> None:
    whole = kind == "whole"
    _object_is(body, "chat.completion" if whole else "chat.completion.chunk")
    for where, choice in _choices(body, whole=whole, max_n=max_n):
        key = "message" if whole else "delta"
        if whole and key not in choice:
            raise _Bad(f"{where}.message", "missing")
        _message(_opt_obj(choice, key, where), f"{where}.{key}")


def _text(kind: str, body: dict[str, Any], max_n: int) -> None:
    _object_is(body, "text_completion")
    for where, choice in _choices(body, whole=kind == "whole", max_n=max_n):
        if kind == "whole" and not isinstance(choice.get("text"), str):
            raise _Bad(f"{where}.text", f"expected a string, got {_kind(choice.get('text'))}")
        _opt_str(choice, "text", where)


def _images(_kind_: str, body: dict[str, Any], max_n: int) -> None:
    items = _list(body.get("data"), "data")
    if not 1 <= len(items) <= max_n:
        raise _Bad("data", f"expected 1 to {max_n} images, got {len(items)}")
    for i, item in enumerate(items):
        where = f"data[{i}]"
        image = _obj(item, where)
        if not isinstance(image.get("b64_json"), str) and not isinstance(image.get("url"), str):
            raise _Bad(where, "neither b64_json nor url is a string")
        _opt_str(image, "revised_prompt", where)


def _embeddings(_kind_: str, body: dict[str, Any], _max_n: int) -> None:
    for i, item in enumerate(_list(body.get("data"), "data")):
        where = f"data[{i}]"
        entry = _obj(item, where)
        _index(entry, where)
        vector = entry.get("embedding")
        if isinstance(vector, str):  # encoding_format="base64"
            continue
        numbers = _list(vector, f"{where}.embedding")
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in numbers):
            raise _Bad(f"{where}.embedding", "expected a list of numbers")


_BY_PATH: dict[str, Checker] = {
    "/chat/completions": _chat,
    "/completions": _text,
    "/images/generations": _images,
    "/images/edits": _images,
    "/images/variations": _images,
    "/embeddings": _embeddings,
}


def _upstream_failure(upstream: str, body: dict[str, Any]) -> UpstreamError | None:
    """The upstream says it failed: ``{"error": …}`` without choices (OpenAI, SGLang), or
    ``{"object": "error", "message": …}`` (vLLM)."""
    if body.get("object") == "error":
        message = body.get("message")
    elif "error" in body and not body.get("choices") and not body.get("data"):
        error = body["error"]
        message = error.get("message") if isinstance(error, dict) else error
    else:
        return None
    return UpstreamError(f"upstream {upstream!r} failed: {str(message)[:300]}")


@dataclass(frozen=True, slots=True)
class _Wording:
    """How a fault of a whole answer or of a stream event is described (after "upstream 'x' ")."""

    not_json: str
    not_object: str
    bad: str


_WHOLE = _Wording(
    "answered {path} with something that is not JSON ({sniff})",
    "answered {path} with JSON that is not an object",
    "answered {path} badly: {exc}",
)
_CHUNK = _Wording(
    "sent a stream event that is not JSON ({sniff})",
    "sent a stream event that is not a JSON object",
    "sent a bad stream chunk: {exc}",
)


def _checked(
    upstream: str, path: str, raw: bytes, kind: Literal["whole", "chunk"], max_n: int
) -> dict[str, Any]:
    words = _WHOLE if kind == "whole" else _CHUNK
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamMalformed(
            f"upstream {upstream!r} " + words.not_json.format(path=path, sniff=_sniff(raw))
        ) from None
    if not isinstance(body, dict):
        raise UpstreamMalformed(f"upstream {upstream!r} " + words.not_object.format(path=path))
    failure = _upstream_failure(upstream, body)
    if failure is not None:
        raise failure
    checker = _BY_PATH.get(path)
    if checker is not None:
        try:
            checker(kind, body, max_n)
        except _Bad as exc:
            raise UpstreamMalformed(
                f"upstream {upstream!r} " + words.bad.format(path=path, exc=exc)
            ) from None
    return body


def check_whole(upstream: str, path: str, content: bytes, *, max_n: int) -> dict[str, Any]:
    """Parse and check a whole (non-streamed) answer from ``path``; raise Upstream* errors."""
    return _checked(upstream, path, content, "whole", max_n)


def check_chunk(upstream: str, path: str, data: str, *, max_n: int) -> dict[str, Any]:
    """Parse and check one ``data:`` event of a stream from ``path``; raise Upstream* errors."""
    return _checked(upstream, path, data.encode(), "chunk", max_n)


def _sniff(content: bytes) -> str:
    """A short, safe description of a body that is not JSON (for the message and the audit)."""
    head = content[:200].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if not head:
        return "an empty body"
    return f"{len(content)} bytes starting {content[:40]!r}"
