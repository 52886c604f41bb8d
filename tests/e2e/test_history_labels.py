"""Issue 12.7 through the `openai` client against a started gateway: the explicit labels hegui added to
earlier answers are left out of the history forwarded upstream; the user's answers keep theirs."""

from __future__ import annotations

import json

import pytest
from openai import OpenAI

from conftest import Gateway
from hegui.gateway.history import without_own_labels

pytestmark = pytest.mark.e2e

LABEL = "\n\n【AI生成】"


def forwarded(gw: Gateway, marker: str) -> dict[str, object]:
    for line in gw.upstream_log.read_text(encoding="utf-8").splitlines():
        body: dict[str, object] = json.loads(line)
        if marker in json.dumps(body, ensure_ascii=False):
            return body
    raise AssertionError(f"no forwarded request with {marker!r}")


@pytest.mark.parametrize("stream", [False, True])
def test_labels_hegui_added_do_not_go_back_upstream(gateway: Gateway, stream: bool) -> None:
    marker = f"history-{stream}"
    with OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as client:
        first = client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": f"{marker} 第一问"}]
        )
        earlier = first.choices[0].message.content or ""
        assert earlier.endswith(LABEL)  # the user's copy is labelled
        messages = [
            {"role": "user", "content": f"{marker} 第一问"},
            {"role": "assistant", "content": earlier},
            {"role": "assistant", "content": "【AI生成】写在开头的不是 hegui 加的"},
            {"role": "user", "content": f"{marker} 第二问"},
        ]
        second = client.chat.completions.create(model="fake-model", messages=messages, stream=stream)  # type: ignore[call-overload]
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in second if c.choices)
        else:
            text = second.choices[0].message.content or ""
    assert text.endswith(LABEL)  # the new answer is labelled as always
    sent = forwarded(gateway, f"{marker} 第二问")["messages"]
    assert isinstance(sent, list)
    assert sent[1]["content"] == earlier.removesuffix(LABEL)
    assert sent[2]["content"] == "【AI生成】写在开头的不是 hegui 加的"  # not hegui's exact label: untouched


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("答案" + LABEL, "答案"),
        ("答案" + LABEL + LABEL, "答案" + LABEL),  # one label added, one left out
        ("答案【AI生成】", "答案【AI生成】"),  # not the exact suffix
        (
            [{"type": "text", "text": "甲"}, {"type": "text", "text": "乙" + LABEL}],
            [{"type": "text", "text": "甲"}, {"type": "text", "text": "乙"}],
        ),
    ],
)
def test_without_own_labels(content: object, expected: object) -> None:
    body = {
        "messages": [{"role": "user", "content": "问" + LABEL}, {"role": "assistant", "content": content}]
    }
    without_own_labels(body, "", LABEL)
    assert body["messages"] == [
        {"role": "user", "content": "问" + LABEL},
        {"role": "assistant", "content": expected},
    ]
