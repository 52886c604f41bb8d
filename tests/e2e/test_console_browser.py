"""End to end through a real browser: Playwright driving Debian's Chromium against a started gateway.

A reporter files an illegal-content complaint about a ProduceID on /report and gets a receipt; a
reviewer logs into /console, sees it on the dashboard, takes the content down, suspends the user and
answers; the
receipt page shows the answer; the ProduceID resolves to "removed"; the suspended user is refused by
the gateway; the user's appeal lifts the sanction the same way; `hegui audit verify` passes.
Screenshots of /report, the receipt, /privacy, the dashboard and the case page are saved under the
test's tmp path (printed) as artifacts. Skips cleanly without Playwright or /usr/bin/chromium.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from openai import OpenAI, PermissionDeniedError
from servers import VENV_BIN, create_key, free_port, hegui_env, hegui_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
POLICY = """
version = "browser-e2e"
[provider]
name = "hegui-e2e"
filing_number = "网信算备110000000000001号"
filing_url = "https://beian.example/110000000000001"
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]
"""
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101001825dd560000000049454e44ae426082"
)


def test_complaint_takedown_and_answer_in_a_browser(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (scripts/debian-packages.txt; scripts/bootstrap --system)"
        )
    shots = tmp_path / "screenshots"
    shots.mkdir()
    policy = tmp_path / "hegui.toml"
    policy.write_text(POLICY, encoding="utf-8")
    env = hegui_env(tmp_path / "data", policy)
    client_key, admin_key = create_key(env), create_key(env, "admin")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with hegui_server(port, env, tmp_path / "hegui.log"):
        chat = OpenAI(base_url=f"{base}/v1", api_key=client_key, max_retries=0).chat.completions
        answer = chat.create(
            model="hegui-demo",
            user="user-e2e",
            messages=[{"role": "user", "content": "写一首关于秋天的短诗"}],
        )
        produce_id = answer.id
        for kind, text in (
            ("service", "用户协议：请合法使用本服务。"),
            ("privacy", "隐私政策：我们如何处理您的个人信息。"),
        ):
            published = httpx.post(
                f"{base}/hegui/api/agreements",
                json={"kind": kind, "version": "2026-11", "text": text},
                headers={"authorization": f"Bearer {admin_key}"},
                timeout=10,
            )
            assert published.status_code == 201, published.text
        evidence = tmp_path / "截图.png"
        evidence.write_bytes(PNG)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                # the reporter
                reporter = browser.new_page(locale="zh-CN")
                reporter.goto(f"{base}/report")
                reporter.select_option("#kind", "illegal")
                reporter.fill("#produce_id", produce_id)
                reporter.fill("#user", "user-e2e")
                reporter.fill("#description", "这段生成内容含有违法信息，请处理。")
                reporter.check("input[name=anonymous]")
                reporter.set_input_files("#evidence", str(evidence))
                reporter.screenshot(path=str(shots / "report.png"), full_page=True)
                reporter.click("button[type=submit]")
                reporter.wait_for_url(re.compile(r".*/report/\d{8}-[0-9A-F]{10}\?created=1$"))
                receipt = reporter.inner_text("#receipt")
                assert "已受理" in reporter.content()
                reporter.goto(f"{base}/privacy")
                assert (
                    "投诉举报流程" in reporter.content() and "我们如何处理您的个人信息" in reporter.content()
                )
                reporter.screenshot(path=str(shots / "privacy.png"), full_page=True)

                # the reviewer
                staff = browser.new_context(locale="zh-CN").new_page()
                staff.goto(f"{base}/console")
                assert staff.url.endswith("/console/login")
                staff.fill("#key", admin_key)
                staff.click("button[type=submit]")
                staff.wait_for_url(f"{base}/console")
                assert staff.inner_text("#open-count") == "1"
                staff.goto(f"{base}/console/cases")
                staff.click(f"text={receipt}")  # the receipt cell; the id links to the case
                staff.goto(f"{base}/console/cases/1")
                staff.click("#to-triaged")
                staff.select_option("select[name=decision]", "upheld")
                staff.click("#to-decided")
                staff.click("#takedown")
                assert "已下架 removed" in staff.inner_text("#produce-id")
                assert staff.inner_text("#case-state") == "acted"
                staff.select_option("select[name=level]", "suspend")
                staff.fill("input[name=reason][aria-label='sanction reason']", "生成违法内容")
                staff.click("#sanction")
                assert "user-e2e: none → suspend" in staff.content()
                staff.fill("textarea[name=answer]", "经核查，您举报的内容已下架。The content was removed.")
                staff.click("#to-answered")
                assert staff.inner_text("#case-state") == "answered"
                staff.screenshot(path=str(shots / "case.png"), full_page=True)
                staff.goto(f"{base}/console")
                assert staff.inner_text("#open-count") == "0"
                assert staff.locator("svg rect[fill='#8b1a1a']").count() >= 1  # bars drawn
                staff.screenshot(path=str(shots / "dashboard.png"), full_page=True)

                # the reporter follows the case
                reporter.goto(f"{base}/report/{receipt}")
                assert "经核查，您举报的内容已下架。" in reporter.inner_text("#answer")
                reporter.screenshot(path=str(shots / "receipt.png"), full_page=True)
                with pytest.raises(PermissionDeniedError, match="suspend"):
                    chat.create(
                        model="hegui-demo", user="user-e2e", messages=[{"role": "user", "content": "你好"}]
                    )

                # the user appeals; the reviewer lifts the sanction
                appellant = browser.new_page(locale="zh-CN")
                appellant.goto(f"{base}/report")
                appellant.select_option("#kind", "appeal")
                appellant.fill("#user", "user-e2e")
                appellant.fill("#reporter_contact", "user-e2e@example.com")
                appellant.fill("#description", "我的账号被误封，请复核。")
                appellant.click("button[type=submit]")
                appellant.wait_for_url(re.compile(r".*/report/\d{8}-[0-9A-F]{10}\?created=1$"))
                appeal_receipt = appellant.inner_text("#receipt")
                staff.goto(f"{base}/console/cases/2")
                staff.click("#to-triaged")
                staff.select_option("select[name=decision]", "upheld")
                staff.click("#to-decided")
                staff.select_option("select[name=level]", "none")
                staff.fill("input[name=reason][aria-label='sanction reason']", "申诉成立")
                staff.click("#sanction")
                assert "user-e2e: suspend → none" in staff.content()
                staff.fill("textarea[name=answer]", "申诉成立，账号已恢复。")
                staff.click("#to-answered")
                appellant.goto(f"{base}/report/{appeal_receipt}")
                assert "申诉成立，账号已恢复。" in appellant.inner_text("#answer")
                chat.create(
                    model="hegui-demo", user="user-e2e", messages=[{"role": "user", "content": "你好"}]
                )
            finally:
                browser.close()
        status = httpx.get(f"{base}/hegui/public/produce/{produce_id}", timeout=10)
        assert (status.status_code, status.json()["status"]) == (410, "removed")
    verify = subprocess.run(
        [str(VENV_BIN / "hegui"), "audit", "verify"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    print(f"screenshots: {shots}")
    assert sorted(p.name for p in shots.iterdir()) == [
        "case.png",
        "dashboard.png",
        "privacy.png",
        "receipt.png",
        "report.png",
    ]
