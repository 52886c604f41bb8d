"""The [records] serve gate through the gateway: agreement acceptance and real-name verification."""

from __future__ import annotations

from typing import Any

from hegui.records import agreements
from hegui.records.audit import iter_entries

GATE = """
[records]
require_agreement = true
require_verification = true
"""


def chat(client: Any, user: str | None) -> Any:
    body: dict[str, Any] = {"model": "hegui-demo", "messages": [{"role": "user", "content": "你好"}]}
    if user:
        body["user"] = user
    return client.post("/v1/chat/completions", json=body)


def test_users_are_served_only_once_admitted(make_client: Any, base_policy: str) -> None:
    client = make_client(policy=base_policy + GATE)
    engine = client.app.state.hegui.engine
    anonymous = chat(client, None)
    assert anonymous.status_code == 403 and anonymous.json()["error"]["code"] == "agreement_required"
    for kind in agreements.KINDS:
        agreements.publish(engine, kind, "2026-11", f"{kind} text", tenant="default")
    assert chat(client, "carol").status_code == 403
    for kind in agreements.KINDS:
        agreements.accept(engine, "default", "carol", kind, None, "api")
    refused = chat(client, "carol")
    assert refused.status_code == 403 and "verif" in refused.json()["error"]["message"]
    agreements.set_verification(engine, "default", "carol", True, "phone")
    assert chat(client, "carol").status_code == 200
    not_served = [e for e in iter_entries(engine) if "not_served" in e.detail]
    assert len(not_served) == 3 and all(e.action == "refuse" for e in not_served)


def test_no_gate_by_default(make_client: Any) -> None:
    assert chat(make_client(), "dave").status_code == 200


def test_every_route_honours_the_gate(make_client: Any, base_policy: str) -> None:
    client = make_client(policy=base_policy + GATE)
    for path, body in (
        ("/v1/completions", {"model": "hegui-demo", "prompt": "你好", "user": "erin"}),
        ("/v1/embeddings", {"model": "hegui-demo", "input": "你好", "user": "erin"}),
        ("/v1/images/generations", {"model": "hegui-demo", "prompt": "山", "user": "erin"}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "agreement_required"
