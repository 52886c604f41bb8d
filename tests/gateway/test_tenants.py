"""Every admin route is scoped to the tenant of its admin key: two tenants' admins on one gateway.

Tenant "acme" acts; tenant "globex" must see none of it, change none of it, and collide with none of it.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.gateway.conftest import BASE_POLICY, MakeClient

from hegui.records.config import RecordsPolicy
from hegui.records.pool import admit_to_pool

GATED = BASE_POLICY + "\n[records]\nrequire_agreement = true\n"


class Tenants:
    """One gateway; an admin client per tenant, and a model-API client of globex."""

    def __init__(self, make_client: MakeClient, policy: str = BASE_POLICY) -> None:
        self.acme = make_client(policy)
        keys = self.acme.app.state.hegui.keys  # type: ignore[attr-defined]
        self.state = self.acme.app.state.hegui  # type: ignore[attr-defined]
        self.acme.headers["authorization"] = "Bearer " + keys.create(name="a", tenant="acme", role="admin")[0]
        self.globex = TestClient(self.acme.app)
        self.globex.headers["authorization"] = (
            "Bearer " + keys.create(name="g", tenant="globex", role="admin")[0]
        )
        self.globex_api = TestClient(self.acme.app)
        self.globex_api.headers["authorization"] = "Bearer " + keys.create(name="gc", tenant="globex")[0]

    def admit(self, tenant: str, user: str, rid: str) -> None:
        consent = {"granted": True, "channel": "api"}
        admin = self.acme if tenant == "acme" else self.globex
        assert admin.post(f"/hegui/api/users/{user}/consent", json=consent).status_code == 201
        admitted = admit_to_pool(
            self.state.engine,
            RecordsPolicy(),
            tenant=tenant,
            user=user,
            channel="api",
            request_id=rid,
            prompt=f"帮我写一个排序算法 {rid}",
            answer="好的",
            input_action="allow",
            output_action="allow",
        )
        assert admitted.admitted, admitted


@pytest.fixture
def tenants(make_client: MakeClient) -> Tenants:
    return Tenants(make_client)


def _json(r: Any, status: int) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_one_tenants_agreement_is_never_anothers(make_client: MakeClient) -> None:
    t = Tenants(make_client, GATED)
    body = {"kind": "service", "version": "2026-11", "text": "acme 服务协议"}
    _json(t.acme.post("/hegui/api/agreements", json=body), 201)
    _json(t.acme.post("/hegui/api/agreements", json=body | {"kind": "privacy"}), 201)
    assert _json(t.globex.get("/hegui/api/agreements"), 200) == {"service": None, "privacy": None}
    assert _json(t.acme.get("/hegui/api/agreements"), 200)["service"]["text"] == "acme 服务协议"
    # globex's user cannot accept acme's agreement, by default or by its version.
    assert _json(t.globex.post("/hegui/api/users/u/agreements", json={"kind": "service"}), 404)
    r = t.globex.post("/hegui/api/users/u/agreements", json={"kind": "service", "version": "2026-11"})
    assert _json(r, 404)["error"]["code"] == "not_found"
    # acme's publication does not make globex's users servable.
    chat = {"model": "hegui-demo", "messages": [{"role": "user", "content": "你好"}], "user": "u"}
    assert _json(t.globex_api.post("/v1/chat/completions", json=chat), 403)["error"]["code"] == (
        "agreement_required"
    )
    # The same version name is globex's own to publish.
    _json(t.globex.post("/hegui/api/agreements", json=body | {"text": "globex 协议"}), 201)
    assert _json(t.acme.get("/hegui/api/agreements"), 200)["service"]["text"] == "acme 服务协议"
    assert _json(t.globex.get("/hegui/api/agreements"), 200)["service"]["text"] == "globex 协议"


def test_pool_exports_are_per_tenant(tenants: Tenants) -> None:
    t = tenants
    t.admit("acme", "alice", "r1")
    t.admit("acme", "amy", "r2")
    t.admit("globex", "gina", "r3")
    a = _json(t.acme.post("/hegui/api/pool/exports", json={"name": "weekly"}), 201)
    g = _json(t.globex.post("/hegui/api/pool/exports", json={"name": "weekly"}), 201)  # no collision
    assert (a["records"], g["records"]) == (2, 1)
    assert a["path"] != g["path"]
    only = _json(t.acme.post("/hegui/api/pool/exports", json={"name": "acme-only"}), 201)
    # globex can neither check acme's export by name nor see that it exists.
    r = t.globex.get("/hegui/api/pool/exports/acme-only/check")
    assert _json(r, 404)["error"]["code"] == "not_found"
    assert only["path"] not in r.text
    assert _json(t.acme.get("/hegui/api/pool/exports/acme-only/check"), 200)["records"] == 2
    assert _json(t.globex.get("/hegui/api/pool/exports/weekly/check"), 200)["records"] == 1
    # A withdrawal in globex flags globex's export, not acme's.
    assert _json(t.globex.post("/hegui/api/users/gina/consent", json={"granted": False}), 201)["tombstoned"]
    assert _json(t.globex.get("/hegui/api/pool/exports/weekly/check"), 200)["clean"] is False
    assert _json(t.acme.get("/hegui/api/pool/exports/weekly/check"), 200)["clean"] is True


def test_dsrs_are_per_tenant(tenants: Tenants) -> None:
    t = tenants
    made = _json(t.acme.post("/hegui/api/dsr", json={"user": "alice", "kind": "access"}), 201)
    assert _json(t.globex.get("/hegui/api/dsr"), 200)["data"] == []
    r = t.globex.post(f"/hegui/api/dsr/{made['id']}/complete", json={"resolution": "done"})
    assert _json(r, 404)["error"]["code"] == "not_found"
    (still,) = _json(t.acme.get("/hegui/api/dsr"), 200)["data"]
    assert still["status"] == made["status"] != "done"
    done = _json(t.acme.post(f"/hegui/api/dsr/{made['id']}/complete", json={"resolution": "ok"}), 200)
    assert done["request"]["status"] == "done"


def test_users_sanctions_consent_and_verification_are_per_tenant(tenants: Tenants) -> None:
    t = tenants
    lift = {"level": "suspend", "by": "staff:王", "reason": "复核"}
    _json(t.acme.post("/hegui/api/users/u/sanctions", json=lift), 201)
    assert _json(t.acme.get("/hegui/api/users/u/sanctions"), 200)["level"] == "suspend"
    theirs = _json(t.globex.get("/hegui/api/users/u/sanctions"), 200)
    assert theirs["level"] == "none" and theirs["steps"] == []
    _json(t.acme.post("/hegui/api/users/u/consent", json={"granted": True}), 201)
    assert _json(t.globex.get("/hegui/api/users/u/consent"), 200)["events"] == []
    _json(t.acme.put("/hegui/api/users/u/verification", json={"verified": True}), 200)
    engine = t.state.engine
    from hegui.records.agreements import is_verified

    assert is_verified(engine, "acme", "u") and not is_verified(engine, "globex", "u")


def test_an_export_copied_into_another_tenants_directory_is_not_checked_there(tenants: Tenants) -> None:
    """The manifest names its tenant: even placed in globex's directory, acme's export is not globex's."""
    import shutil
    from pathlib import Path

    t = tenants
    t.admit("acme", "alice", "r1")
    made = _json(t.acme.post("/hegui/api/pool/exports", json={"name": "copied"}), 201)
    _json(t.globex.post("/hegui/api/pool/exports", json={"name": "own"}), 201)
    globex_dir = Path(
        _json(t.globex.post("/hegui/api/pool/exports", json={"name": "own2"}), 201)["path"]
    ).parent
    shutil.copytree(made["path"], globex_dir / "copied")
    r = t.globex.get("/hegui/api/pool/exports/copied/check")
    assert _json(r, 404)["error"]["code"] == "not_found"
    assert _json(t.acme.get("/hegui/api/pool/exports/copied/check"), 200)["records"] == 1
