"""The manual review item of `hegui assess` from the review sheet of a real `hegui corpus audit`,
completed as reviewers would: drawn is not reviewed, and the verdict follows the 审核结果 column."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.filing.assess_corpus import ITEM, RESULT, SHEET, review_finding
from hegui.filing.findings import COMPLIANT, GAP, NON_COMPLIANT


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    corpus = root / "c.jsonl"
    lines = (json.dumps({"text": f"第{i}条语料"}, ensure_ascii=False) for i in range(4100))
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = root / "audit"
    args = ["corpus", "audit", str(corpus), "--out", str(out), "--fraction", "0.1", "--workers", "1"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    return out


def _fill(audit_dir: Path, tmp_path: Path, results: dict[int, str], default: str = "合格") -> Path:
    """A copy of the audit (summary and sheet) with the sheet completed: row i (0-based) gets results[i], others default."""
    import openpyxl  # type: ignore[import-untyped]

    out = tmp_path / "audit"
    out.mkdir(parents=True)
    shutil.copyfile(audit_dir / "summary.json", out / "summary.json")
    wb = openpyxl.load_workbook(audit_dir / SHEET)
    ws = wb.active
    col = [c.value for c in ws[1]].index(RESULT) + 1
    for i in range(ws.max_row - 1):
        ws.cell(row=i + 2, column=col, value=results.get(i, default))
    wb.save(out / SHEET)
    return out


@pytest.mark.parametrize(
    ("results", "verdict", "said"),
    [
        ({}, COMPLIANT, "4,000 drawn, 4,000 reviewed, 4,000 合格: pass rate 100.00%"),
        (dict.fromkeys(range(160), "不合格"), COMPLIANT, "pass rate 96.00% ≥ 96%"),
        (dict.fromkeys(range(161), "fail"), NON_COMPLIANT, "3,839 合格: pass rate 95.97% < 96%"),
        ({7: "", 9: ""}, GAP, "2 not yet reviewed"),
        ({3: "也许"}, NON_COMPLIANT, "neither 合格 nor 不合格"),
    ],
)
def test_the_sheet_decides(
    audit_dir: Path, tmp_path: Path, results: dict[int, str], verdict: str, said: str
) -> None:
    found = review_finding(_fill(audit_dir, tmp_path, results))
    assert found.item == ITEM and found.verdict == verdict and said in found.detail, found
    assert found.evidence.endswith(SHEET)


def test_drawn_is_not_reviewed(audit_dir: Path, tmp_path: Path) -> None:
    drawn = review_finding(audit_dir)  # as written: nobody has filled 审核结果
    assert drawn.verdict == GAP and "4,000 not yet reviewed" in drawn.detail
    assert review_finding(tmp_path).verdict == NON_COMPLIANT  # no sheet at all


def test_filing_decides_5_2_a_from_the_audit(audit_dir: Path, tmp_path: Path) -> None:
    """`hegui filing build --corpus`: 5.2-a from the scan and the completed sheet; without it, the form."""

    def clause(*extra: str) -> dict[str, str]:
        out = tmp_path / f"pkg{len(list(tmp_path.glob('pkg*')))}"
        r = CliRunner().invoke(
            app, ["filing", "build", "--out", str(out), "--no-pdf", "--no-records", *extra]
        )
        assert r.exit_code == 0, r.output
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        found: dict[str, str] = next(c for c in manifest["clauses"] if c["id"] == "5.2-a")
        return found

    assert clause()["reason"].startswith("no evidence: not declared in the filing form")
    # the audit scanned 10 % and every scanned item passed, but nobody has reviewed the sample yet
    drawn = clause("--corpus", str(audit_dir))
    assert drawn["verdict"] == NON_COMPLIANT and drawn["decided_by"] == "hegui"
    assert "SEC-07 asks" not in drawn["reason"] and "4,000 not yet reviewed" in drawn["reason"]
    done = clause("--corpus", str(_fill(audit_dir, tmp_path, {})))
    assert done["verdict"] == COMPLIANT, done
    assert done["reason"].startswith("technical scan ") and "(10%) at 100.00%" in done["reason"]
    assert "manual review: 4,000 drawn, 4,000 reviewed, 4,000 合格: pass rate 100.00%" in done["reason"]
    failing = _fill(audit_dir, tmp_path / "f", dict.fromkeys(range(200), "不合格"))
    assert "pass rate 95.00% < 96%" in clause("--corpus", str(failing))["reason"]
