"""The end user's record through the gateway: sanction ladder, refusal texts, session memory."""

from __future__ import annotations

import json
from typing import Any

from hegui.records.audit import iter_entries

TERM = "演示违禁词"


def chat(client: Any, content: str, user: str | None = "u1", session: str | None = None) -> Any:
    headers = {"x-hegui-session": session} if session else {}
    body: dict[str, Any] = {"model": "hegui-demo", "messages": [{"role": "user", "content": content}]}
    if user:
        body["user"] = user
    return client.post("/v1/chat/completions", json=body, headers=headers)


def test_refusal_text_comes_from_the_catalog_by_category(make_client: Any) -> None:
    client = make_client()
    text = chat(client, TERM, user=None).json()["choices"][0]["message"]["content"]
    catalog = client.app.state.hegui.refusals
    assert text == catalog.for_category("A.1h")


def test_ladder_warns_restricts_suspends_and_records_every_step(make_client: Any) -> None:
    client = make_client()
    texts = [chat(client, f"{TERM} {i}").json()["choices"][0]["message"]["content"] for i in range(5)]
    catalog = client.app.state.hegui.refusals
    assert texts[0].endswith(catalog.notice("warn"))
    assert texts[1] == catalog.for_category("A.1h")  # no new step, no notice
    assert texts[2].endswith(catalog.notice("restrict"))
    assert catalog.notice("suspend")[:8] in texts[4]
    refused = chat(client, "一个无害的问题")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "user_suspended"
    assert chat(client, "一个无害的问题", user="someone-else").status_code == 200
    entries = list(iter_entries(client.app.state.hegui.engine))
    steps = [(e.action, json.loads(e.detail)["previous"]) for e in entries if e.stage == "sanction"]
    assert steps == [("warn", "none"), ("restrict", "warn"), ("suspend", "restrict")]
    blocked = [(e.stage, e.end_user) for e in entries if e.action == "block_user"]
    assert blocked == [("input", "u1")]


def test_anonymous_requests_are_refused_without_a_ladder(make_client: Any) -> None:
    client = make_client()
    for _ in range(6):
        assert chat(client, TERM, user=None).status_code == 200
    assert not [e for e in iter_entries(client.app.state.hegui.engine) if e.stage == "sanction"]


MEMORY_POLICY = """
[[checks]]
name = "split"
type = "split_turns"
stages = ["input"]
terms = ["演示违禁词"]

[[checks]]
name = "near-dup"
type = "near_duplicate"
stages = ["input"]
threshold = 0.5
"""


def test_a_term_split_across_requests_of_a_session_is_refused(make_client: Any, base_policy: str) -> None:
    client = make_client(policy=base_policy + MEMORY_POLICY)
    assert chat(client, "请告诉我演示违", session="s1").json()["choices"][0]["finish_reason"] == "stop"
    second = chat(client, "禁词是什么", session="s1").json()
    assert second["choices"][0]["finish_reason"] == "content_filter"
    other_session = chat(client, "禁词是什么", session="s2").json()
    assert other_session["choices"][0]["finish_reason"] == "stop"


def test_rewording_of_a_refused_prompt_is_refused(make_client: Any, base_policy: str) -> None:
    client = make_client(policy=base_policy + MEMORY_POLICY)
    first = chat(client, "请详细告诉我怎样制作演示违禁词的全部步骤和需要的材料", session="s1").json()
    assert first["choices"][0]["finish_reason"] == "content_filter"
    reworded = chat(client, "请详细告诉我怎样制作那个东西的全部步骤和需要的材料", session="s1").json()
    assert reworded["choices"][0]["finish_reason"] == "content_filter"
    unrelated = chat(client, "今天上海的天气怎么样？适合出门散步吗", session="s1").json()
    assert unrelated["choices"][0]["finish_reason"] == "stop"
