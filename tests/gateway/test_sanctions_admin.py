"""The sanctions admin API in-process: the record of an end user, manual changes, errors, tenants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.gateway.conftest import MakeClient

from hegui.records.audit import iter_entries

TERM = "演示违禁词"


def _clients(make_client: MakeClient) -> tuple[TestClient, TestClient]:
    """A client key and an admin key on the same gateway."""
    client = make_client()
    key, _ = client.app.state.hegui.keys.create(name="admin", role="admin", channel="api")  # type: ignore[attr-defined]
    admin = TestClient(client.app, headers={"authorization": f"Bearer {key}"})
    return client, admin


def _refused(client: TestClient, user: str, n: int) -> None:
    for i in range(n):
        body = {"model": "hegui-demo", "messages": [{"role": "user", "content": f"{TERM}{i}"}], "user": user}
        assert client.post("/v1/chat/completions", json=body).json()["choices"][0]["finish_reason"] == (
            "content_filter"
        )


def test_record_lists_standing_and_every_step(make_client: MakeClient) -> None:
    client, admin = _clients(make_client)
    assert admin.get("/hegui/api/users/nobody/sanctions").json() == {
        "object": "sanction_record",
        "user": "nobody",
        "level": "none",
        "until": None,
        "may_use": True,
        "violations": 0,
        "steps": [],
    }
    _refused(client, "u1", 3)
    record = admin.get("/hegui/api/users/u1/sanctions").json()
    assert (record["level"], record["violations"], record["may_use"]) == ("restrict", 3, True)
    assert [(s["previous"], s["level"], s["decided_by"]) for s in record["steps"]] == [
        ("none", "warn", "ladder"),
        ("warn", "restrict", "ladder"),
    ]
    audited = [e.request_id for e in iter_entries(client.app.state.hegui.engine) if e.stage == "sanction"]  # type: ignore[attr-defined]
    assert [s["request_id"] for s in record["steps"]] == audited  # the step names the refused request
    assert all(s["at"].endswith("Z") and s["until"] is None for s in record["steps"])


@pytest.mark.parametrize(
    ("level", "until", "may_use"),
    [("suspend", True, False), ("terminate", False, False), ("none", False, True)],
)
def test_manual_change_is_a_step_and_an_audit_entry(
    make_client: MakeClient, level: str, until: bool, may_use: bool
) -> None:
    client, admin = _clients(make_client)
    _refused(client, "u1", 1)
    r = admin.post("/hegui/api/users/u1/sanctions", json={"level": level, "by": "staff:王", "reason": "复核"})
    assert r.status_code == 201
    step, record = r.json()["step"], r.json()["record"]
    assert (step["previous"], step["level"], step["decided_by"], step["reason"]) == (
        "warn",
        level,
        "staff:王",
        "复核",
    )
    assert (step["until"] is not None) is until
    assert (record["level"], record["may_use"], len(record["steps"])) == (level, may_use, 2)
    body = {"model": "hegui-demo", "messages": [{"role": "user", "content": "你好"}], "user": "u1"}
    assert (client.post("/v1/chat/completions", json=body).status_code == 200) is may_use
    entries = [e for e in iter_entries(client.app.state.hegui.engine) if e.stage == "sanction"]  # type: ignore[attr-defined]
    detail = json.loads(entries[-1].detail)
    assert (entries[-1].action, entries[-1].end_user, detail["decided_by"], detail["manual"]) == (
        level,
        "u1",
        "staff:王",
        True,
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"by": "staff", "reason": "r"}, "level"),
        ({"level": "banned", "by": "staff", "reason": "r"}, "level"),
        ({"level": "none", "reason": "r"}, "by"),
        ({"level": "none", "by": "  ", "reason": "r"}, "by"),
        ({"level": "none", "by": "staff", "reason": 3}, "reason"),
    ],
)
def test_invalid_changes_are_refused_and_not_recorded(make_client: MakeClient, body: Any, param: str) -> None:
    _, admin = _clients(make_client)
    r = admin.post("/hegui/api/users/u1/sanctions", json=body)
    assert r.status_code == 400
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == ("invalid_request", param)
    assert admin.get("/hegui/api/users/u1/sanctions").json()["steps"] == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_client_keys_are_refused(make_client: MakeClient, method: str) -> None:
    client = make_client()
    r = client.request(
        method, "/hegui/api/users/u1/sanctions", json={"level": "none", "by": "x", "reason": "y"}
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_permissions"


def test_an_admin_sees_only_its_own_tenant(make_client: MakeClient) -> None:
    client, admin = _clients(make_client)
    _refused(client, "u1", 1)
    keys = client.app.state.hegui.keys  # type: ignore[attr-defined]
    other_key, _ = keys.create(name="other-admin", role="admin", channel="api", tenant="other")
    other = TestClient(client.app, headers={"authorization": f"Bearer {other_key}"})
    assert other.get("/hegui/api/users/u1/sanctions").json()["steps"] == []
    assert len(admin.get("/hegui/api/users/u1/sanctions").json()["steps"]) == 1
