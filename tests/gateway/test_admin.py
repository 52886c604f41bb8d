"""The records admin API in-process: verification, agreements, consent, DSR, pool export and check."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.gateway.conftest import MakeClient

from hegui.records.config import RecordsPolicy
from hegui.records.conversations import store_turn
from hegui.records.pool import admit_to_pool


def _admin(make_client: MakeClient) -> TestClient:
    client = make_client()
    key, _ = client.app.state.hegui.keys.create(name="admin", role="admin", channel="api")  # type: ignore[attr-defined]
    client.headers["authorization"] = f"Bearer {key}"
    return client


def _admit(client: TestClient, user: str, channel: str, rid: str, prompt: str) -> Any:
    engine = client.app.state.hegui.engine  # type: ignore[attr-defined]
    return admit_to_pool(
        engine,
        RecordsPolicy(),
        tenant="default",
        user=user,
        channel=channel,
        request_id=rid,
        prompt=prompt,
        answer="好的",
        input_action="allow",
        output_action="allow",
    )


def test_client_keys_are_refused(make_client: MakeClient) -> None:
    client = make_client()
    r = client.post("/hegui/api/users/u/consent", json={"granted": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_permissions"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("PUT", "/hegui/api/users/u/verification", {"verified": "yes"}, 400, "invalid_request"),
        ("POST", "/hegui/api/users/u/consent", {}, 400, "invalid_request"),
        ("POST", "/hegui/api/users/u/consent", {"granted": True, "channel": "fax"}, 400, "invalid_request"),
        ("POST", "/hegui/api/users/u/agreements", {"kind": "service"}, 404, "not_found"),
        ("POST", "/hegui/api/dsr", {"user": "u", "kind": "forget"}, 400, "invalid_request"),
        ("POST", "/hegui/api/dsr/77/complete", {}, 404, "not_found"),
        ("POST", "/hegui/api/pool/exports", {"name": "../etc"}, 400, "invalid_request"),
        ("GET", "/hegui/api/pool/exports/nothing/check", None, 404, "not_found"),
    ],
)
def test_errors_are_openai_shaped(
    make_client: MakeClient, method: str, path: str, body: Any, status: int, code: str
) -> None:
    r = _admin(make_client).request(method, path, json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_agreements_and_verification(make_client: MakeClient) -> None:
    c = _admin(make_client)
    assert (
        c.post("/hegui/api/agreements", json={"kind": "service", "version": "1", "text": "协议"}).status_code
        == 201
    )
    assert c.get("/hegui/api/agreements").json()["service"]["version"] == "1"
    r = c.post("/hegui/api/users/u/agreements", json={"kind": "service", "channel": "chat"})
    assert r.status_code == 201 and r.json()["version"] == "1" and r.json()["channel"] == "chat"
    r = c.put("/hegui/api/users/u/verification", json={"verified": True})
    assert r.json() == {"user": "u", "verified": True, "method": "provider"}


def test_consent_withdrawal_export_check_and_dsr(make_client: MakeClient) -> None:
    c = _admin(make_client)
    assert _admit(c, "api-user", "api", "r0", "帮我写一个排序算法").reason == "no_consent"
    r = c.post("/hegui/api/users/api-user/consent", json={"granted": True, "channel": "api"})
    assert r.status_code == 201 and r.json()["event"]["granted"] is True
    assert _admit(c, "api-user", "api", "r1", "帮我写一个排序算法").admitted
    assert _admit(c, "chat-user", "chat", "r2", "给我讲讲长城的历史").admitted
    first = c.post("/hegui/api/pool/exports", json={"name": "e1"})
    assert first.status_code == 201 and first.json()["records"] == 2
    r = c.post("/hegui/api/users/chat-user/consent", json={"granted": False, "channel": "chat"})
    assert r.json()["tombstoned"] == 1
    assert c.get("/hegui/api/users/chat-user/consent?channel=chat").json()["effective"]["granted"] is False
    assert c.post("/hegui/api/pool/exports", json={"name": "e2"}).json()["records"] == 1
    check = c.get("/hegui/api/pool/exports/e1/check").json()
    assert check["clean"] is False and [f["reason"] for f in check["flagged"]] == ["withdrawn"]
    assert c.get("/hegui/api/pool/exports/e2/check").json()["clean"] is True
    # Deletion: the stored conversation becomes unreadable and the access export is empty.
    state = c.app.state.hegui  # type: ignore[attr-defined]
    store_turn(
        state.engine,
        c.app.state.hegui.vault,
        tenant="default",
        user="api-user",
        session=None,  # type: ignore[attr-defined]
        request_id="r1",
        role="user",
        text="帮我写一个排序算法",
    )
    d = c.post("/hegui/api/dsr", json={"user": "api-user", "kind": "deletion"}).json()
    assert d["status"] == "open" and d["due_date"] > d["received_at"][:10]
    done = c.post(f"/hegui/api/dsr/{d['id']}/complete", json={}).json()
    assert done["result"] == {"key_shredded": True, "turns_deleted": 1, "pool_tombstoned": 1}
    a = c.post("/hegui/api/dsr", json={"user": "api-user", "kind": "access"}).json()
    copy = c.post(f"/hegui/api/dsr/{a['id']}/complete", json={}).json()["result"]
    assert copy["conversations"] == [] and copy["training_pool"] == []
    listed = c.get("/hegui/api/dsr").json()["data"]
    assert [x["status"] for x in listed] == ["done", "done"]
    assert c.get("/hegui/api/dsr?overdue=true").json()["data"] == []
