"""The answers of each API (chat completions, legacy completions): where their text is (through the field
map, fieldmap.py), and the refusals and stop chunks hegui writes in their shape.

A *slot key* names one stream of generated text: (choice index, field path), for example
``(0, "tool_calls[1].function.arguments")``. The relay runs one StreamInspector per slot key, so every
text field the map declares (and every string it does not know) is inspected, streamed or whole.
"""

from __future__ import annotations

import time
from typing import Any

from hegui.gateway import fieldmap
from hegui.gateway.fieldcheck import AnswerSlot, SlotKey, answer_slots, nest


class ChatShape:
    path = "/chat/completions"
    object = "chat.completion"
    chunk_object = "chat.completion.chunk"
    id_prefix = "chatcmpl-"
    content_field = "content"

    def response_slots(
        self, response: dict[str, Any], known: frozenset[str] = frozenset()
    ) -> list[AnswerSlot]:
        return answer_slots(fieldmap.CHAT_ANSWER, response, "message", known)

    def chunk_slots(self, chunk: dict[str, Any], known: frozenset[str] = frozenset()) -> list[AnswerSlot]:
        return answer_slots(fieldmap.CHAT_CHUNK, chunk, "delta", known)

    def tail_choice(self, key: SlotKey, text: str) -> dict[str, Any]:
        """A chunk choice that carries ``text`` in the slot ``key``."""
        return {"index": key[0], "delta": nest(key[1], text), "finish_reason": None}

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
            choice["logprobs"] = None


class CompletionShape:
    path = "/completions"
    object = "text_completion"
    chunk_object = "text_completion"
    id_prefix = "cmpl-"
    content_field = "text"

    def response_slots(
        self, response: dict[str, Any], known: frozenset[str] = frozenset()
    ) -> list[AnswerSlot]:
        return answer_slots(fieldmap.COMPLETION_ANSWER, response, None, known)

    def chunk_slots(self, chunk: dict[str, Any], known: frozenset[str] = frozenset()) -> list[AnswerSlot]:
        return self.response_slots(chunk, known)

    def tail_choice(self, key: SlotKey, text: str) -> dict[str, Any]:
        return {"index": key[0], "finish_reason": None, "logprobs": None} | nest(key[1], text)

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
            choice["logprobs"] = None


Shape = ChatShape | CompletionShape
