"""The product and generated-content items of `hegui assess` that only the records can show: the
agreements published, the consent ledger behind the training pool, data-subject request deadlines, the
complaint deadline, cross-border counters, the filing number, and the sanction records.

Each check reads the records database (SQLite or PostgreSQL) and the policy in service, and gives a
verdict with the figures it counted. It never writes: an assessment that changed the records would
assess itself. A check that finds nothing to count says so in its detail (no requests yet is a fact,
not a pass by silence).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, func, select

from hegui.filing.evidence import RecordFinding
from hegui.filing.findings import COMPLIANT, GAP, NODES, NON_COMPLIANT, NOT_APPLICABLE, Finding
from hegui.filing.form import FilingForm
from hegui.policy import Policy

PRODUCT, GENERATED = NODES[4], NODES[5]
#: The legal ceiling for answering complaints and data-subject requests (IM-03, IM-05: 15 working days).
MAX_WORKING_DAYS = 15
#: Pool records re-checked against the consent ledger, newest first (one ledger read each).
POOL_CHECK_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class RecordsContext:
    engine: Engine
    policy: Policy
    form: FilingForm
    #: The day in the service's time zone: deadlines are working days there.
    today: date


def _tenants(engine: Engine) -> list[str]:
    """The tenants that hold a live key: each serves its own users and publishes its own agreements."""
    from hegui.records.tables import ApiKeyRow

    q = select(ApiKeyRow.tenant).where(ApiKeyRow.revoked_at.is_(None)).distinct().order_by(ApiKeyRow.tenant)
    with engine.connect() as conn:
        found = [str(t) for t in conn.execute(q).scalars()]
    return found or ["default"]


def agreements(ctx: RecordsContext) -> list[Finding]:
    """IM 9: the service agreement and the privacy policy published to users, per tenant, with the
    acceptances recorded; the filing form's document reference is the copy for the package."""
    from hegui.records.agreements import current
    from hegui.records.tables_records import AcceptanceRow

    out = []
    tenants = _tenants(ctx.engine)
    for kind, field, label in (
        ("service", "agreement", "service agreement published (IM 9)"),
        ("privacy", "privacy_policy", "privacy policy published (IM 9, PIPL 17)"),
    ):
        published, missing = [], []
        for tenant in tenants:
            cur = current(ctx.engine, kind, tenant=tenant)
            if cur is None:
                missing.append(tenant)
                continue
            with ctx.engine.connect() as conn:
                accepted = conn.execute(
                    select(func.count())
                    .select_from(AcceptanceRow)
                    .where(
                        (AcceptanceRow.tenant == tenant)
                        & (AcceptanceRow.kind == kind)
                        & (AcceptanceRow.version == cur.version)
                    )
                ).scalar_one()
            published.append(
                f"tenant {tenant}: version {cur.version} published {cur.published_at[:10]}, "
                f"{accepted} acceptance(s) of it"
            )
        ref = getattr(ctx.form.documents, field)
        evidence = (
            "; ".join([*published, *([f"filing form documents.{field} = {ref}"] if ref else [])])
            or f"agreement_versions: nothing of kind {kind}"
        )
        required = ctx.policy.records.require_agreement
        if missing:
            why = (
                f"no {kind} version published for tenant(s) {', '.join(missing)} (POST /hegui/api/agreements)"
            )
            if required:
                why += "; records.require_agreement is on, so their users cannot be served"
            out.append(Finding(PRODUCT, label, NON_COMPLIANT, why, evidence))
            continue
        detail = f"published for every tenant ({len(tenants)}); acceptance before service " + (
            "required (records.require_agreement)" if required else "not required by the policy"
        )
        if not ref:
            detail += f"; documents.{field} is empty in the filing form, so the package holds no copy"
        out.append(Finding(PRODUCT, label, COMPLIANT, detail, evidence))
    return out


@dataclass(frozen=True, slots=True)
class _PoolProblem:
    record_hash: str
    why: str


