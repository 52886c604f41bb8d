"""One verdict per clause, from what hegui can read and what the provider declares.

Machine-checked clauses (source ``lexicon``, ``banks``, ``input-check``, ``eval``) are decided here from
the files given; a missing file makes the clause non-compliant with the reason "no evidence", because
the report must not claim what was not shown. ``declared`` clauses take the filing form's verdict; an
undeclared one is non-compliant for the same reason. A not-applicable verdict without a reason is not
accepted (SEC-11 asks for one).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hegui.evaluation.bank import BankItem, check_bank
from hegui.evaluation.minimums import Kind, Minimums
from hegui.filing.clauses import Clause
from hegui.filing.form import FilingForm

COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE = "compliant", "non-compliant", "not-applicable"
VERDICT_ZH = {COMPLIANT: "符合", NON_COMPLIANT: "不符合", NOT_APPLICABLE: "不适用"}


@dataclass(frozen=True, slots=True)
class ClauseVerdict:
    clause: Clause
    verdict: str
    reason: str
    evidence: tuple[str, ...] = ()
    #: "hegui" when decided from files, "records" from the records database, "declared" from the form.
    decided_by: str = "hegui"


@dataclass(frozen=True, slots=True)
class LexiconEvidence:
    path: str
    total: int
    meets_minimums: bool
    shortfalls: tuple[str, ...]
    age_days: float
    rows: tuple[tuple[str, int, int], ...]  # (risk, count, minimum)


@dataclass(frozen=True, slots=True)
class EvalEvidence:
    path: str
    summary: Mapping[str, Any]
    records: Sequence[Mapping[str, Any]]

    def kind(self, kind: Kind) -> Mapping[str, Any] | None:
        return next((k for k in self.summary.get("kinds", []) if k["kind"] == kind.value), None)


@dataclass(frozen=True, slots=True)
class PolicyEvidence:
    path: str
    version: str
    input_checks: tuple[str, ...]
    output_checks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CorpusEvidence:
    """A `hegui corpus audit` output directory: its summary and the completed review sheet."""

    path: str
    summary: Mapping[str, Any]
    #: The review sheet's verdict (`assess_corpus.review_finding`): verdict, detail, evidence.
    review: RecordFinding


@dataclass(frozen=True, slots=True)
class RecordFinding:
    """What `hegui assess` found in the records for one clause (see `assess_records.CLAUSE_CHECKS`)."""

    verdict: str  # compliant | non-compliant | not-applicable | gap
    detail: str
    evidence: str


@dataclass(frozen=True, slots=True)
class Evidence:
    form: FilingForm
    policy: PolicyEvidence | None = None
    lexicon: LexiconEvidence | None = None
    evaluation: EvalEvidence | None = None
    minimums: Minimums = field(default_factory=Minimums)
    #: Findings from the records database by clause id; None when no database was read.
    records: Mapping[str, RecordFinding] | None = None
    #: The training-corpus audit (5.2-a); None: the clause is taken from the form.
    corpus: CorpusEvidence | None = None


def _missing(clause: Clause, what: str) -> ClauseVerdict:
    return ClauseVerdict(clause, NON_COMPLIANT, f"no evidence: {what}")


def _lexicon(c: Clause, ev: Evidence) -> ClauseVerdict:
    lx = ev.lexicon
    if lx is None:
        return _missing(c, "no keyword library given (--lexicon)")
    refs = (f"keywords.xlsx ({lx.total:,} terms, from {lx.path})",)
    problems = list(lx.shortfalls[:5]) + (
        [f"{len(lx.shortfalls) - 5} more shortfalls"] if len(lx.shortfalls) > 5 else []
    )
    if lx.age_days > 7:
        problems.append(f"last updated {lx.age_days:.0f} days ago (weekly update required)")
    if problems:
        return ClauseVerdict(c, NON_COMPLIANT, "; ".join(problems), refs)
    return ClauseVerdict(
        c, COMPLIANT, f"{lx.total:,} terms; every A.1/A.2 minimum met; updated within a week", refs
    )


def _items(records: Sequence[Mapping[str, Any]]) -> list[BankItem]:
    return [
        BankItem(
            str(r["id"]),
            str(r.get("测试题", "")),
            str(r.get("一级分类", "")),
            str(r.get("二级分类", "")),
            Kind(r["kind"]),
            str(r["group"]),
        )
        for r in records
    ]


def _banks(c: Clause, ev: Evidence) -> ClauseVerdict:
    if ev.evaluation is None:
        return _missing(c, "no evaluation run given (--eval)")
    kinds = (Kind.GENERATED,) if "SEC-02" in c.refs else (Kind.SHOULD_REFUSE, Kind.SHOULD_ANSWER)
    report = check_bank(_items(ev.evaluation.records), ev.minimums)
    refs = (f"test_questions.xlsx (from {ev.evaluation.path})",)
    present = {k.kind: k for k in report.kinds}
    problems = []
    for kind in kinds:
        if kind not in present:
            problems.append(f"no {kind.value} questions in the evaluation")
            continue
        short = present[kind].shortfalls
        problems += short[:4] + (
            [f"{kind.value}: {len(short) - 4} more shortfalls"] if len(short) > 4 else []
        )
    if problems:
        return ClauseVerdict(c, NON_COMPLIANT, "; ".join(problems), refs)
    counts = ", ".join(f"{present[k].kind.value} {present[k].total}" for k in kinds)
    return ClauseVerdict(c, COMPLIANT, f"{counts}; every per-risk minimum met", refs)


def _input_check(c: Clause, ev: Evidence) -> ClauseVerdict:
    p = ev.policy
    if p is None:
        return _missing(c, "no policy given (--policy)")
    refs = (f"policy {p.path} (version {p.version})",)
    if not p.input_checks:
        return ClauseVerdict(c, NON_COMPLIANT, "the policy has no check at the input stage", refs)
    if set(p.input_checks) == {"demo-denylist"}:
        return ClauseVerdict(c, NON_COMPLIANT, "the only input check is the bundled demo deny-list", refs)
    return ClauseVerdict(
        c, COMPLIANT, f"every request passes the input stage: {', '.join(p.input_checks)}", refs
    )


def _eval(c: Clause, ev: Evidence) -> ClauseVerdict:
    e = ev.evaluation
    if e is None:
        return _missing(c, "no evaluation run given (--eval)")
    wanted = {"SEC-04": Kind.GENERATED, "SEC-05": Kind.SHOULD_REFUSE, "SEC-06": Kind.SHOULD_ANSWER}
    refs = (f"summary.json and test_questions.xlsx (from {e.path})",)
    problems, facts = [], []
    for ref in c.refs:
        kind = wanted.get(ref)
        if kind is None:
            continue
        k = e.kind(kind)
        if k is None:
            problems.append(f"{ref}: no {kind.value} questions in the evaluation")
            continue
        o = k["overall"]
        fact = (
            f"{ref} {k['metric']} {o['rate']:.1%} (95% CI {o['ci95'][0]:.1%}–{o['ci95'][1]:.1%}) on {o['n']}"
        )
        if o["n"] < k["min_n"]:
            problems.append(f"{fact}: fewer than {k['min_n']} questions")
        elif not k["met"]:
            cmp = "≤" if k["metric"] == "over-refusal" else "≥"
            problems.append(f"{fact}: threshold {cmp} {k['threshold']:.0%} not met")
        else:
            facts.append(fact)
        if k.get("errors"):
            problems.append(f"{ref}: {k['errors']} questions without an answer or verdict")
    if problems:
        return ClauseVerdict(c, NON_COMPLIANT, "; ".join(problems + facts), refs)
    return ClauseVerdict(c, COMPLIANT, "; ".join(facts), refs)


def _declared(c: Clause, ev: Evidence) -> ClauseVerdict:
    d = ev.form.clauses.get(c.id)
    if d is None:
        return _missing(c, f"not declared in the filing form (clauses.{c.id!r})")
    if d.verdict != COMPLIANT and not d.reason.strip():
        return ClauseVerdict(
            c,
            NON_COMPLIANT,
            f"declared {d.verdict} without the reason SEC-11 requires",
            tuple(d.evidence),
            "declared",
        )
    if d.verdict == COMPLIANT and not d.evidence:
        return ClauseVerdict(c, NON_COMPLIANT, "declared compliant without evidence", (), "declared")
    return ClauseVerdict(c, d.verdict, d.reason or "declared by the provider", tuple(d.evidence), "declared")


def _records(c: Clause, ev: Evidence) -> ClauseVerdict:
    """From the records when a database was read; without one, the provider's declaration decides."""
    found = None if ev.records is None else ev.records.get(c.id)
    if found is None:
        return _declared(c, ev)
    refs = (found.evidence,) if found.evidence else ()
    if found.verdict in (COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE):
        return ClauseVerdict(c, found.verdict, found.detail, refs, "records")
    return ClauseVerdict(c, NON_COMPLIANT, f"no evidence: {found.detail}", refs, "records")


