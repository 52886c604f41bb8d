"""The person registry's admin API in-process: list, authorize, revoke; tenants, audit, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.gateway.conftest import MakeClient

from hegui.persons.model import Kind, Person
from hegui.records.audit import iter_entries
from hegui.records.persons_store import PersonRegistry


def _admins(make_client: MakeClient) -> tuple[TestClient, TestClient, TestClient]:
    """A client key, an admin of tenant "default" and an admin of tenant "other", on one gateway."""
    client = make_client()
    keys = client.app.state.hegui.keys  # type: ignore[attr-defined]
    PersonRegistry(client.app.state.hegui.engine).add(Person("lin", "林晓雯", Kind.PUBLIC_FIGURE))  # type: ignore[attr-defined]
    mine, _ = keys.create(name="admin", role="admin", channel="api")
    other, _ = keys.create(name="other", role="admin", channel="api", tenant="other")
    return (
        client,
        TestClient(client.app, headers={"authorization": f"Bearer {mine}"}),
        TestClient(client.app, headers={"authorization": f"Bearer {other}"}),
    )


BODY = {"scope": "likeness", "purpose": "品牌广告", "grantor": "经纪公司", "evidence": "contract-7"}


def test_authorize_list_revoke_per_tenant_and_audited(make_client: MakeClient) -> None:
    client, admin, other = _admins(make_client)
    r = admin.post(
        "/hegui/api/persons/lin/authorizations", json=BODY | {"expires_at": "2099-01-01T00:00:00+08:00"}
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["person"], a["tenant"], a["scope"], a["revoked_at"]) == ("lin", "default", "likeness", None)
    listed = admin.get("/hegui/api/persons").json()
    assert [p["key"] for p in listed["persons"]] == ["lin"] and [
        x["id"] for x in listed["authorizations"]
    ] == [a["id"]]
    assert other.get("/hegui/api/persons").json()["authorizations"] == []  # never another tenant's
    stolen = other.post(
        f"/hegui/api/persons/authorizations/{a['id']}/revoke", json={"by": "x", "reason": "y"}
    )
    assert stolen.status_code == 404
    r = admin.post(
        f"/hegui/api/persons/authorizations/{a['id']}/revoke", json={"by": "ops", "reason": "合同终止"}
    )
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    again = admin.post(
        f"/hegui/api/persons/authorizations/{a['id']}/revoke", json={"by": "ops", "reason": "r"}
    )
    assert again.status_code == 400 and "already revoked" in again.json()["error"]["message"]
    entries = [e for e in iter_entries(client.app.state.hegui.engine) if e.stage == "persons"]  # type: ignore[attr-defined]
    assert [(e.action, e.tenant, json.loads(e.detail)["authorization"]) for e in entries] == [
        ("authorize", "default", a["id"]),
        ("revoke", "default", a["id"]),
    ]


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/hegui/api/persons/nobody/authorizations", BODY, 404, None),
        ("/hegui/api/persons/lin/authorizations", BODY | {"scope": "face"}, 400, "scope"),
        ("/hegui/api/persons/lin/authorizations", BODY | {"purpose": " "}, 400, "purpose"),
        (
            "/hegui/api/persons/lin/authorizations",
            {k: v for k, v in BODY.items() if k != "grantor"},
            400,
            "grantor",
        ),
        ("/hegui/api/persons/lin/authorizations", BODY | {"evidence": 7}, 400, "evidence"),
        ("/hegui/api/persons/lin/authorizations", BODY | {"evidence_sha256": "abc"}, 400, "evidence_sha256"),
        ("/hegui/api/persons/lin/authorizations", BODY | {"expires_at": "2099-01-01"}, 400, "expires_at"),
        ("/hegui/api/persons/lin/authorizations", BODY | {"expires_at": "tomorrow"}, 400, "expires_at"),
        ("/hegui/api/persons/lin/authorizations", BODY | {"purpose": "a\x00b"}, 400, "purpose"),
        ("/hegui/api/persons/authorizations/123/revoke", {"by": "a", "reason": "b"}, 400, "id"),
        ("/hegui/api/persons/authorizations/" + "0" * 32 + "/revoke", {"by": "a", "reason": "b"}, 404, None),
        ("/hegui/api/persons/authorizations/" + "0" * 32 + "/revoke", {"reason": "b"}, 400, "by"),
    ],
)
def test_bad_input_is_refused_and_nothing_recorded(
    make_client: MakeClient, path: str, body: dict[str, Any], status: int, param: str | None
) -> None:
    client, admin, _ = _admins(make_client)
    r = admin.post(path, json=body)
    assert r.status_code == status, r.text
    if param is not None:
        assert r.json()["error"]["param"] == param
    assert PersonRegistry(client.app.state.hegui.engine).authorizations() == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/hegui/api/persons"),
        ("POST", "/hegui/api/persons/lin/authorizations"),
        ("POST", "/hegui/api/persons/authorizations/" + "0" * 32 + "/revoke"),
    ],
)
def test_client_keys_are_refused(make_client: MakeClient, method: str, path: str) -> None:
    client, _, _ = _admins(make_client)
    r = client.request(method, path, json=BODY)
    assert r.status_code == 403
