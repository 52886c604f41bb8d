"""`hegui filing build`: the package as files in one directory.

security_self_assessment.docx / .pdf   per-clause verdicts, evidence, rates, charts, conclusion
keywords.xlsx                          关键词 / 一级分类 / 二级分类, and a 统计 sheet against SEC-01
test_questions.xlsx                    the last evaluation's filing Excel
algorithm_filing.yaml                  the filing form (template when none was given)
checklist.md                           what is still missing, and the deadlines (ALG-01)
manifest.json                          every verdict, machine-readable
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hegui.errors import RequestError
from hegui.evaluation.minimums import Minimums
from hegui.evaluation.tables import xlsx_text
from hegui.filing.assess_records import RecordsContext, clause_findings
from hegui.filing.clauses import Clause
from hegui.filing.evidence import (
    NON_COMPLIANT,
    ClauseVerdict,
    Conclusion,
    CorpusEvidence,
    EvalEvidence,
    Evidence,
    PolicyEvidence,
    RecordFinding,
    conclude,
    decide,
    lexicon_evidence,
)
from hegui.filing.form import FilingForm, write_form
from hegui.filing.render import ReportContent, draw_chart, render_html, write_docx, write_pdf

REPORT = "security_self_assessment"
SIGNATURES = ("法定代表人", "安全评估负责人", "合法性审核负责人（三人签字要求 UNCONFIRMED）")


@dataclass(frozen=True, slots=True)
class FilingInputs:
    form: FilingForm
    clauses: tuple[Clause, ...]
    out: Path
    form_path: Path | None = None
    policy_path: Path | None = None
    eval_dir: Path | None = None
    lexicon_path: Path | None = None
    #: The loaded `hegui.guard.lexicon.model.Lexicon` (read as `hegui lexicon stats` reads it).
    lexicon: Any = None
    minimums: Minimums = field(default_factory=Minimums)
    pdf: bool = True
    #: The records database (clauses 7-c and 7-d); None: those clauses are taken from the form.
    records: RecordsContext | None = None
    #: A `hegui corpus audit` output (clause 5.2-a); None: the clause is taken from the form.
    corpus_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class FilingResult:
    verdicts: list[ClauseVerdict]
    conclusion: Conclusion
    files: list[Path]
    missing: list[str]


def policy_evidence(path: Path | None) -> PolicyEvidence:
    from hegui.guard.types import Stage
    from hegui.pipelines import build_pipeline
    from hegui.policy import load_policy

    policy = load_policy(path)
    pipe = build_pipeline(policy)
    return PolicyEvidence(
        str(path or "bundled default policy"),
        policy.full_version,
        tuple(c.name for c in pipe.checks_for(Stage.INPUT)),
        tuple(c.name for c in pipe.checks_for(Stage.OUTPUT)),
    )


def eval_evidence(eval_dir: Path) -> EvalEvidence:
    from hegui.evaluation.report import load_summary, records_in_order

    return EvalEvidence(str(eval_dir), load_summary(eval_dir), records_in_order(eval_dir))


def write_keywords(lexicon: Any, lx_rows: tuple[tuple[str, int, int], ...], path: Path) -> None:
    """关键词 / 一级分类 / 二级分类 (one row per term, its category's zh names) and a 统计 sheet."""
    from hegui.evaluation.tables import openpyxl_module
    from hegui.taxonomy import CATEGORIES, RISKS

    wb = openpyxl_module(path).Workbook(write_only=True)
    ws = wb.create_sheet("关键词")
    ws.append(["关键词", "一级分类", "二级分类"])
    for t in lexicon.terms:
        r = RISKS[t.category]
        ws.append([xlsx_text(t.text), CATEGORIES[r.category][0], r.zh])
    stats = wb.create_sheet("统计")
    stats.append(["风险", "二级分类", "数量", "最低要求"])
    for risk, count, minimum in lx_rows:
        stats.append([risk, RISKS[risk].zh if risk in RISKS else risk, count, minimum])
    stats.append(["合计", "", sum(c for _, c, _ in lx_rows), 10000])
    wb.save(path)


def filing_deadline(launch: date) -> date:
    from hegui.records.dsr import add_working_days

    return add_working_days(launch, 10)


def checklist(inputs: FilingInputs, verdicts: list[ClauseVerdict], pdf_written: bool) -> list[str]:
    out = []
    if inputs.form_path is None:
        out.append("The filing form was not given: complete algorithm_filing.yaml and rerun with --form.")
    if inputs.records is None and any(c.source == "records" for c in inputs.clauses):
        out.append(
            "No records database was read: clauses "
            + ", ".join(c.id for c in inputs.clauses if c.source == "records")
            + " were taken from the form (set HEGUI_DATA_DIR / HEGUI_DATABASE_URL to decide them from the records)."
        )
    out += [f"Form field `{f}` is empty." for f in inputs.form.empty_fields()]
    out += [
        f"Clause {v.clause.id} ({v.clause.title}) is non-compliant: {v.reason}"
        for v in verdicts
        if v.verdict == NON_COMPLIANT
    ]
    launch = inputs.form.service.launch_date
    if launch is None:
        out.append(
            "Algorithm filing is due within 10 working days of launch (ALG-01): set service.launch_date."
        )
    else:
        due = filing_deadline(launch)
        late = " — overdue" if due < datetime.now(UTC).date() else ""
        out.append(
            f"Algorithm filing (beian.cac.gov.cn) due by {due.isoformat()} (10 working days after launch {launch}){late}."
        )
    out.append(
        "Signatures on the commitment page: legal representative and assessment lead (three-signature rule UNCONFIRMED)."
    )
    out.append(
        "Test channel for the regulator: 10 accounts with the safety strategy and 10 without, plus an API (spec §5)."
    )
    if inputs.pdf and not pdf_written:
        out.append(
            "No Chromium found: the PDF of the report was not written (install chromium, or print the DOCX)."
        )
    for name in ("agreement", "privacy_policy", "annotation_rules"):
        ref = getattr(inputs.form.documents, name)
        if ref and "://" not in ref and not Path(ref).exists():
            out.append(f"documents.{name} names {ref}, which does not exist.")
    return out


def corpus_evidence(corpus_dir: Path) -> CorpusEvidence:
    """The audit's summary and its review sheet's verdict; a summary that cannot be read is an error
    (the user pointed at it)."""
    from hegui.filing.assess_corpus import review_finding

    path = corpus_dir / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RequestError(f"cannot read the corpus audit summary {path}: {exc}") from exc
    if not isinstance(summary, dict):
        raise RequestError(f"{path}: a JSON object is expected")
    review = review_finding(corpus_dir)
    return CorpusEvidence(
        str(corpus_dir), summary, RecordFinding(review.verdict, review.detail, review.evidence)
    )


def build(inputs: FilingInputs) -> FilingResult:
    out = inputs.out
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    lexicon_ev = None
    if inputs.lexicon_path is not None and inputs.lexicon is not None:
        lexicon_ev = lexicon_evidence(inputs.lexicon_path, inputs.lexicon)
        write_keywords(inputs.lexicon, lexicon_ev.rows, out / "keywords.xlsx")
        files.append(out / "keywords.xlsx")
    evaluation = eval_evidence(inputs.eval_dir) if inputs.eval_dir is not None else None
    if inputs.eval_dir is not None:
        src = inputs.eval_dir / "test_questions.xlsx"
        if not src.exists():
            raise RequestError(f"no test_questions.xlsx in {inputs.eval_dir}")
        shutil.copyfile(src, out / "test_questions.xlsx")
        files.append(out / "test_questions.xlsx")
    ev = Evidence(
        inputs.form,
        policy_evidence(inputs.policy_path),
        lexicon_ev,
        evaluation,
        inputs.minimums,
        clause_findings(inputs.records) if inputs.records is not None else None,
        corpus_evidence(inputs.corpus_dir) if inputs.corpus_dir is not None else None,
    )
    verdicts = decide(inputs.clauses, ev)
    conclusion = conclude(verdicts)

    charts = []
    rates = list(evaluation.summary.get("kinds", [])) if evaluation else []
    for k in rates:
        chart = draw_chart(k, out / f"chart_{k['kind']}.png")
        if chart is not None:
            charts.append(chart)
            files.append(chart)
    form = inputs.form
    content = ReportContent(
        title="生成式人工智能服务安全评估报告（GB/T 45654-2025 自评估）",
        provider=form.provider.name or "（未填写）",
        service=form.service.name or "（未填写）",
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        conclusion=conclusion,
        verdicts=verdicts,
        rates=rates,
        charts=charts,
        signatures=SIGNATURES,
    )
    write_docx(content, out / f"{REPORT}.docx")
    files.append(out / f"{REPORT}.docx")
    pdf_written = inputs.pdf and write_pdf(render_html(content), out / f"{REPORT}.pdf")
    if pdf_written:
        files.append(out / f"{REPORT}.pdf")
    write_form(out / "algorithm_filing.yaml", form, [c.id for c in inputs.clauses if c.source == "declared"])
    files.append(out / "algorithm_filing.yaml")
    missing = checklist(inputs, verdicts, pdf_written)
    (out / "checklist.md").write_text(
        "# Filing checklist\n\n" + "".join(f"- [ ] {m}\n" for m in missing), encoding="utf-8"
    )
    files.append(out / "checklist.md")
    manifest = {
        "generated": content.generated,
        "conclusion": {"compliant": conclusion.compliant, "text": conclusion.text},
        "clauses": [
            {
                "id": v.clause.id,
                "title": v.clause.title,
                "refs": list(v.clause.refs),
                "verdict": v.verdict,
                "reason": v.reason,
                "evidence": list(v.evidence),
                "decided_by": v.decided_by,
            }
            for v in verdicts
        ],
        "files": [p.name for p in files],
        "missing": missing,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    files.append(out / "manifest.json")
    return FilingResult(verdicts, conclusion, files, missing)
