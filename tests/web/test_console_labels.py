"""The console's label check: per-requirement results and the ProduceID's takedown status."""

from __future__ import annotations

import io

import pytest
from tests.web.conftest import MakeClient, csrf_of, login

from hegui.cases import actions


def _png() -> bytes:
    image = pytest.importorskip("PIL.Image", reason="the label extra (Pillow)")
    buf = io.BytesIO()
    image.new("RGB", (640, 480), "white").save(buf, "PNG")
    return buf.getvalue()


def test_label_check_reports_requirements_and_removed_content(make_client: MakeClient) -> None:
    from hegui.label.files import label_bytes

    client = make_client()
    st = client.app.state.hegui  # type: ignore[attr-defined]
    labelled = label_bytes(
        _png(), "x.png", st.labeller.implicit("chatcmpl-lbl"), explicit=True, policy=st.policy.labels
    )
    actions.take_down(st.engine, st.audit.append_sync, "chatcmpl-lbl", tenant="default", by="s", reason="r")
    login(client)
    page = client.get("/console/labels")
    r = client.post(
        "/console/labels",
        data={"csrf": csrf_of(page.text), "explicit": "1"},
        files={"file": ("x.png", labelled, "image/png")},
    )
    assert r.status_code == 200, r.text
    assert 'id="label-result" class="">通过 passed<' in r.text and "LBL-" in r.text
    assert '<code>chatcmpl-lbl</code>: <strong class="produce-status">removed</strong>' in r.text
    bare = client.post(
        "/console/labels", data={"csrf": csrf_of(page.text)}, files={"file": ("y.png", _png(), "image/png")}
    )
    assert "未通过 failed" in bare.text
    assert (
        client.post(
            "/console/labels", data={"csrf": "x"}, files={"file": ("y.png", b"x", "image/png")}
        ).status_code
        == 403
    )
    from hegui.records.audit import iter_entries

    assert [e.action for e in iter_entries(st.engine) if e.action == "label-verify"] == ["label-verify"] * 2
