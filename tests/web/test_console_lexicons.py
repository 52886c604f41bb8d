"""The console's lexicon page: coverage against the minimums, testing a text, reloading (admin)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.conftest import MakeClient, csrf_of, login

from hegui.records.audit import iter_entries

CHECK = """
[[checks]]
name = "kw"
type = "lexicon"
path = "{path}"
category = "A.1h"
action = "refuse"
tier_default = "red-line"   # a short list of our own forbidden strings: every term refuses
"""


def test_coverage_test_and_reload(make_client: MakeClient, tmp_path: Path) -> None:
    lex = tmp_path / "lex.txt"
    lex.write_text("测试违禁词\n另一个词\n", encoding="utf-8")
    client = make_client(extra=CHECK.format(path=lex))
    login(client)
    page = client.get("/console/lexicons")
    assert page.status_code == 200 and re.search(r'class="lexicon-total">2<', page.text)
    assert "A.1h" in page.text and "short of the total minimum" in page.text
    tested = client.post(
        "/console/lexicons/test", data={"csrf": csrf_of(page.text), "text": "这里有测试违禁词<b>"}
    )
    assert 'id="verdict">refuse<' in tested.text and "<td>测试违禁词</td>" in tested.text
    assert "<b>" not in tested.text.split('aria-label="text">')[1].split("</textarea>")[0]
    lex.write_text("测试违禁词\n另一个词\n第三个词\n", encoding="utf-8")
    reloaded = client.post("/console/lexicons/reload", data={"csrf": csrf_of(page.text)})
    assert "kw: changed" in reloaded.text and re.search(r'class="lexicon-total">3<', reloaded.text)
    lex.write_bytes(b"\xff\xfe broken")
    failed = client.post("/console/lexicons/reload", data={"csrf": csrf_of(page.text)})
    assert "kw: failed" in failed.text and re.search(r'class="lexicon-total">3<', failed.text)
    st = client.app.state.hegui  # type: ignore[attr-defined]
    actions = [e.action for e in iter_entries(st.engine) if e.stage == "console"]
    assert actions == ["login", "lexicon-test", "lexicon-reload", "lexicon-reload"]
    assert all("测试违禁词" not in e.detail for e in iter_entries(st.engine) if e.action == "lexicon-test")


def test_reviewer_may_test_but_not_reload(make_client: MakeClient, tmp_path: Path) -> None:
    lex = tmp_path / "lex.txt"
    lex.write_text("测试违禁词\n", encoding="utf-8")
    client = make_client(extra=CHECK.format(path=lex))
    login(client, role="reviewer")
    page = client.get("/console/lexicons")
    assert 'id="reload"' not in page.text
    assert client.post("/console/lexicons/reload", data={"csrf": csrf_of(page.text)}).status_code == 403
    assert client.post("/console/lexicons/test", data={"csrf": "x", "text": "t"}).status_code == 403


def test_without_lexicon_checks(make_client: MakeClient) -> None:
    client = make_client()
    login(client)
    assert "策略中没有词库检查" in client.get("/console/lexicons").text
