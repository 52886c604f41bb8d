"""A stopped stream with the label at both ends (issue 12.5), in-process: the prefix goes only with the
first generated text, so a stream stopped before any carries only the stop text."""

from __future__ import annotations

from typing import Any

import pytest
from tests.gateway.test_flow import TERM, chat, read_stream, sse_transport

from hegui.guard.refusals import RefusalCatalog

STOP = RefusalCatalog().notice("output_stopped")
BOTH = '[labels]\ntext_position = "both"\n'
LONG = "这是一段足够长的正常回答，它会先被放行给客户端。" * 3


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ([TERM, "后文"], STOP),
        ([LONG, TERM], None),  # checked below: labelled generated text, then the stop text
    ],
)
def test_stopped_stream_labels_only_generated_text(
    make_client: Any, base_policy: str, pieces: list[str], expected: str | None
) -> None:
    client = make_client(policy=base_policy + BOTH, mock=sse_transport([{"content": p} for p in pieces]))
    response = chat(client, stream=True)
    content, _, finish = read_stream(response)
    assert finish == "content_filter"
    if expected is not None:
        assert content == expected and '"AIGC"' not in response.text
        return
    assert content.startswith("【AI生成】\n\n") and content.endswith("\n\n【AI生成】\n\n" + STOP)
    generated = content.removeprefix("【AI生成】\n\n").removesuffix("\n\n【AI生成】\n\n" + STOP)
    assert generated and LONG.startswith(generated)


def test_the_configured_stop_text_wins(make_client: Any, base_policy: str) -> None:
    policy = base_policy.replace(
        'version = "test"', 'version = "test"\n[gateway]\noutput_stop_text = "（已停止）"'
    )
    client = make_client(policy=policy, mock=sse_transport([{"content": TERM}]))
    content, _, finish = read_stream(chat(client, stream=True))
    assert (content, finish) == ("（已停止）", "content_filter")