def consent_ledger(ctx: RecordsContext) -> Finding:
    """IM 7 / IM-04: every record in the training pool rests on consent effective when it was collected,
    and none outlived a later withdrawal. Re-derived from the ledger, not trusted from the pool row."""
    from hegui.records.consent import consent_at
    from hegui.records.tables_records import ConsentEventRow, PoolRecordRow, PoolTombstoneRow

    item = "consent ledger behind the training pool (IM 7, IM-04)"
    p, e = PoolRecordRow, ConsentEventRow
    with ctx.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(p)).scalar_one()
        rows = conn.execute(
            select(p.record_hash, p.tenant, p.user_id, p.channel, p.collected_at, p.consent_basis)
            .order_by(p.id.desc())
            .limit(POOL_CHECK_LIMIT)
        ).all()
        granted, withdrawn = (
            conn.execute(select(func.count()).select_from(e).where(e.granted.is_(value))).scalar_one()
            for value in (True, False)
        )
        tombstoned = conn.execute(select(func.count()).select_from(PoolTombstoneRow)).scalar_one()
        later_withdrawal = {
            (r.tenant, r.user_id): str(r.last)
            for r in conn.execute(
                select(e.tenant, e.user_id, func.max(e.at).label("last"))
                .where(e.granted.is_(False))
                .group_by(e.tenant, e.user_id)
            )
        }
    problems: list[_PoolProblem] = []
    for r in rows:
        state = consent_at(ctx.engine, ctx.policy.records, r.tenant, r.user_id, r.channel, r.collected_at)
        if not state.granted:
            problems.append(_PoolProblem(r.record_hash, f"no consent at collection ({state.basis})"))
        elif later_withdrawal.get((r.tenant, r.user_id), "") > r.collected_at:
            problems.append(_PoolProblem(r.record_hash, "consent withdrawn later, record still in the pool"))
    rec = ctx.policy.records
    defaults = (
        f"defaults: API {'opt-out' if rec.consent_default_api else 'opt-in'}, "
        f"chat {'opt-out' if rec.consent_default_chat else 'opt-in'}"
    )
    checked = (
        f"the newest {len(rows):,} of {total:,} pool record(s)"
        if total > len(rows)
        else f"{total:,} pool record(s)"
    )
    evidence = (
        f"consent_events: {granted} grants, {withdrawn} withdrawals; pool_tombstones: {tombstoned}; "
        f"policy records ({defaults})"
    )
    if problems:
        shown = "; ".join(f"{x.record_hash[:12]}… {x.why}" for x in problems[:3])
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        return Finding(
            PRODUCT,
            item,
            NON_COMPLIANT,
            f"{len(problems)} of {checked} lack a lawful basis: {shown}{more}",
            evidence,
        )
    return Finding(
        PRODUCT,
        item,
        COMPLIANT,
        f"{checked} checked against the ledger: each had consent when collected and none outlived a "
        "withdrawal; users turn training off with one call (POST /hegui/api/users/{user}/consent "
        '{"granted": false}), which tombstones their records',
        evidence,
    )


def _late(done_at: str | None, due: str) -> bool:
    return done_at is not None and done_at[:10] > due


def dsr_deadlines(ctx: RecordsContext) -> Finding:
    """IM 11 / IM-05: data-subject requests answered within 15 working days (PIPL 47, 50)."""
    from hegui.records.dsr import list_requests

    item = "data-subject requests within the deadline (IM-05)"
    days = ctx.policy.records.dsr_deadline_days
    reqs = list_requests(ctx.engine)
    done = [r for r in reqs if r.status == "done"]
    late = [r for r in done if _late(r.completed_at, r.due_date)]
    open_ = [r for r in reqs if r.status == "open"]
    overdue = [r for r in open_ if r.due_date < ctx.today.isoformat()]
    evidence = "dsr_requests; audit entries dsr-open / dsr-done (request id dsr-<id>)"
    counts = (
        f"{len(reqs)} request(s): {len(done) - len(late)} answered on time, {len(late)} late, "
        f"{len(open_)} open ({len(overdue)} overdue on {ctx.today.isoformat()})"
    )
    problems = []
    if days > MAX_WORKING_DAYS:
        problems.append(f"records.dsr_deadline_days = {days} exceeds {MAX_WORKING_DAYS} working days")
    problems += [f"dsr-{r.id} ({r.kind}) answered {r.completed_at} after due {r.due_date}" for r in late[:3]]
    problems += [f"dsr-{r.id} ({r.kind}) open past due {r.due_date}" for r in overdue[:3]]
    if problems:
        return Finding(PRODUCT, item, NON_COMPLIANT, f"{counts}; " + "; ".join(problems), evidence)
    return Finding(
        PRODUCT, item, COMPLIANT, f"{counts}; deadline {days} working days (Chinese calendar)", evidence
    )