def _corpus(c: Clause, ev: Evidence) -> ClauseVerdict:
    """SEC-07 from the audit: the technical scan (≥ 10 % at ≥ 98 %) and the manual review as the
    reviewers completed it (≥ 4,000 at ≥ 96 %). Without an audit, the provider's declaration decides."""
    cp = ev.corpus
    if cp is None:
        return _declared(c, ev)
    s = cp.summary
    refs = (f"{cp.path}/summary.json", cp.review.evidence)
    technical = (
        f"technical scan {int(s.get('scanned', 0)):,} of {int(s.get('items', 0)):,} items "
        f"({float(s.get('scan_fraction', 0)):.0%}) at {float(s.get('pass_rate', 0)):.2%}"
    )
    problems = []
    if not s.get("technical_met"):
        problems.append(f"{technical}: SEC-07 asks ≥ 10 % at ≥ 98 %")
    review = f"manual review: {cp.review.detail}"
    if cp.review.verdict != COMPLIANT:
        problems.append(review)
    if problems:
        return ClauseVerdict(c, NON_COMPLIANT, "; ".join(problems), refs)
    return ClauseVerdict(c, COMPLIANT, f"{technical}; {review}", refs)


_DECIDERS = {
    "corpus": _corpus,
    "records": _records,
    "lexicon": _lexicon,
    "banks": _banks,
    "input-check": _input_check,
    "eval": _eval,
    "declared": _declared,
}


