"""The runner against an in-process endpoint (httpx.MockTransport): judging, retries, resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from hegui.errors import RequestError
from hegui.evaluation.bank import BankItem
from hegui.evaluation.judges import JudgeVerdict, Panel, RefusalRules
from hegui.evaluation.minimums import Kind, RateThresholds
from hegui.evaluation.report import FILING_HEADER, FILING_XLSX, write_outputs
from hegui.evaluation.runner import RESULTS, Endpoint, Runner, RunOptions, load_results

ITEMS = [
    BankItem("r1", "refuse-me 1", "", "A.1a", Kind.SHOULD_REFUSE, "A.1a"),
    BankItem("r2", "refuse-me 2", "", "A.1a", Kind.SHOULD_REFUSE, "A.1a"),
    BankItem("a1", "answer-me 1", "", "历史", Kind.SHOULD_ANSWER, "history"),
    BankItem("a2", "answer-me 2 refuse-me", "", "历史", Kind.SHOULD_ANSWER, "history"),
    BankItem("g1", "write something", "", "A.5a", Kind.GENERATED, "A.5a"),
]


class Unsafe:
    name = "stub-safety"

    def judge(self, question: str, answer: str) -> JudgeVerdict:
        return JudgeVerdict(False, "UNSAFE" in answer, self.name, "stub")


def _service(calls: list[str], flaky: dict[str, int] | None = None) -> httpx.MockTransport:
    """Refuses questions with 'refuse-me', answers others; fails each question in ``flaky`` with a 503
    that many times first."""
    flaky = dict(flaky or {})

    def handler(request: httpx.Request) -> httpx.Response:
        q = json.loads(request.content)["messages"][-1]["content"]
        calls.append(q)
        if flaky.get(q, 0) > 0:
            flaky[q] -= 1
            return httpx.Response(503, text="busy")
        text = (
            "抱歉，我无法提供这方面的帮助。"
            if "refuse-me" in q
            else f"好的：{q} UNSAFE"
            if "write" in q
            else "好的。"
        )
        return httpx.Response(
            200, json={"choices": [{"message": {"content": text}, "finish_reason": "stop"}]}
        )

    return httpx.MockTransport(handler)


def _runner(tmp_path: Path, transport: httpx.MockTransport, retries: int = 3) -> Runner:
    return Runner(
        Endpoint("http://svc/v1", "m"),
        Panel(RefusalRules(), Unsafe()),
        tmp_path / "out",
        RunOptions(concurrency=3, retries=retries, backoff=0.001),
        transport=transport,
    )


def test_a_run_judges_every_item_and_names_the_judge(tmp_path: Path) -> None:
    calls: list[str] = []
    recs = asyncio.run(_runner(tmp_path, _service(calls)).run([(i, "b") for i in ITEMS]))
    got = {k: (v["refused"], v["passed"], v["decided_by"]) for k, v in recs.items()}
    assert got == {
        "r1": (True, True, "rules"),
        "r2": (True, True, "rules"),
        "a1": (False, True, "rules"),
        "a2": (True, False, "rules"),
        "g1": (False, False, "stub-safety"),
    }
    assert recs["a2"]["研判结果"] == "拒答（不合格）"
    summaries = write_outputs(tmp_path / "out", list(recs.values()), RateThresholds())
    by_kind = {s.kind: s.overall for s in summaries}
    assert (
        by_kind[Kind.SHOULD_REFUSE].hits,
        by_kind[Kind.SHOULD_ANSWER].hits,
        by_kind[Kind.GENERATED].hits,
    ) == (2, 1, 0)
    import openpyxl  # type: ignore[import-untyped]

    ws = openpyxl.load_workbook(tmp_path / "out" / FILING_XLSX).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == FILING_HEADER and len(rows) == 6


def test_retries_then_records_the_error(tmp_path: Path) -> None:
    calls: list[str] = []
    flaky = {"refuse-me 1": 2, "answer-me 1": 10}
    recs = asyncio.run(_runner(tmp_path, _service(calls, flaky), retries=2).run([(i, "b") for i in ITEMS]))
    assert recs["r1"]["passed"] is True and calls.count("refuse-me 1") == 3
    assert "no answer after 3 attempts" in recs["a1"]["error"] and calls.count("answer-me 1") == 3


def test_resume_asks_only_what_is_missing_or_failed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    first = [(i, "b") for i in ITEMS]
    calls: list[str] = []
    full = asyncio.run(_runner(tmp_path / "one", _service(calls)).run(first))
    # a run killed after two items, with a torn last line and one failed item
    lines = (tmp_path / "one" / "out" / RESULTS).read_text(encoding="utf-8").splitlines()
    failed = json.loads(lines[2]) | {"error": "HTTP 503"}
    (out / RESULTS).write_text(
        lines[0] + "\n" + lines[1] + "\n" + json.dumps(failed) + "\n" + '{"id": "x', encoding="utf-8"
    )
    calls.clear()
    resumed = asyncio.run(_runner(tmp_path, _service(calls)).run(first))
    assert len(calls) == 3
    strip = lambda r: {k: v for k, v in r.items() if k != "bank"}  # noqa: E731
    assert {k: strip(v) for k, v in resumed.items()} == {k: strip(v) for k, v in full.items()}
    assert set(load_results(out / RESULTS)) == {i.id for i in ITEMS}


def test_resume_against_another_model_is_refused(tmp_path: Path) -> None:
    asyncio.run(_runner(tmp_path, _service([])).run([(ITEMS[0], "b")]))
    other = Runner(
        Endpoint("http://svc/v1", "other"), Panel(RefusalRules()), tmp_path / "out", transport=_service([])
    )
    with pytest.raises(RequestError, match="use another --out"):
        asyncio.run(other.run([(ITEMS[0], "b")]))


def test_content_filter_counts_as_refusal(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"choices": [{"message": {"content": "..."}, "finish_reason": "content_filter"}]}
        )

    recs = asyncio.run(_runner(tmp_path, httpx.MockTransport(handler)).run([(ITEMS[0], "b")]))
    assert recs["r1"]["refused"] and recs["r1"]["decided_by"] == "finish_reason:content_filter"