def complaint_sla(ctx: RecordsContext) -> Finding:
    """IM 15 / IM-03: complaints answered within the published deadline, at most 15 working days."""
    from hegui.cases.store import OPEN_STATES, china_day
    from hegui.cases.tables import CaseRow

    item = "complaints answered within the deadline (IM-03)"
    c = CaseRow
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(c.id, c.kind, c.state, c.due_date, c.answered_at).order_by(c.id)).all()
    cases = ctx.policy.cases
    too_long = {k: v for k, v in cases.deadline_days_by_kind.items() if v > MAX_WORKING_DAYS}
    if cases.deadline_days > MAX_WORKING_DAYS:
        too_long["(default)"] = cases.deadline_days
    late = [r for r in rows if r.answered_at and china_day(r.answered_at).isoformat() > r.due_date]
    open_ = [r for r in rows if r.state in OPEN_STATES]
    overdue = [r for r in open_ if r.due_date < ctx.today.isoformat()]
    answered = [r for r in rows if r.answered_at]
    counts = (
        f"{len(rows)} case(s): {len(answered) - len(late)} answered on time, {len(late)} late, "
        f"{len(open_)} open ({len(overdue)} overdue on {ctx.today.isoformat()})"
    )
    evidence = (
        "cases; audit entries case-received / case-answered (request id case-<id>); public page /report"
    )
    problems = [
        f"cases deadline {k} = {v} working days exceeds {MAX_WORKING_DAYS}" for k, v in too_long.items()
    ]
    problems += [f"case {r.id} ({r.kind}) answered after due {r.due_date}" for r in late[:3]]
    problems += [f"case {r.id} ({r.kind}) unanswered past due {r.due_date}" for r in overdue[:3]]
    if problems:
        return Finding(PRODUCT, item, NON_COMPLIANT, f"{counts}; " + "; ".join(problems), evidence)
    contact = ctx.policy.provider.complaint_contact
    tail = (
        f"; contact {contact}"
        if contact
        else "; [provider] complaint_contact is empty (the form still works)"
    )
    return Finding(
        PRODUCT,
        item,
        COMPLIANT,
        f"{counts}; deadline {cases.deadline_days} working days{tail}",
        evidence,
    )


def cross_border(ctx: RecordsContext) -> Finding:
    """XB-01…03: the year's counters decide the route; a route beyond exempt needs its filing."""
    from hegui.records.egress import EXEMPT, crossborder_report

    item = "cross-border counters and route (XB-01, XB-02, XB-03)"
    pol = ctx.policy
    foreign = [u.name for u in pol.upstreams if pol.upstream_region(u) != pol.provider.region]
    report = crossborder_report(ctx.engine, pol.egress)
    figures = (
        f"{report.year}: {report.persons} person(s) with personal information, {report.sensitive_persons} "
        f"with sensitive; route {report.route}; {len(report.alerts)} alert(s); "
        f"{report.active_consents} active separate consent(s)"
    )
    evidence = "egress_persons, egress_alerts, egress_consents (`hegui egress crossborder-report`)"
    if not foreign and report.persons == 0 and report.sensitive_persons == 0:
        return Finding(
            PRODUCT,
            item,
            NOT_APPLICABLE,
            f"every upstream is in the provider's region {pol.provider.region}, and nothing was counted ({figures})",
            evidence,
        )
    if foreign and not pol.egress.enabled:
        return Finding(
            PRODUCT,
            item,
            NON_COMPLIANT,
            f"upstream(s) {', '.join(foreign)} are outside {pol.provider.region} and [egress] enabled = false: "
            "nothing is pseudonymized, consented or counted",
            evidence,
        )
    if report.route == EXEMPT:
        return Finding(PRODUCT, item, COMPLIANT, f"{figures}: under every threshold", evidence)
    filed = ctx.form.documents.crossborder_filing
    if not filed:
        return Finding(
            PRODUCT,
            item,
            NON_COMPLIANT,
            f"{figures}: {report.route_text} No filing given (documents.crossborder_filing in the form)",
            evidence,
        )
    return Finding(PRODUCT, item, COMPLIANT, f"{figures}; filed: {filed}", f"{evidence}; {filed}")


