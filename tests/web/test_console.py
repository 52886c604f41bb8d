"""The staff console: sessions, CSRF, roles, every page, one-click actions, escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient
from tests.web.conftest import MakeClient, csrf_of, login

from hegui.cases import store
from hegui.records import dsr
from hegui.records.audit import iter_entries, verify_chain
from hegui.web import sessions

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
XSS = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
PAGES = [
    "/console",
    "/console/cases",
    "/console/cases/1",
    "/console/cases/1/evidence/1",
    "/console/improvements.jsonl",
    "/console/authority/1.json",
]
ACTIONS = ["transition", "note", "assign", "takedown", "sanction", "improve", "authority"]


def _complaint(client: TestClient, **fields: str) -> str:
    data = {
        "kind": "illegal",
        "description": "生成了违法内容",
        "anonymous": "1",
        "produce_id": "chatcmpl-x",
        "user": "u1",
    }
    r = client.post("/report", data=data | fields, files=[("evidence", ("shot.png", PNG, "image/png"))])
    assert r.status_code == 303, r.text
    return r.headers["location"].split("/")[-1].split("?")[0]


def _post(client: TestClient, case_id: int, action: str, **fields: str) -> str:
    page = client.get(f"/console/cases/{case_id}")
    r = client.post(f"/console/cases/{case_id}/{action}", data={"csrf": csrf_of(page.text), **fields})
    assert r.status_code == 303, r.text
    return r.headers["location"]


@pytest.mark.parametrize("path", PAGES)
def test_no_console_page_without_a_session(make_client: MakeClient, path: str) -> None:
    client = make_client()
    _complaint(client)
    r = client.get(path)
    assert (r.status_code, r.headers["location"]) == (303, "/console/login")
    client.cookies.set(sessions.COOKIE, "forged-token", path="/console")
    assert client.get(path).status_code == 303


@pytest.mark.parametrize("action", ACTIONS)
def test_no_action_without_a_session(make_client: MakeClient, action: str) -> None:
    client = make_client()
    _complaint(client)
    r = client.post(f"/console/cases/1/{action}", data={"csrf": "x", "to": "triaged"})
    assert r.status_code == 403
    assert store.get_case(client.app.state.hegui.engine, 1).state == "received"  # type: ignore[attr-defined]


def test_login_sets_a_strict_httponly_cookie_and_is_audited(make_client: MakeClient) -> None:
    client = make_client()
    key, _ = client.app.state.hegui.keys.create(name="staff", role="admin")  # type: ignore[attr-defined]
    page = client.get("/console/login")
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    r = client.post("/console/login", data={"key": key, "csrf": csrf_of(page.text)})
    cookie = r.headers["set-cookie"].lower()
    assert r.status_code == 303 and "hegui_console=" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert key.lower() not in cookie
    assert client.get("/console").status_code == 200
    actions = [e.action for e in iter_entries(client.app.state.hegui.engine) if e.stage == "console"]  # type: ignore[attr-defined]
    assert actions == ["login"]


def test_login_refuses_wrong_keys_client_keys_and_a_missing_csrf(make_client: MakeClient) -> None:
    client = make_client()
    keys = client.app.state.hegui.keys  # type: ignore[attr-defined]
    client_key, _ = keys.create(name="app", role="client")
    admin_key, _ = keys.create(name="staff", role="admin")
    for key in ("hg-wrong", client_key):
        page = client.get("/console/login")
        r = client.post("/console/login", data={"key": key, "csrf": csrf_of(page.text)})
        assert r.status_code == 403 and "hegui_console=" not in r.headers.get("set-cookie", "")
    client.get("/console/login")
    r = client.post("/console/login", data={"key": admin_key, "csrf": "not-the-token"})
    assert r.status_code == 403 and "表单已过期" in r.text
    assert client.get("/console").status_code == 303
    denied = [e.action for e in iter_entries(client.app.state.hegui.engine) if e.stage == "console"]  # type: ignore[attr-defined]
    assert denied == ["login-denied", "login-denied"]


def test_csrf_is_required_on_every_action(make_client: MakeClient) -> None:
    client = make_client()
    _complaint(client)
    login(client)
    for sent in ({}, {"csrf": "wrong"}):
        r = client.post("/console/cases/1/transition", data={"to": "triaged", **sent})
        assert r.status_code == 403 and "CSRF" in r.text
    assert store.get_case(client.app.state.hegui.engine, 1).state == "received"  # type: ignore[attr-defined]
    assert client.post("/console/logout", data={"csrf": "wrong"}).status_code == 403


def test_reviewer_cannot_do_admin_only_actions(make_client: MakeClient) -> None:
    client = make_client()
    _complaint(client)
    key = login(client, role="reviewer")
    page = client.get("/console/cases/1")
    assert page.status_code == 200 and 'id="authority"' not in page.text and "(reviewer)" in page.text
    r = client.post(
        "/console/cases/1/authority", data={"csrf": csrf_of(page.text), "authority": "a", "summary": "s"}
    )
    assert r.status_code == 403 and "admin" in r.text
    assert client.get("/console/improvements.jsonl").status_code == 403
    assert _post(client, 1, "transition", to="triaged").endswith("done=%E2%86%92%20triaged")
    assert "chatcmpl-x removed" in client.get(_post(client, 1, "takedown", reason="r")).text
    assert client.get("/hegui/api/agreements", headers={"authorization": f"Bearer {key}"}).status_code == 403
    st = client.app.state.hegui  # type: ignore[attr-defined]
    assert not any(e.action == "authority-rpt" for e in iter_entries(st.engine))


def test_revoking_the_key_ends_its_sessions(make_client: MakeClient) -> None:
    client = make_client()
    key = login(client)
    assert client.get("/console").status_code == 200
    client.app.state.hegui.keys.revoke(key[:11])  # type: ignore[attr-defined]
    assert client.get("/console").status_code == 303


def test_logout_ends_the_session(make_client: MakeClient) -> None:
    client = make_client()
    login(client)
    page = client.get("/console")
    token = client.cookies.get(sessions.COOKIE)
    assert client.post("/console/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    client.cookies.set(sessions.COOKIE, token or "", path="/console")
    assert client.get("/console").status_code == 303


def test_case_flow_takedown_sanction_answer(make_client: MakeClient) -> None:
    client = make_client()
    receipt = _complaint(client)
    login(client)
    dash = client.get("/console")
    assert re.search(r'id="open-count">1<', dash.text) and "<svg" in dash.text
    queue = client.get("/console/cases?state=received")
    assert receipt in queue.text
    assert receipt not in client.get("/console/cases?overdue=1").text
    assert _post(client, 1, "transition", to="triaged")
    assert "→ decided" in client.get(_post(client, 1, "transition", to="decided", decision="upheld")).text
    done = client.get(_post(client, 1, "takedown", reason="违法内容"))
    assert "chatcmpl-x removed" in done.text and 'id="case-state">acted<' in done.text
    assert "已下架 removed" in done.text
    sanctioned = client.get(_post(client, 1, "sanction", level="suspend", reason="发布违法内容"))
    assert "u1: none → suspend" in sanctioned.text
    client.get(_post(client, 1, "improve", category="A.1a"))
    authority = client.get(
        _post(client, 1, "authority", authority="网信办", reference="R-1", summary="已报告")
    )
    assert "report 1 recorded" in authority.text
    client.get(_post(client, 1, "transition", to="answered", answer="经核查，相关内容已下架。"))
    public = client.get(f"/report/{receipt}")
    assert "经核查，相关内容已下架。" in public.text and "已答复" in public.text
    assert client.get("/hegui/public/produce/chatcmpl-x").status_code == 410
    export = client.get("/console/authority/1.json")
    assert (
        export.json()["report"]["reference"] == "R-1"
        and "attachment" in export.headers["content-disposition"]
    )
    jsonl = client.get("/console/improvements.jsonl")
    assert '"produce_id": "chatcmpl-x"' in jsonl.text
    evidence = client.get("/console/cases/1/evidence/1")
    assert evidence.content == PNG and evidence.headers["content-disposition"].startswith("attachment")
    st = client.app.state.hegui  # type: ignore[attr-defined]
    assert not st.ladder.standing(st.sanctions, "default", "u1", datetime.now(UTC)).may_use
    chain = [(e.stage, e.action) for e in iter_entries(st.engine)]
    for step in (
        "case-triaged",
        "case-decided",
        "takedown",
        "case-acted",
        "suspend",
        "improve-queue",
        "authority-rpt",
        "case-answered",
        "evidence-read",
    ):
        assert any(a == step for _, a in chain), step
    verify_chain(st.engine)


def test_console_escapes_every_field(make_client: MakeClient) -> None:
    client = make_client()
    fields = dict.fromkeys(("produce_id", "user", "reporter_name", "description"), XSS)
    _complaint(client, kind="other", anonymous="", reporter_contact=XSS, **fields)
    login(client)
    client.get(_post(client, 1, "note", note=XSS))
    client.get(_post(client, 1, "assign", assignee=XSS))
    for path in ("/console/cases/1", "/console/cases", "/console"):
        body = client.get(path).text
        assert "<script>" not in body and "<img" not in body, path
    page = client.get("/console/cases/1").text
    assert "&lt;script&gt;" in page
    r = client.get("/console/cases/1?error=" + XSS)
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text


def test_another_tenants_case_is_not_found(make_client: MakeClient) -> None:
    client = make_client()
    _complaint(client)
    st = client.app.state.hegui  # type: ignore[attr-defined]
    _, info = st.keys.create(name="other", tenant="t2", role="admin")
    token, csrf = sessions.open_session(st.engine, info.id, info.tenant, "admin")
    client.cookies.set(sessions.COOKIE, token, path="/console")
    assert client.get("/console/cases/1").status_code == 404
    r = client.post("/console/cases/1/transition", data={"csrf": csrf, "to": "triaged"})
    assert r.status_code == 404
    assert store.get_case(st.engine, 1).state == "received"


def test_rumour_case_publishes_a_refutation(make_client: MakeClient) -> None:
    client = make_client()
    _complaint(client, kind="rumour", produce_id="", user="", url="https://example.com/r")
    login(client)
    page = client.get("/console/cases/1")
    assert 'id="refute"' in page.text and 'id="takedown"' not in page.text
    done = client.get(_post(client, 1, "refute", title="关于传言的说明", body="经核实，该传言不实。"))
    assert "refutation 1 published" in done.text
    assert "经核实，该传言不实。" in client.get("/refutations").text


def test_privacy_request_becomes_a_case_then_a_data_subject_request(make_client: MakeClient) -> None:
    client = make_client()
    r = client.post(
        "/privacy/request", data={"dsr_kind": "deletion", "user": "u9", "reporter_contact": "u9@example.com"}
    )
    assert r.status_code == 303, r.text
    missing = client.post("/privacy/request", data={"dsr_kind": "deletion", "user": "u9"})
    assert missing.status_code == 400 and "联系方式" in missing.text
    login(client)
    page = client.get("/console/cases/1")
    assert '<option value="deletion" selected>' in page.text
    done = client.get(_post(client, 1, "open-dsr", dsr_kind="deletion"))
    assert "data-subject request 1 opened (deletion" in done.text
    st = client.app.state.hegui  # type: ignore[attr-defined]
    req = dsr.get(st.engine, 1)
    assert (req.user, req.kind, req.status, req.detail["case"]) == ("u9", "deletion", "open", 1)
    assert [e.event for e in store.events(st.engine, 1)][-1] == "dsr-opened"
