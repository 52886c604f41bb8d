"""POST /hegui/api/keys/{key}/revoke: an admin key revokes a key of its own tenant, through the gateway."""

from __future__ import annotations

from .conftest import MakeClient


def test_revoke_through_the_gateway(make_client: MakeClient) -> None:
    client = make_client()
    keys = client.app.state.hegui.keys
    admin, _ = keys.create(name="ops", role="admin")
    victim, info = keys.create(name="victim")
    other_tenant, other = keys.create(name="elsewhere", tenant="other")
    as_admin = {"authorization": f"Bearer {admin}"}
    chat = {"model": "hegui-demo", "messages": [{"role": "user", "content": "hi"}]}

    def chat_with(key: str) -> int:
        return client.post(
            "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {key}"}
        ).status_code

    assert chat_with(victim) == 200
    # A client key may not revoke; an admin key may not reach another tenant's key.
    assert client.post(f"/hegui/api/keys/{info.prefix}/revoke").status_code == 403
    missing = client.post(f"/hegui/api/keys/{other.id}/revoke", headers=as_admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    answer = client.post(f"/hegui/api/keys/{info.prefix}/revoke", headers=as_admin)
    assert answer.status_code == 200
    assert answer.json() | {"revoked_at": "x"} == {
        "object": "api_key",
        "id": info.id,
        "prefix": info.prefix,
        "revoked_at": "x",
    }
    assert chat_with(victim) == 401  # at once on this replica
    assert chat_with(other_tenant) == 200
