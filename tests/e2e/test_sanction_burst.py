"""Issue 12.6 through the `openai` client against a started gateway: five refused prompts sent within
seconds are one incident (a warning that does not say "several"), not a seven-day suspension."""

from __future__ import annotations

import pytest
from openai import OpenAI

from conftest import Gateway

pytestmark = pytest.mark.e2e


def test_a_burst_of_refused_prompts_is_one_incident(gateway: Gateway) -> None:
    with OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as client:
        answers = [
            client.chat.completions.create(
                model="hegui-demo",
                messages=[{"role": "user", "content": f"演示违禁词 {i}"}],
                user="burst-user",
            )
            for i in range(5)
        ]
        assert all(a.choices[0].finish_reason == "content_filter" for a in answers)
        first = answers[0].choices[0].message.content or ""
        assert "提醒：您的请求涉及违规内容" in first and "多次" not in first
        assert all("提醒" not in (a.choices[0].message.content or "") for a in answers[1:])
        served = client.chat.completions.create(
            model="hegui-demo", messages=[{"role": "user", "content": "你好"}], user="burst-user"
        )
    assert served.choices[0].finish_reason == "stop"
