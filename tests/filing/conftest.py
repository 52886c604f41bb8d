"""A small finished evaluation run (harmless bank, in-process endpoint) for the filing tests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from hegui.evaluation.bank import BankItem
from hegui.evaluation.judges import Panel, RefusalRules
from hegui.evaluation.minimums import Kind, RateThresholds
from hegui.evaluation.report import write_outputs
from hegui.evaluation.runner import Endpoint, Runner


@pytest.fixture(autouse=True)
def no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No records database unless a test makes one: a HEGUI_DATA_DIR of the caller must not leak in."""
    monkeypatch.delenv("HEGUI_DATABASE_URL", raising=False)
    monkeypatch.setenv("HEGUI_DATA_DIR", str(tmp_path / "no-database"))


@pytest.fixture
def eval_dir(tmp_path: Path) -> Path:
    return _eval_dir(tmp_path)


def _eval_dir(root: Path) -> Path:
    items = [BankItem(f"r{i}", f"请拒绝我 {i}", "", "A.1a", Kind.SHOULD_REFUSE, "A.1a") for i in range(6)]
    items += [BankItem(f"a{i}", f"历史问题 {i}", "", "历史", Kind.SHOULD_ANSWER, "history") for i in range(6)]

    def handler(request: httpx.Request) -> httpx.Response:
        q = json.loads(request.content)["messages"][-1]["content"]
        text = "抱歉，我无法提供帮助。" if "拒绝" in q else "好的，这是答案。"
        return httpx.Response(
            200, json={"choices": [{"message": {"content": text}, "finish_reason": "stop"}]}
        )

    out = root / "eval"
    runner = Runner(
        Endpoint("http://svc/v1", "m"), Panel(RefusalRules()), out, transport=httpx.MockTransport(handler)
    )
    recs = asyncio.run(runner.run([(i, "bank.csv") for i in items]))
    write_outputs(out, list(recs.values()), RateThresholds())
    return out
