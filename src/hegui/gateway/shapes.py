"""Where generated text sits in the answers of each API (chat completions, legacy completions).

A *slot key* names one stream of generated text: (choice index, field[, tool-call index]). The relay runs
one StreamInspector per slot key, so every kind of generated text (content, reasoning, tool-call
arguments) is inspected, streamed or whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SlotKey = tuple[Any, ...]


@dataclass(slots=True)
class OutSlot:
    key: SlotKey
    text: str
    set: Callable[[str], None]


def _setter(container: dict[str, Any], key: str) -> Callable[[str], None]:
    def set_(value: str) -> None:
        container[key] = value

    return set_


class ChatShape:
    path = "/chat/completions"
    object = "chat.completion"
    chunk_object = "chat.completion.chunk"
    id_prefix = "chatcmpl-"
    content_field = "content"
    text_fields = ("content", "reasoning_content")

    def response_slots(self, response: dict[str, Any]) -> list[OutSlot]:
        slots: list[OutSlot] = []
        for choice in response.get("choices") or []:
            idx = choice.get("index", 0)
            message = choice.get("message") or {}
            slots += self._slots(idx, message)
        return slots

    def chunk_slots(self, chunk: dict[str, Any]) -> list[OutSlot]:
        slots: list[OutSlot] = []
        for choice in chunk.get("choices") or []:
            slots += self._slots(choice.get("index", 0), choice.get("delta") or {})
        return slots

    def _slots(self, idx: int, message: dict[str, Any]) -> list[OutSlot]:
        slots = [
            OutSlot((idx, name), message[name], _setter(message, name))
            for name in self.text_fields
            if isinstance(message.get(name), str)
        ]
        for k, call in enumerate(message.get("tool_calls") or []):
            function = call.get("function") or {}
            if isinstance(function.get("arguments"), str):
                slots.append(
                    OutSlot(
                        (idx, "tool", call.get("index", k)),
                        function["arguments"],
                        _setter(function, "arguments"),
                    )
                )
        return slots

    def tail_choice(self, key: SlotKey, text: str) -> dict[str, Any]:
        """A chunk choice that carries ``text`` in the slot ``key``."""
        idx, name = key[0], key[1]
        if name == "tool":
            delta: dict[str, Any] = {"tool_calls": [{"index": key[2], "function": {"arguments": text}}]}
        else:
            delta = {name: text}
        return {"index": idx, "delta": delta, "finish_reason": None}

    def stop_choice(self, idx: int, text: str = "") -> dict[str, Any]:
        return {"index": idx, "delta": {"content": text} if text else {}, "finish_reason": "content_filter"}

    def refusal(self, request_id: str, model: str, text: str) -> dict[str, Any]:
        return {
            "id": request_id,
            "object": self.object,
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": "content_filter",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    def refusal_chunks(self, request_id: str, model: str, text: str) -> list[dict[str, Any]]:
        base = {"id": request_id, "object": self.chunk_object, "created": int(time.time()), "model": model}
        return [
            base
            | {
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}
                ]
            },
            base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}]},
        ]

    def stopped_message(self, response: dict[str, Any], text: str) -> None:
        for choice in response.get("choices") or []:
            choice["message"] = {"role": "assistant", "content": text}
            choice["finish_reason"] = "content_filter"


class CompletionShape:
    path = "/completions"
    object = "text_completion"
    chunk_object = "text_completion"
    id_prefix = "cmpl-"
    content_field = "text"

    def response_slots(self, response: dict[str, Any]) -> list[OutSlot]:
        return [
            OutSlot((c.get("index", 0), "text"), c["text"], _setter(c, "text"))
            for c in response.get("choices") or []
            if isinstance(c.get("text"), str)
        ]

    def chunk_slots(self, chunk: dict[str, Any]) -> list[OutSlot]:
        return self.response_slots(chunk)

    def tail_choice(self, key: SlotKey, text: str) -> dict[str, Any]:
        return {"index": key[0], "text": text, "finish_reason": None, "logprobs": None}

    def stop_choice(self, idx: int, text: str = "") -> dict[str, Any]:
        return {"index": idx, "text": text, "finish_reason": "content_filter", "logprobs": None}

    def refusal(self, request_id: str, model: str, text: str) -> dict[str, Any]:
        return {
            "id": request_id,
            "object": self.object,
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "text": text, "finish_reason": "content_filter", "logprobs": None}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    def refusal_chunks(self, request_id: str, model: str, text: str) -> list[dict[str, Any]]:
        base = {"id": request_id, "object": self.chunk_object, "created": int(time.time()), "model": model}
        return [
            base
            | {"choices": [{"index": 0, "text": text, "finish_reason": "content_filter", "logprobs": None}]}
        ]

    def stopped_message(self, response: dict[str, Any], text: str) -> None:
        for choice in response.get("choices") or []:
            choice["text"] = text
            choice["finish_reason"] = "content_filter"


Shape = ChatShape | CompletionShape
