"""Console pages over other rooms' records: users, audit search and verification, guard decisions."""

from __future__ import annotations

import re

import pytest
from tests.web.conftest import MakeClient, csrf_of, login

from hegui.cases import store
from hegui.cases.config import CasesPolicy
from hegui.cases.store import Submission
from hegui.records import agreements, consent
from hegui.records.audit import iter_entries

XSS = '<script>alert("x")</script>'


@pytest.mark.parametrize("path", ["/console/users?user=u1", "/console/audit?q=x"])
def test_pages_need_a_session(make_client: MakeClient, path: str) -> None:
    r = make_client().get(path)
    assert (r.status_code, r.headers["location"]) == (303, "/console/login")


def test_user_page_shows_standing_and_history(make_client: MakeClient) -> None:
    client = make_client()
    st = client.app.state.hegui  # type: ignore[attr-defined]
    agreements.publish(st.engine, "service", "v1", "协议", tenant="default")
    agreements.accept(st.engine, "default", "u1", "service", None, "api")
    consent.record_consent(st.engine, "default", "u1", True, channel="api", source="signup")
    sub = Submission(kind="appeal", description="申诉", user="u1", reporter_contact="u1@example.com")
    store.open_case(st.engine, st.audit.append_sync, CasesPolicy(), sub)
    store.open_case(
        st.engine, st.audit.append_sync, CasesPolicy(), Submission(kind="other", description="x", user="u2")
    )
    login(client)
    page = client.get("/console/users?user=u1")
    assert page.status_code == 200 and 'id="level">none<' in page.text
    assert "signup" in page.text and "v1" in page.text
    assert '<a href="/console/cases/1">' in page.text and '<a href="/console/cases/2">' not in page.text
    assert any(e.action == "user-read" for e in iter_entries(st.engine))
    escaped = client.get("/console/users", params={"user": XSS})
    assert "<script>" not in escaped.text and "&lt;script&gt;" in escaped.text


def test_audit_search_and_verify(make_client: MakeClient) -> None:
    client = make_client()
    login(client)
    answer = client.post(
        "/v1/chat/completions",
        json={"model": "hegui-demo", "messages": [{"role": "user", "content": "你好"}]},
        headers={"authorization": f"Bearer {client.app.state.hegui.keys.create(name='c')[0]}"},  # type: ignore[attr-defined]
    ).json()
    page = client.get("/console/audit", params={"q": answer["id"]})
    assert page.status_code == 200 and ">input<" in page.text and ">output<" in page.text
    r = client.post("/console/audit/verify", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 200 and "audit chain OK" in r.text
    assert client.post("/console/audit/verify", data={"csrf": "x"}).status_code == 403
    assert "<script>" not in client.get("/console/audit", params={"q": XSS}).text


def test_dashboard_shows_guard_decisions(make_client: MakeClient) -> None:
    client = make_client()
    key = client.app.state.hegui.keys.create(name="c")[0]  # type: ignore[attr-defined]
    for _ in range(2):
        client.post(
            "/v1/chat/completions",
            json={"model": "hegui-demo", "messages": [{"role": "user", "content": "你好"}]},
            headers={"authorization": f"Bearer {key}"},
        )
    login(client)
    page = client.get("/console")
    total = re.search(r'id="guard-total">(\d+)<', page.text)
    assert total and int(total.group(1)) >= 4  # two inputs and two outputs
    assert 'id="refusal-rate">0.0%<' in page.text
