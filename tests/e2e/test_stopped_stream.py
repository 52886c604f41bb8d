"""A stream stopped by an output check (issue 12.5), through the `openai` client against a started
gateway: it ends with a short stop text in the catalog's language, and only generated text is labelled."""

from __future__ import annotations

import pytest
from fake_upstream import script
from openai import OpenAI

from conftest import Gateway
from hegui.guard.refusals import RefusalCatalog

pytestmark = pytest.mark.e2e

TERM = "演示违禁词"
LABEL = "\n\n【AI生成】"
STOP = RefusalCatalog().notice("output_stopped")


def stream(gw: Gateway, chunks: list[str]) -> tuple[str, str | None, bool]:
    """The streamed text, the finish reason, and whether the stream carried the implicit AIGC label (in
    a chunk's AIGC field or the X-AIGC-Label header)."""
    text, finish, implicit = "", None, False
    with OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="fake-model",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_body={"x_script": script(chunks=chunks)},
        )
        header = "x-aigc-label" in raw.headers
        for chunk in raw.parse():
            implicit = implicit or bool((chunk.model_extra or {}).get("AIGC"))
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
    assert header == implicit, "the header and the AIGC field disagree"
    return text, finish, implicit


def test_the_stop_text_is_bilingual_by_default() -> None:
    assert STOP == "（回答因内容安全原因已停止。） (The answer was stopped for content-safety reasons.)"


def test_a_stream_stopped_before_any_text_says_so_and_carries_no_label(gateway: Gateway) -> None:
    text, finish, implicit = stream(gateway, [TERM, "后文"])
    assert (text, finish, implicit) == (STOP, "content_filter", False)


def test_a_stream_stopped_after_some_text_labels_that_text_then_says_so(gateway: Gateway) -> None:
    before = "这是一段足够长的正常回答，它先被放行给客户端。" * 3
    text, finish, implicit = stream(gateway, [before, "然后出现" + TERM])
    assert finish == "content_filter" and implicit
    generated, _, stop = text.partition(LABEL + "\n\n")
    assert stop == STOP
    assert before.startswith(generated) and generated, text
    assert TERM not in text
