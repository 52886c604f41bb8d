"""The public pages and their JSON API: /report, /report/{receipt}, /privacy, the ProduceID lookup."""

from __future__ import annotations

import base64
import re

from starlette.testclient import TestClient
from tests.web.conftest import MakeClient

from hegui.cases import actions
from hegui.records import agreements

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
XSS = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def _file(client: TestClient, **fields: str) -> tuple[int, str]:
    data = {"kind": "illegal", "description": "违法内容", "anonymous": "1"} | fields
    r = client.post("/report", data=data, files=[("evidence", ("shot.png", PNG, "image/png"))])
    return r.status_code, r.headers.get("location", r.text)


def test_report_form_is_bilingual_with_footer_and_csp(make_client: MakeClient) -> None:
    r = make_client().get("/report")
    assert r.status_code == 200
    assert "投诉举报" in r.text and "Report a problem" in r.text and "15 个工作日" in r.text
    assert (
        '<a href="https://beian.example/110000000000001" rel="noopener">网信算备110000000000001号</a>'
        in r.text
    )
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none': no scripts at all
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"


def test_filing_a_complaint_gives_a_receipt_page(make_client: MakeClient) -> None:
    client = make_client()
    status, location = _file(client, produce_id="chatcmpl-abc")
    assert status == 303
    receipt = re.fullmatch(r"/report/(\d{8}-[0-9A-F]{10})\?created=1", location)
    assert receipt, location
    page = client.get(location)
    assert page.status_code == 200 and "已受理" in page.text and receipt.group(1) in page.text
    api = client.get(f"/hegui/public/complaints/{receipt.group(1)}").json()
    assert (api["state"], api["kind"], api["answer"]) == ("received", "illegal", None)
    assert "reporter_contact" not in api
    assert client.get("/report/20260101-0000000000").status_code == 404


def test_invalid_form_is_shown_again_with_the_reason(make_client: MakeClient) -> None:
    client = make_client()
    r = client.post("/report", data={"kind": "ip", "description": "侵权", "produce_id": "p1"})
    assert r.status_code == 400 and "此类投诉须留下联系方式" in r.text
    assert 'value="p1"' in r.text  # what was typed is kept


def test_every_field_is_escaped(make_client: MakeClient) -> None:
    client = make_client()
    fields = dict.fromkeys(("produce_id", "user", "reporter_name", "reporter_contact", "description"), XSS)
    # refused (bad URL): the form comes back with every value, escaped
    r = client.post("/report", data={"kind": "ip", "url": XSS, **fields})
    assert r.status_code == 400
    assert "<script>" not in r.text and "<img" not in r.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#34;&gt;&lt;img" in r.text
    # accepted: the receipt page shows nothing raw either
    status, location = _file(client, **fields)
    assert status == 303
    page = client.get(location)
    assert "<script>" not in page.text and "<img" not in page.text


def test_evidence_limits_are_refused_with_a_clear_message(make_client: MakeClient) -> None:
    client = make_client()
    base = {"kind": "illegal", "description": "x", "anonymous": "1", "produce_id": "p"}
    big = client.post(
        "/report", data=base, files=[("evidence", ("big.png", PNG + b"\0" * 4096, "image/png"))]
    )
    assert big.status_code == 413 and "over the limit of 2048 bytes" in big.text
    exe = client.post(
        "/report", data=base, files=[("evidence", ("a.png", b"MZ\x90\x00\xff\xfe", "image/png"))]
    )
    assert exe.status_code == 415 and "not an accepted file type" in exe.text
    many = client.post(
        "/report", data=base, files=[("evidence", (f"{i}.txt", b"t", "text/plain")) for i in range(3)]
    )
    assert many.status_code in (400, 413) and ("最多上传" in many.text or "too large" in many.text)


def test_rate_limit_per_client_address(make_client: MakeClient) -> None:
    client = make_client(rate=2)
    assert _file(client, produce_id="a")[0] == 303
    assert _file(client, produce_id="b")[0] == 303
    status, body = _file(client, produce_id="c")
    assert status == 429 and "请一小时后再试" in body
    r = client.post(
        "/hegui/public/complaints", json={"kind": "illegal", "description": "x", "produce_id": "d"}
    )
    assert r.status_code == 429


def test_json_api_and_produce_lookup(make_client: MakeClient) -> None:
    client = make_client()
    body = {
        "kind": "illegal",
        "description": "违法",
        "produce_id": "chatcmpl-json",
        "anonymous": True,
        "evidence": [{"filename": "a.png", "data_base64": base64.b64encode(PNG).decode()}],
    }
    r = client.post("/hegui/public/complaints", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["status_url"] == f"/report/{r.json()['receipt']}"
    bad = client.post("/hegui/public/complaints", json=body | {"evidence": [{"data_base64": "!!"}]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "evidence"
    assert client.get("/hegui/public/produce/chatcmpl-json").json()["status"] == "unknown"
    st = client.app.state.hegui  # type: ignore[attr-defined]
    actions.take_down(st.engine, st.audit.append_sync, "chatcmpl-json", tenant="default", by="t", reason="r")
    gone = client.get("/hegui/public/produce/chatcmpl-json")
    assert gone.status_code == 410 and gone.json()["status"] == "removed"


def test_privacy_shows_current_documents_and_the_process(make_client: MakeClient) -> None:
    client = make_client()
    engine = client.app.state.hegui.engine  # type: ignore[attr-defined]
    agreements.publish(engine, "privacy", "v1", "旧的隐私政策", tenant="default")
    agreements.publish(engine, "privacy", "v2", "我们如何处理个人信息 <b>bold</b>", tenant="default")
    agreements.publish(engine, "service", "s1", "用户协议正文", tenant="default")
    r = client.get("/privacy")
    assert r.status_code == 200
    assert "我们如何处理个人信息 &lt;b&gt;bold&lt;/b&gt;" in r.text and "旧的隐私政策" not in r.text
    assert "用户协议正文" in r.text and "15 个工作日内答复" in r.text and "complaints@example.com" in r.text
    assert "生成内容标识" in r.text and 'action="/privacy/request"' in r.text


def test_metrics_include_cases(make_client: MakeClient) -> None:
    client = make_client()
    _file(client, produce_id="m")
    text = client.get("/metrics").text
    assert 'hegui_cases_open{kind="illegal"} 1.0' in text and "hegui_cases_overdue" in text


def test_refutations_page_and_provider_api(make_client: MakeClient) -> None:
    client = make_client()
    st = client.app.state.hegui  # type: ignore[attr-defined]
    assert "暂无" in client.get("/refutations").text
    actions.publish_refutation(
        st.engine, st.audit.append_sync, tenant="default", title=XSS, body="该传言不实。", by="s"
    )
    r = client.get("/refutations")
    assert "该传言不实。" in r.text and "<script>" not in r.text and "&lt;script&gt;" in r.text
    info = client.get("/hegui/public/provider").json()
    assert info == {
        "object": "provider",
        "name": "example-ai",
        "filing_number": "网信算备110000000000001号",
        "filing_url": "https://beian.example/110000000000001",
        "report_url": "/report",
        "privacy_url": "/privacy",
        "complaint_contact": "complaints@example.com",
    }
