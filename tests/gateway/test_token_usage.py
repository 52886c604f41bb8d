"""Token estimates and usage as the token quotas read them."""

from __future__ import annotations

from typing import Any

import pytest

from hegui.gateway.token_usage import estimate_tokens, prompt_tokens, usage_total


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("abcd", 1),
        ("abcde", 2),
        ("你好世界", 4),
        ("你好 world", 4),  # two CJK characters, then " world" (6 ASCII characters: 2 tokens)
        ("😀", 1),
    ],
)
def test_estimate_tokens(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_prompt_tokens_reads_the_prompt_fields_only() -> None:
    body = {
        "model": "a-very-long-model-name-that-is-not-prompt",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "你好"}]}],
        "system": "abcd",
        "user": "someone-with-a-long-id",
    }
    # "user", "text" and "你好" (messages' strings: role and type names count too), "abcd" (system).
    assert prompt_tokens(body) == estimate_tokens("user") + estimate_tokens("text") + 2 + 1


@pytest.mark.parametrize(
    ("answer", "total"),
    [
        ({"usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}, 7),
        ({"usage": {"input_tokens": 3, "output_tokens": 5}}, 8),  # Anthropic Messages
        ({"type": "response.completed", "response": {"usage": {"total_tokens": 9}}}, 9),  # Responses
        ({"usage": None}, None),
        ({"choices": []}, None),
    ],
)
def test_usage_total(answer: dict[str, Any], total: int | None) -> None:
    assert usage_total(answer) == total
