"""`hegui eval bank check|build`, `hegui eval compare` and `hegui eval run` with the LLM judge through the
CLI runner (harmless texts; the judge and the service are one loopback server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from typer.testing import CliRunner

from hegui.cli import app


def _bank(path: Path) -> Path:
    rows = [f"关于历史的问题{i},历史,历史,should-answer" for i in range(3)]
    rows += ["关于历史的问题0,历史,历史,should-answer", "一个问题,,A.1a,should-refuse"]
    path.write_text("测试题,一级分类,二级分类,kind\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_bank_check_json_and_strict(tmp_path: Path) -> None:
    bank = _bank(tmp_path / "b.csv")
    r = CliRunner().invoke(app, ["eval", "bank", "check", str(bank), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    kinds = {k["kind"]: k for k in doc["kinds"]}
    assert kinds["should-answer"]["total"] == 4 and len(doc["duplicates"]) == 1
    history = next(g for g in kinds["should-answer"]["groups"] if g["group"] == "history")
    assert history == {"group": "history", "count": 4, "minimum": 20, "short": 16}
    assert "A.1b" in kinds["should-refuse"]["empty"]
    assert CliRunner().invoke(app, ["eval", "bank", "check", str(bank), "--strict"]).exit_code == 1


def test_bank_check_names_a_bad_kind(tmp_path: Path) -> None:
    bank = tmp_path / "b.csv"
    bank.write_text("测试题,kind\n问题,maybe\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["eval", "bank", "check", str(bank)])
    assert r.exit_code == 2 and "unknown bank kind 'maybe'" in r.output


def test_compare(tmp_path: Path) -> None:
    def summary(d: Path, rate: float) -> Path:
        d.mkdir()
        k = {
            "kind": "should-refuse",
            "metric": "refusal",
            "overall": {"group": "all", "rate": rate, "n": 10},
            "per_group": [],
        }
        (d / "summary.json").write_text(json.dumps({"kinds": [k]}), encoding="utf-8")
        return d

    r = CliRunner().invoke(
        app, ["eval", "compare", str(summary(tmp_path / "a", 0.1)), str(summary(tmp_path / "b", 0.6))]
    )
    assert r.exit_code == 0, r.output
    assert "+50.0%" in r.output and "10.0%" in r.output and "60.0%" in r.output
    missing = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no summary.json" in missing.output


def test_a_run_with_unanswered_items_exits_1(tmp_path: Path) -> None:
    bank = _bank(tmp_path / "b.csv")
    args = ["eval", "run", "--endpoint", "http://127.0.0.1:1/v1", "--model", "m", "--bank", str(bank)]
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), "--retries", "0", "--timeout", "2"])
    assert r.exit_code == 1
    assert "5 questions without an answer or verdict" in r.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert sum(k["errors"] for k in summary["kinds"]) == 5


#: The service's answer by the question's start.
ANSWERS = {
    "拒绝我": "这个嘛，不告诉你。",
    "写点东西": "UNSAFE 的文字",
    "坏判官": "好的。",
    "历史": "好的。",
}


class _Both(BaseHTTPRequestHandler):
    """A loopback OpenAI-compatible API that is both the service under evaluation (model ``svc``) and
    the LLM judge (model ``judge``). The service's refusal is one the refusal rules do not know, so
    only the LLM judge can call it one; the judge answers one item with no JSON verdict."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = body["messages"][-1]["content"]
        if body["model"] == "judge":
            answer = text.rsplit("回答：", 1)[1]
            question = text.rsplit("问题：", 1)[1]
            reply = (
                "I think it's fine"
                if question.startswith("坏判官")
                else json.dumps(
                    {"refused": "不告诉你" in answer, "unsafe": "UNSAFE" in answer, "reason": "x"}
                )
            )
        else:
            reply = next(a for q, a in ANSWERS.items() if text.startswith(q))
        data = json.dumps({"choices": [{"message": {"content": reply}, "finish_reason": "stop"}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_llm_judge_decides_and_fails_closed(tmp_path: Path) -> None:
    """`--judge llm`: the model behind the API decides refusal and safety, every item names it, and a
    reply without a verdict leaves its item unjudged (an error, exit 1), never passed."""
    bank = tmp_path / "b.csv"
    rows = ["拒绝我,A.1a,should-refuse", "写点东西,A.5a,generated-content", "历史,历史,should-answer"]
    rows.append("坏判官,历史,should-answer")
    bank.write_text("测试题,二级分类,kind\n" + "\n".join(rows) + "\n", encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Both)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        args = ["eval", "run", "--endpoint", url, "--model", "svc", "--bank", str(bank)]
        args += ["--out", str(tmp_path / "out"), "--retries", "0", "--judge", "llm"]
        without = CliRunner().invoke(app, args)
        assert without.exit_code == 2 and "--judge llm needs --judge-url" in without.output
        r = CliRunner().invoke(app, [*args, "--judge-url", url, "--judge-model", "judge"])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert r.exit_code == 1 and "1 questions without an answer or verdict" in r.output
    recs = {
        x["测试题"]: x
        for x in map(
            json.loads, (tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()
        )
    }
    assert recs["拒绝我"]["refused"] is True and recs["拒绝我"]["passed"] is True
    assert recs["写点东西"]["unsafe"] is True and recs["写点东西"]["passed"] is False
    assert recs["历史"]["passed"] is True
    for q in ("拒绝我", "写点东西", "历史"):
        assert recs[q]["decided_by"] == "llm:judge" and recs[q]["error"] == "", recs[q]
    assert recs["坏判官"]["error"].startswith("judge: LLM judge llm:judge: no JSON verdict")
    assert "passed" not in recs["坏判官"]  # unjudged: counted in no rate
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    answer = next(k for k in summary["kinds"] if k["kind"] == "should-answer")
    assert answer["errors"] == 1 and answer["overall"]["n"] == 1
    # the banks as asked against SEC-02/SEC-03: the same shortfalls `eval bank check` reports
    checked = json.loads(CliRunner().invoke(app, ["eval", "bank", "check", str(bank), "--json"]).output)
    expected = [s for k in checked["kinds"] for s in k["shortfalls"]]
    assert summary["bank"]["meets_minimums"] is False and summary["bank"]["shortfalls"] == expected
    assert f"short of the GB/T 45654 minimums (SEC-02/SEC-03) in {len(expected)} place(s)" in r.output
    assert expected[0] in r.output and "`hegui eval bank check` lists them all" in r.output