def decide(clauses: Sequence[Clause], ev: Evidence) -> list[ClauseVerdict]:
    out = []
    for c in clauses:
        decider = _DECIDERS.get(c.source, _declared)
        v = decider(c, ev)
        extra = ev.form.clauses.get(c.id)
        if v.decided_by != "declared" and extra is not None and extra.evidence:
            v = ClauseVerdict(v.clause, v.verdict, v.reason, v.evidence + tuple(extra.evidence), v.decided_by)
        out.append(v)
    return out


@dataclass(frozen=True, slots=True)
class Conclusion:
    compliant: bool
    text: str


def conclude(verdicts: Sequence[ClauseVerdict]) -> Conclusion:
    bad = [v.clause.id for v in verdicts if v.verdict == NON_COMPLIANT]
    if not bad:
        return Conclusion(True, f"评估结论：符合。{len(verdicts)} 项条款均为符合或不适用（附理由）。")
    return Conclusion(
        False,
        f"评估结论：不符合。{len(bad)} / {len(verdicts)} 项条款不符合：{', '.join(bad)}。整改后须重新评估。",
    )


def lexicon_evidence(path: Path, lexicon: Any) -> LexiconEvidence:
    from hegui.guard.lexicon.coverage import coverage

    cov = coverage(lexicon)
    age = (time.time() - path.stat().st_mtime) / 86400
    return LexiconEvidence(
        str(path),
        cov.total,
        cov.meets_minimums,
        tuple(cov.shortfalls()),
        age,
        tuple((r.risk, r.count, r.minimum) for r in cov.rows),
    )
