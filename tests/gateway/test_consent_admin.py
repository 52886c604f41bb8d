"""The edit consents' admin API in-process (record, list, revoke; per tenant; audited) and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient
from tests.gateway.conftest import MakeClient
from typer.testing import CliRunner

from hegui.cli import app
from hegui.records.audit import iter_entries

BODY = {
    "subject": "同事甲",
    "scopes": ["likeness", "voice"],
    "purpose": "年会视频",
    "consented_by": "同事甲本人",
    "evidence": "signed-form-1",
}


def test_record_list_revoke_per_tenant_and_audited(make_client: MakeClient) -> None:
    client = make_client()
    keys = client.app.state.hegui.keys  # type: ignore[attr-defined]
    mine, _ = keys.create(name="admin", role="admin", channel="api")
    theirs, _ = keys.create(name="other", role="admin", channel="api", tenant="other")
    admin = TestClient(client.app, headers={"authorization": f"Bearer {mine}"})
    other = TestClient(client.app, headers={"authorization": f"Bearer {theirs}"})
    assert client.post("/hegui/api/persons/consents", json=BODY).status_code == 403  # a client key
    r = admin.post("/hegui/api/persons/consents", json=BODY | {"expires_at": "2099-01-01T00:00:00+08:00"})
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["tenant"], c["scopes"], c["revoked_at"]) == ("default", ["likeness", "voice"], None)
    assert [x["id"] for x in admin.get("/hegui/api/persons/consents").json()["data"]] == [c["id"]]
    assert other.get("/hegui/api/persons/consents").json()["data"] == []
    bad = admin.post("/hegui/api/persons/consents", json=BODY | {"scopes": ["face"]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "scopes"
    missing = admin.post(
        "/hegui/api/persons/consents", json={k: v for k, v in BODY.items() if k != "evidence"}
    )
    assert missing.status_code == 400
    revoke = {"by": "ops", "reason": "本人撤回"}
    assert other.post(f"/hegui/api/persons/consents/{c['id']}/revoke", json=revoke).status_code == 404
    r = admin.post(f"/hegui/api/persons/consents/{c['id']}/revoke", json=revoke)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    entries = [e for e in iter_entries(client.app.state.hegui.engine) if e.stage == "persons"]  # type: ignore[attr-defined]
    assert [(e.action, json.loads(e.detail)["edit_consent"]) for e in entries] == [
        ("consent", c["id"]),
        ("revoke_consent", c["id"]),
    ]


def test_cli_add_list_revoke(tmp_path: Path) -> None:
    env = {"HEGUI_DATA_DIR": str(tmp_path / "data"), "HEGUI_DATABASE_URL": "", "HEGUI_POLICY_FILE": ""}
    runner = CliRunner()
    evidence = tmp_path / "form.pdf"
    evidence.write_bytes(b"%PDF fictional consent")
    args = ["persons", "consent", "add", "--subject", "同事甲", "--tenant", "default", "--scope", "likeness"]
    more = ["--purpose", "年会", "--consented-by", "本人", "--evidence", str(evidence)]
    r = runner.invoke(app, [*args, *more], env=env)
    assert r.exit_code == 0, r.output
    cid = r.output.split()[2].rstrip(":")
    r = runner.invoke(app, ["persons", "consent", "list", "--json"], env=env)
    listed = json.loads(r.output)
    assert [c["id"] for c in listed] == [cid] and listed[0]["evidence_sha256"] is not None
    r = runner.invoke(app, ["persons", "consent", "revoke", cid, "--by", "ops", "--reason", "撤回"], env=env)
    assert r.exit_code == 0 and "revoked" in r.output
    r = runner.invoke(app, ["persons", "consent", "add", *args[3:], "--scope", "face", *more], env=env)
    assert r.exit_code != 0
