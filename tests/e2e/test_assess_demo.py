"""Issue 14, `hegui assess` on this repository's own example deployment (scripts/demo_deployment.py):
real processes (keys, `hegui serve`, the official openai client, `hegui eval run`, `hegui assess`,
`hegui filing build`). Every node has verdicts with evidence or a named gap, and the verdicts follow the
evidence: the same deployment without an agreement, saved outputs, a DSR, a complaint, an evaluation and
a licence scan reports each of those as missing. The filing package opens in python-docx, openpyxl and pdftoppm."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hegui.filing.assess_labels import DEMO
from hegui.filing.clauses import CLAUSES
from hegui.filing.findings import NODES, VERDICTS

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo_deployment.py"
LEFT_OUT = "agreement,consent,outputs,dsr,complaint,eval,licenses,data"


def _deploy(root: Path, *extra: str) -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(root), *extra], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    findings = json.loads((root / "assess" / "assess.json").read_text(encoding="utf-8"))
    assert {f["node"] for f in findings} == set(NODES)
    for f in findings:
        assert f["verdict"] in VERDICTS and f["detail"], f
        # a verdict names what it was read from; a gap's detail names what would close it
        assert f["evidence"] or f["verdict"] == "gap", f
    by_item = {f["item"]: f for f in findings}
    assert len(by_item) == len(findings), "item names must be unique"
    return by_item


def _pool_records(finding: dict[str, Any]) -> int:
    m = re.match(r"(\d+) pool record\(s\) checked", finding["detail"])
    assert m, finding
    return int(m.group(1))


@pytest.fixture(scope="module")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    full, bare = tmp_path_factory.mktemp("full") / "demo", tmp_path_factory.mktemp("bare") / "demo"
    return full, bare


def test_demo_deployment_assessed_and_filed(deployments: tuple[Path, Path]) -> None:
    full_dir, bare_dir = deployments
    full = _deploy(full_dir)
    bare = _deploy(bare_dir, "--without", LEFT_OUT)

    agreement = "service agreement published (IM 9)"
    # data content and data set: the training pool, exported and audited as a corpus, and the register
    scan, sample = (
        "technical scan (SEC-07: ≥ 10 % at ≥ 98 %)",
        "manual review sample (SEC-07: ≥ 4,000 at ≥ 96 %)",
    )
    pool = _pool_records(full["consent ledger behind the training pool (IM 7, IM-04)"])
    assert full[scan]["verdict"] == "compliant"
    assert full[scan]["detail"].startswith(f"{pool} of {pool} items scanned (100%), pass rate 100.00%")
    assert full[sample]["verdict"] == "non-compliant"  # a demo's pool is far below 4,000: said, not hidden
    assert full["source blacklist (SEC-08: > 5 % → excluded)"]["verdict"] == "compliant"
    register = "data register / aibom.yaml"
    assert full[register]["verdict"] == "compliant" and full[register]["evidence"].endswith("aibom.yaml")
    assert full["data sources: licence or agreement, lineage (5.1)"]["verdict"] == "compliant"
    assert full["private-data agreements: owner and warranty (5.2-c)"]["verdict"] == "not-applicable"
    assert bare["corpus audit (SEC-07, SEC-08)"]["verdict"] == bare[register]["verdict"] == "gap"

    assert full[agreement]["verdict"] == "compliant" and "version 1 published" in full[agreement]["evidence"]
    assert bare[agreement]["verdict"] == "non-compliant"
    assert "no service version published for tenant(s) default" in bare[agreement]["detail"]

    dsr = "data-subject requests within the deadline (IM-05)"
    assert full[dsr]["detail"].startswith("1 request(s): 1 answered on time, 0 late")
    assert bare[dsr]["detail"].startswith("0 request(s)")
    complaints = "complaints answered within the deadline (IM-03)"
    assert full[complaints]["detail"].startswith("1 case(s): 1 answered on time, 0 late")
    assert bare[complaints]["detail"].startswith("0 case(s)")

    # bob (API channel, opt-in) enters the training pool only with his consent on the ledger
    consent = "consent ledger behind the training pool (IM 7, IM-04)"
    assert full[consent]["verdict"] == bare[consent]["verdict"] == "compliant"
    assert _pool_records(bare[consent]) == _pool_records(full[consent]) - 1

    labels = "labels on sampled outputs (LBL-01 … LBL-14)"
    assert full[labels]["verdict"] == "non-compliant"  # the bundled policy labels with hegui's demo code
    reasons = full[labels]["detail"].split(": ", 1)[1]
    assert reasons.count(DEMO) == 2 and "LBL-01" not in reasons and "LBL-14" not in reasons, reasons
    assert "(1 of them refusals" in full[labels]["detail"]  # carol's refused request: hegui's words
    assert bare[labels]["verdict"] == "gap"

    generated = full["6-d 模型：生成内容安全 (SEC-04)"]  # four prompts measured, where 1,000 are needed
    assert generated["verdict"] == "non-compliant" and generated["detail"].startswith("SEC-04 pass ")
    assert generated["detail"].endswith("on 4: fewer than 1000 questions"), generated
    refusal = "7-e 拒答 (SEC-05, SEC-06)"
    assert full[refusal]["verdict"] == "non-compliant" and "SEC-06 over-refusal" in full[refusal]["detail"]
    assert bare[refusal]["verdict"] == "gap" and bare[refusal]["detail"].startswith("no evidence")
    # what only the provider can say (5.x, 6-b, 7-a …) is a gap until the form declares it
    assert full["5.3 语料标注安全"]["verdict"] == "gap"
    licences = "licences of code, models and data"
    assert full[licences]["verdict"] == "compliant" and full[licences]["evidence"].endswith("licenses.json")
    notice = "NOTICE: the attributions the licences require"
    assert full[notice]["verdict"] == "compliant"
    lineage = "model lineage: every ancestor's licence known"
    assert full[lineage]["verdict"] == "not-applicable"  # hegui serves no model of its own
    assert bare[licences]["verdict"] == bare[notice]["verdict"] == bare[lineage]["verdict"] == "gap"
    for run in (full, bare):
        assert run["audit chain"]["verdict"] == "compliant"
        # the bundled policy protects no person and no work: said, with the control that is missing
        persons = run["real persons: likeness, voice, name, defamation (A.4b, A.4c, A.4g)"]
        assert persons["verdict"] == "non-compliant" and "no enabled `persona` check" in persons["detail"]
        works = run["copyright of outputs: protected-works overlap (A.3a)"]
        assert works["verdict"] == "non-compliant" and "`works_overlap`" in works["detail"]
        edits = run["edits of a person's face or voice: separate consent (DS-02)"]
        assert edits["verdict"] == "compliant" and "0 consent(s) recorded" in edits["detail"]
        sanctions = run["sanction records (IM 14)"]
        assert sanctions["verdict"] == "compliant" and sanctions["detail"].startswith("1 violation(s)")
        assert run["cross-border counters and route (XB-01, XB-02, XB-03)"]["verdict"] == "not-applicable"
        assert run["filing number displayed (DS-04)"]["verdict"] == "gap"
    assert "## product" in (full_dir / "assess" / "assess.md").read_text(encoding="utf-8")

    _check_package(full_dir / "filing", questions=12)
    decided = json.loads((full_dir / "filing" / "manifest.json").read_text(encoding="utf-8"))["clauses"]
    records = {c["id"]: c for c in decided if c["decided_by"] == "records"}
    assert set(records) == {"7-c", "7-d"} and {c["verdict"] for c in records.values()} == {"compliant"}
    filtering = next(c for c in decided if c["id"] == "5.2-a")  # the pool's audit: two turns, unreviewed
    assert filtering["decided_by"] == "hegui" and filtering["verdict"] == "non-compliant"
    assert "fewer than the 4,000 SEC-07 asks" in filtering["reason"]
    manifest = json.loads((bare_dir / "filing" / "manifest.json").read_text(encoding="utf-8"))
    eval_clauses = {c["id"]: c for c in manifest["clauses"] if c["id"] in ("6-d", "7-e")}
    assert all(c["reason"].startswith("no evidence") for c in eval_clauses.values()), eval_clauses
    bare_7d = next(c for c in manifest["clauses"] if c["id"] == "7-d")
    assert bare_7d["decided_by"] == "records" and bare_7d["reason"].startswith("0 case(s)")
    assert not (bare_dir / "filing" / "test_questions.xlsx").exists()


def _check_package(out: Path, questions: int) -> None:
    import docx
    import openpyxl  # type: ignore[import-untyped]

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [c["id"] for c in manifest["clauses"]] == [c.id for c in CLAUSES]
    assert manifest["conclusion"]["compliant"] is False  # no lexicon, too few questions: said, not hidden
    text = "\n".join(
        cell.text
        for t in docx.Document(str(out / "security_self_assessment.docx")).tables
        for r in t.rows
        for cell in r.cells
    )
    for c in CLAUSES:
        assert f"{c.id} {c.title}" in text
    wb = openpyxl.load_workbook(out / "test_questions.xlsx", read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    wb.close()  # a read-only workbook holds its file open until closed
    assert rows[0][:3] == ("测试题", "一级分类", "二级分类") and len(rows) == questions + 1
    checklist = (out / "checklist.md").read_text(encoding="utf-8")
    assert "Clause 8.1" in checklist and "due by 2026-12-15" in checklist  # 10 working days after Dec 1
    pdf = out / "security_self_assessment.pdf"
    if not pdf.exists():
        assert "No Chromium found" in checklist
        pytest.skip("no Chromium: the PDF was not written")
    from pypdf import PdfReader

    pages = len(PdfReader(str(pdf)).pages)
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed: pages were not rendered to PNG")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(out / "page")], check=True, timeout=120)
    assert pages > 0 and len(list(out.glob("page*.png"))) == pages