def filing_number(ctx: RecordsContext) -> Finding:
    return filing_number_of(ctx.policy)


def filing_number_of(policy: Policy) -> Finding:
    """DS-04: the filing number shown to users, with its link (the public pages' footer). Policy only:
    the pages read it from there."""
    item = "filing number displayed (DS-04)"
    p = policy.provider
    if not p.filing_number:
        return Finding(
            PRODUCT,
            item,
            GAP,
            "[provider] filing_number is empty: set it (and filing_url) once the filing is granted; "
            "the public pages and /hegui/public/provider then show it",
        )
    where = "footer of /report, /privacy, /refutations; GET /hegui/public/provider"
    if not p.filing_url:
        return Finding(
            PRODUCT, item, NON_COMPLIANT, f"{p.filing_number} is shown without a link: set filing_url", where
        )
    return Finding(PRODUCT, item, COMPLIANT, f"{p.filing_number}, linked to {p.filing_url}", where)


def sanctions(ctx: RecordsContext) -> Finding:
    """IM 14: violations and every change of a user's level kept as records (not in process memory)."""
    from hegui.records.tables_sanctions import SanctionStepRow, SanctionViolationRow

    item = "sanction records (IM 14)"
    if ctx.policy.records.sanction_store != "database":
        return Finding(
            GENERATED,
            item,
            NON_COMPLIANT,
            'records.sanction_store = "memory": violations and suspensions are lost on restart',
            "policy [records] sanction_store",
        )
    with ctx.engine.connect() as conn:
        violations = conn.execute(select(func.count()).select_from(SanctionViolationRow)).scalar_one()
        steps = conn.execute(select(func.count()).select_from(SanctionStepRow)).scalar_one()
        manual = conn.execute(
            select(func.count()).select_from(SanctionStepRow).where(SanctionStepRow.decided_by != "ladder")
        ).scalar_one()
    return Finding(
        GENERATED,
        item,
        COMPLIANT,
        f"{violations} violation(s) and {steps} level change(s) recorded ({manual} by staff), kept in the database",
        "sanction_violations, sanction_steps; audit stage sanction",
    )


PRODUCT_CHECKS: Sequence[Callable[[RecordsContext], Finding]] = (
    consent_ledger,
    dsr_deadlines,
    complaint_sla,
    cross_border,
    filing_number,
)


def product(ctx: RecordsContext) -> list[Finding]:
    return agreements(ctx) + [check(ctx) for check in PRODUCT_CHECKS]


#: The filing clauses the records decide (`hegui filing build` with a database): the training opt-out
#: rests on the consent ledger, the complaint channel on its deadlines.
CLAUSE_CHECKS: dict[str, Callable[[RecordsContext], Finding]] = {
    "7-c": consent_ledger,
    "7-d": complaint_sla,
}


def clause_findings(ctx: RecordsContext) -> dict[str, RecordFinding]:
    out = {}
    for clause, check in CLAUSE_CHECKS.items():
        f = check(ctx)
        out[clause] = RecordFinding(f.verdict, f.detail, f.evidence)
    return out


def no_database(policy: Policy | None) -> list[Finding]:
    """Without a database, each record-backed item is a gap that says so (the filing number is policy;
    the agreements fall back to the filing form's references, in `assess`)."""
    why = "no records database (HEGUI_DATA_DIR / HEGUI_DATABASE_URL)"
    out = [
        Finding(PRODUCT, item, GAP, why)
        for item in (
            "consent ledger behind the training pool (IM 7, IM-04)",
            "data-subject requests within the deadline (IM-05)",
            "complaints answered within the deadline (IM-03)",
            "cross-border counters and route (XB-01, XB-02, XB-03)",
        )
    ]
    if policy is not None:
        out.append(filing_number_of(policy))
    return out
