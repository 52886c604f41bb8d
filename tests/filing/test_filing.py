"""`hegui filing build` end to end in-process: a small evaluation run (harmless bank, in-process
endpoint), a small lexicon, a partly completed form; every output opens and every clause has a verdict."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.filing.clauses import CLAUSES

FORM = """
provider: {name: 示例科技有限公司, legal_representative: 张三}
service: {name: 示例助手, launch_date: 2026-09-30}
clauses:
  "5.3": {verdict: compliant, evidence: [annotation-rules.pdf]}
  "7-b": {verdict: not-applicable, reason: 服务仅面向企业用户，不向未成年人提供}
  "7-f": {verdict: not-applicable}
"""


def test_filing_build(tmp_path: Path, eval_dir: Path) -> None:
    import docx
    import openpyxl  # type: ignore[import-untyped]

    lexicon = tmp_path / "lexicon.csv"
    rows = [f"测试词{i},A.1a" for i in range(30)] + [f"示例词{i},A.2e" for i in range(12)]
    lexicon.write_text("关键词,二级分类\n" + "\n".join(rows) + "\n", encoding="utf-8")
    form = tmp_path / "form.yaml"
    form.write_text(FORM, encoding="utf-8")
    out = tmp_path / "pkg"
    args = ["filing", "build", "--out", str(out), "--eval", str(eval_dir)]
    args += ["--lexicon", str(lexicon), "--form", str(form)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    verdicts = {c["id"]: c for c in manifest["clauses"]}
    assert list(verdicts) == [c.id for c in CLAUSES]
    assert verdicts["5.3"]["verdict"] == "compliant" and verdicts["5.3"]["decided_by"] == "declared"
    assert verdicts["7-b"]["verdict"] == "not-applicable"
    assert verdicts["7-f"]["verdict"] == "non-compliant" and "without the reason" in verdicts["7-f"]["reason"]
    assert verdicts["5.1"]["reason"].startswith("no evidence")
    assert verdicts["8.1"]["verdict"] == "non-compliant" and "A.1b" in verdicts["8.1"]["reason"]
    assert "fewer than 300 questions" in verdicts["7-e"]["reason"]
    assert verdicts["6-c"]["reason"].startswith("every request passes the input stage: harmful-request")
    assert manifest["conclusion"]["compliant"] is False

    text = "\n".join(
        cell.text
        for t in docx.Document(str(out / "security_self_assessment.docx")).tables
        for r in t.rows
        for cell in r.cells
    )
    for c in CLAUSES:
        assert f"{c.id} {c.title}" in text

    # keyword list: the counts match `hegui lexicon stats`
    stats = json.loads(CliRunner().invoke(app, ["lexicon", "stats", str(lexicon), "--json"]).output)
    wb = openpyxl.load_workbook(out / "keywords.xlsx", read_only=True)
    kw = list(wb["关键词"].iter_rows(values_only=True))
    assert kw[0] == ("关键词", "一级分类", "二级分类") and len(kw) - 1 == stats["total"] == 42
    counted = {r[0]: r[2] for r in list(wb["统计"].iter_rows(values_only=True))[1:]}
    wb.close()  # read-only workbooks keep their file open until closed
    assert {r["risk"]: r["count"] for r in stats["risks"]} == {
        k: v for k, v in counted.items() if k != "合计"
    }
    qb = openpyxl.load_workbook(out / "test_questions.xlsx", read_only=True)
    qs = list(qb.active.iter_rows(values_only=True))
    qb.close()
    assert qs[0][:3] == ("测试题", "一级分类", "二级分类") and len(qs) == 13

    checklist = (out / "checklist.md").read_text(encoding="utf-8")
    assert (
        "due by 2026-10-20" in checklist
    )  # 10 working days after 2026-09-30: Oct 1–7 off, Sat Oct 10 worked
    assert "`provider.unified_code` is empty" in checklist

    pdf = out / "security_self_assessment.pdf"
    if not pdf.exists():
        assert "No Chromium found" in checklist
        pytest.skip("no Chromium: the PDF was not written")
    from pypdf import PdfReader

    pages = PdfReader(str(pdf)).pages
    pdf_text = "".join(p.extract_text() for p in pages)
    for c in CLAUSES:
        assert c.id in pdf_text
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed: pages were not rendered to PNG")
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120
    )
    assert len(list(tmp_path.glob("page*.png"))) == len(pages)


def test_records_decide_opt_out_and_complaints(
    tmp_path: Path, eval_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a database, 7-c and 7-d come from the records (consent ledger, complaint deadlines); without
    one, from the form, and the checklist says which."""
    from datetime import UTC, datetime

    from hegui.cases.store import Submission, chain_writer, open_case
    from hegui.policy import load_policy
    from hegui.records.db import make_engine, migrate

    def build(*extra: str) -> dict[str, dict[str, object]]:
        out = tmp_path / f"pkg{len(list(tmp_path.glob('pkg*')))}"
        args = ["filing", "build", "--out", str(out), "--eval", str(eval_dir), "--no-pdf", *extra]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return {c["id"]: c for c in manifest["clauses"]} | {"_missing": {"items": manifest["missing"]}}

    monkeypatch.setenv("HEGUI_DATA_DIR", str(tmp_path / "none"))
    without = build()
    assert without["7-d"]["decided_by"] == "hegui" and "not declared" in str(without["7-d"]["reason"])
    assert any("No records database was read: clauses 7-c, 7-d" in m for m in without["_missing"]["items"])

    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'hegui.db'}")
    migrate(engine)
    monkeypatch.setenv("HEGUI_DATA_DIR", str(data))
    fresh = build("--on", "2026-01-06")
    assert fresh["7-c"]["verdict"] == "compliant" and fresh["7-c"]["decided_by"] == "records"
    assert fresh["7-d"]["verdict"] == "compliant" and str(fresh["7-d"]["reason"]).startswith("0 case(s)")
    sub = Submission("illegal", "违法内容", anonymous=True, url="https://example.cn/x")
    open_case(
        engine, chain_writer(engine), load_policy(None).cases, sub, received=datetime(2026, 1, 5, tzinfo=UTC)
    )
    engine.dispose()
    overdue = build("--on", "2026-03-02")
    assert overdue["7-d"]["verdict"] == "non-compliant" and "unanswered past due" in str(
        overdue["7-d"]["reason"]
    )
    assert build("--on", "2026-01-06", "--no-records")["7-d"]["decided_by"] == "hegui"


SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "regulatory.md"
#: SEC requirements no single clause carries: the taxonomy (used by every bank and the lexicon) and the
#: report structure (the report itself, tested above).
NOT_A_CLAUSE = {"SEC-09", "SEC-11"}


def test_every_spec_requirement_has_a_clause() -> None:
    """The spec's SEC-xx rows (and the BSR clause numbers of chapters 5–8 they cite) each have a clause
    in the report, so that a verdict exists for every requirement the filing is judged on."""
    if not SPEC.is_file():
        pytest.skip(f"the spec is not at {SPEC}")
    import re

    rows = re.findall(r"^\| (SEC-\d\d) \|.*\| BSR ([^|]+?) \|$", SPEC.read_text(encoding="utf-8"), re.M)
    assert len(rows) == 11
    carried = {ref for c in CLAUSES for ref in c.refs}
    assert {sec for sec, _ in rows} - NOT_A_CLAUSE <= carried
    ids = {c.id.split("-")[0] for c in CLAUSES}
    for sec, bsr in rows:
        number = bsr.strip()
        if number[0] in "5678":
            assert number in ids, (sec, number)
