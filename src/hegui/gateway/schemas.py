"""Request validation for the OpenAI-compatible routes, and where the text is in each body.

Validation is strict about the fields hegui relies on and lets every other field through to the
upstream untouched. A content part that hegui cannot inspect (an image, audio, token ids) is refused
with a 400 rather than forwarded unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from hegui.errors import RequestError


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ContentPart(_Open):
    type: StrictStr
    text: StrictStr | None = None


class ToolFunction(_Open):
    name: StrictStr | None = None
    arguments: StrictStr | None = None


class ToolCall(_Open):
    function: ToolFunction | None = None


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: StrictStr | list[ContentPart] | None = None
    tool_calls: list[ToolCall] | None = None


class ChatRequest(_Open):
    model: StrictStr = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    user: StrictStr | None = None
    n: StrictInt | None = Field(None, ge=1, le=16)


class CompletionRequest(_Open):
    model: StrictStr = Field(min_length=1)
    prompt: StrictStr | list[StrictStr]
    stream: StrictBool = False
    user: StrictStr | None = None
    n: StrictInt | None = Field(None, ge=1, le=16)


class EmbeddingRequest(_Open):
    model: StrictStr = Field(min_length=1)
    input: StrictStr | list[StrictStr] = Field(min_length=1)
    user: StrictStr | None = None


def parse(model: type[_Open], body: dict[str, Any]) -> Any:
    """Validate ``body``; a failure is a 400 naming the first bad field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        if err["type"] == "missing":
            msg = f"Missing required parameter: {loc!r}."
        else:
            msg = f"Invalid value for {loc!r}: {err['msg']}."
        raise RequestError(msg, param=loc.split(".")[0].split("[")[0] or None) from None


@dataclass(slots=True)
class Slot:
    """One piece of text in a body: where it is, what it says, and how to replace it (masking)."""

    field: str
    text: str
    set: Callable[[str], None] | None = None


def _setter(container: Any, key: Any) -> Callable[[str], None]:
    def set_(value: str) -> None:
        container[key] = value

    return set_


def chat_input_slots(body: dict[str, Any]) -> list[Slot]:
    slots: list[Slot] = []
    for i, message in enumerate(body["messages"]):
        content = message.get("content")
        if isinstance(content, str):
            slots.append(Slot(f"messages[{i}].content", content, _setter(message, "content")))
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if part.get("type") == "text" and isinstance(part.get("text"), str):
                    slots.append(
                        Slot(f"messages[{i}].content[{j}].text", part["text"], _setter(part, "text"))
                    )
                else:
                    raise RequestError(
                        f"messages[{i}].content[{j}] has type {part.get('type')!r}, which this gateway cannot "
                        "inspect; only text parts are accepted",
                        param="messages",
                    )
        for k, call in enumerate(message.get("tool_calls") or []):
            function = call.get("function") or {}
            if isinstance(function.get("arguments"), str):
                slots.append(
                    Slot(
                        f"messages[{i}].tool_calls[{k}].function.arguments",
                        function["arguments"],
                        _setter(function, "arguments"),
                    )
                )
    return slots


def recent_user_turns(body: dict[str, Any], limit: int) -> list[str]:
    turns: list[str] = []
    for message in body["messages"]:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            turns.append(content)
        elif isinstance(content, list):
            turns.append("".join(p.get("text") or "" for p in content if p.get("type") == "text"))
    return turns[-limit:]


def list_slots(body: dict[str, Any], key: Literal["prompt", "input"]) -> list[Slot]:
    value = body[key]
    if isinstance(value, str):
        return [Slot(key, value, _setter(body, key))]
    return [Slot(f"{key}[{i}]", text, _setter(value, i)) for i, text in enumerate(value)]
