"""The record-backed items of `hegui assess`, on SQLite and PostgreSQL: each verdict follows the records
(agreements, consent ledger, DSRs, complaints, cross-border counters, sanctions) and the policy."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, insert

from hegui.cases.store import Submission, chain_writer, open_case, transition
from hegui.filing import assess_records as ar
from hegui.filing.findings import COMPLIANT, GAP, NON_COMPLIANT, NOT_APPLICABLE, Finding
from hegui.filing.form import FilingForm
from hegui.guard.egress import ExportedPerson
from hegui.policy import Policy, load_policy
from hegui.records import agreements, dsr
from hegui.records.consent import record_consent
from hegui.records.egress import record_export
from hegui.records.tables_records import PoolRecordRow
from hegui.records.vault import Vault

TODAY = date(2026, 3, 2)


def _ctx(engine: Engine, policy: Policy | None = None, form: FilingForm | None = None) -> ar.RecordsContext:
    return ar.RecordsContext(engine, policy or load_policy(None), form or FilingForm(), TODAY)


def _pool_record(engine: Engine, user: str, channel: str, collected_at: str) -> None:
    """A pool row as the admission would write it (the check must not trust how it got there)."""
    digest = hashlib.sha256(f"{user}{collected_at}".encode()).hexdigest()
    with engine.begin() as conn:
        conn.execute(
            insert(PoolRecordRow).values(
                record_hash=digest,
                tenant="default",
                user_id=user,
                channel=channel,
                request_id=f"r-{digest[:8]}",
                prompt="问",
                answer="答",
                consent_event_id=None,
                consent_basis="event",
                rules_version="1",
                minhash="",
                collected_at=collected_at,
                admitted_at=collected_at,
            )
        )


def test_agreements_follow_publication(engine: Engine) -> None:
    before = {f.item: f for f in ar.agreements(_ctx(engine))}
    assert {f.verdict for f in before.values()} == {NON_COMPLIANT}
    assert (
        "no service version published for tenant(s) default"
        in before["service agreement published (IM 9)"].detail
    )
    agreements.publish(engine, "service", "1", "服务协议", tenant="default")
    agreements.publish(engine, "privacy", "1", "隐私政策", tenant="default")
    agreements.accept(engine, "default", "u1", "service", None, "chat")
    after = {f.item: f for f in ar.agreements(_ctx(engine))}
    assert [f.verdict for f in after.values()] == [COMPLIANT, COMPLIANT]
    assert "version 1 published" in after["service agreement published (IM 9)"].evidence
    assert "1 acceptance(s)" in after["service agreement published (IM 9)"].evidence
    assert "0 acceptance(s)" in after["privacy policy published (IM 9, PIPL 17)"].evidence


def test_consent_ledger_rederives_every_pool_record(engine: Engine) -> None:
    assert ar.consent_ledger(_ctx(engine)).verdict == COMPLIANT  # nothing collected, nothing unlawful
    record_consent(engine, "default", "u1", True, channel="api", at="2026-01-01T00:00:00.000000Z")
    _pool_record(engine, "u1", "api", "2026-01-02T00:00:00.000000Z")
    ok = ar.consent_ledger(_ctx(engine))
    assert ok.verdict == COMPLIANT and ok.detail.startswith("1 pool record(s) checked"), ok
    # API users are opt-in: a record collected before any consent has no basis
    _pool_record(engine, "u2", "api", "2026-01-02T00:00:00.000000Z")
    bad = ar.consent_ledger(_ctx(engine))
    assert bad.verdict == NON_COMPLIANT and bad.detail.startswith("1 of 2 pool record(s) lack")
    assert "no consent at collection (default:api)" in bad.detail
    # a withdrawal recorded without tombstoning (a ledger edited behind the records room's back)
    from hegui.records.tables_records import ConsentEventRow

    with engine.begin() as conn:
        conn.execute(
            insert(ConsentEventRow).values(
                tenant="default",
                user_id="u1",
                purpose="training",
                granted=False,
                channel="api",
                source="test",
                at="2026-02-01T00:00:00.000000Z",
            )
        )
    worse = ar.consent_ledger(_ctx(engine))
    assert worse.detail.startswith("2 of 2 pool record(s)") and "withdrawn later" in worse.detail


def test_dsr_deadlines(engine: Engine) -> None:
    assert ar.dsr_deadlines(_ctx(engine)).verdict == COMPLIANT
    fresh = dsr.open_request(engine, "default", "u1", "access", received=datetime(2026, 2, 27, tzinfo=UTC))
    on_time = ar.dsr_deadlines(_ctx(engine))
    assert on_time.verdict == COMPLIANT and "1 open (0 overdue on 2026-03-02)" in on_time.detail
    old = dsr.open_request(engine, "default", "u2", "access", received=datetime(2026, 1, 5, tzinfo=UTC))
    late = ar.dsr_deadlines(_ctx(engine))
    assert (
        late.verdict == NON_COMPLIANT and f"dsr-{old.id} (access) open past due {old.due_date}" in late.detail
    )
    dsr.complete_request(engine, Vault(engine, b"k" * 32), old.id)
    answered_late = ar.dsr_deadlines(_ctx(engine))
    assert answered_late.verdict == NON_COMPLIANT and "1 late" in answered_late.detail
    assert fresh.id != old.id
    slow = load_policy(None)
    slow = slow.model_copy(update={"records": slow.records.model_copy(update={"dsr_deadline_days": 20})})
    dsr_policy = ar.dsr_deadlines(_ctx(engine, slow))
    assert "records.dsr_deadline_days = 20 exceeds 15" in dsr_policy.detail


def test_complaint_deadline(engine: Engine) -> None:
    policy = load_policy(None)
    audit = chain_writer(engine)
    assert ar.complaint_sla(_ctx(engine)).verdict == COMPLIANT
    case = open_case(
        engine,
        audit,
        policy.cases,
        Submission("illegal", "违法内容", anonymous=True, url="https://example.cn/x"),
        received=datetime(2026, 1, 5, tzinfo=UTC),
    )
    overdue = ar.complaint_sla(_ctx(engine))
    assert (
        overdue.verdict == NON_COMPLIANT and f"case {case.id} (illegal) unanswered past due" in overdue.detail
    )
    transition(engine, audit, case.id, "triaged", actor="staff")
    transition(engine, audit, case.id, "decided", actor="staff", decision="upheld")
    transition(engine, audit, case.id, "answered", actor="staff", answer="已处理")
    answered = ar.complaint_sla(_ctx(engine))
    assert answered.verdict == NON_COMPLIANT and "1 late" in answered.detail  # answered today, due in January
    long = policy.model_copy(update={"cases": policy.cases.model_copy(update={"deadline_days": 30})})
    assert "deadline (default) = 30 working days exceeds 15" in ar.complaint_sla(_ctx(engine, long)).detail


def _foreign(policy: Policy) -> Policy:
    up = policy.upstreams[0].model_copy(update={"region": "US"})
    return policy.model_copy(update={"upstreams": [up]})


def _person(n: int, sensitive: bool) -> ExportedPerson:
    return ExportedPerson("resident_id" if sensitive else "end_user", f"{n:064x}", sensitive)


def test_cross_border_route(engine: Engine) -> None:
    policy = load_policy(None)
    assert ar.cross_border(_ctx(engine)).verdict == NOT_APPLICABLE
    foreign = _foreign(policy)
    assert ar.cross_border(_ctx(engine, foreign)).verdict == COMPLIANT  # exempt: nobody counted yet
    off = foreign.model_copy(update={"egress": foreign.egress.model_copy(update={"enabled": False})})
    assert "enabled = false" in ar.cross_border(_ctx(engine, off)).detail
    record_export(engine, foreign.egress, [_person(1, False)])
    exempt = ar.cross_border(_ctx(engine, foreign))
    assert exempt.verdict == COMPLIANT and "1 person(s)" in exempt.detail and "route exempt" in exempt.detail
    record_export(engine, foreign.egress, [_person(2, True)])  # one sensitive person: standard contract
    unfiled = ar.cross_border(_ctx(engine, foreign))
    assert unfiled.verdict == NON_COMPLIANT and "route standard_contract" in unfiled.detail
    assert "documents.crossborder_filing" in unfiled.detail
    form = FilingForm.model_validate({"documents": {"crossborder_filing": "粤CAC-SCC-2026-001"}})
    assert ar.cross_border(_ctx(engine, foreign, form)).verdict == COMPLIANT
    # counted persons make it applicable even when every upstream is now domestic
    assert ar.cross_border(_ctx(engine, policy)).verdict == NON_COMPLIANT


@pytest.mark.parametrize(
    ("number", "url", "verdict"),
    [
        ("", "", GAP),
        ("京ICP备00000000号", "", NON_COMPLIANT),
        ("京ICP备00000000号", "https://beian.example", COMPLIANT),
    ],
)
def test_filing_number(number: str, url: str, verdict: str) -> None:
    policy = load_policy(None)
    provider = policy.provider.model_copy(update={"filing_number": number, "filing_url": url})
    assert ar.filing_number_of(policy.model_copy(update={"provider": provider})).verdict == verdict


def test_sanction_records(engine: Engine) -> None:
    policy = load_policy(None)
    kept = ar.sanctions(_ctx(engine))
    assert kept.verdict == COMPLIANT and "0 violation(s)" in kept.detail
    memory = policy.model_copy(
        update={"records": policy.records.model_copy(update={"sanction_store": "memory"})}
    )
    assert ar.sanctions(_ctx(engine, memory)).verdict == NON_COMPLIANT


def test_no_database_names_each_gap() -> None:
    found: list[Finding] = ar.no_database(load_policy(None))
    gaps = [f.item for f in found if f.verdict == GAP]
    assert "complaints answered within the deadline (IM-03)" in gaps
    assert "filing number displayed (DS-04)" in gaps  # the bundled policy has none
    assert all(
        "no records database" in f.detail for f in found if f.item != "filing number displayed (DS-04)"
    )


CHECKS: list[Callable[[ar.RecordsContext], Finding]] = list(ar.PRODUCT_CHECKS)


def test_every_product_check_is_tested() -> None:
    tested = {"consent_ledger", "dsr_deadlines", "complaint_sla", "cross_border", "filing_number"}
    assert {c.__name__ for c in CHECKS} == tested
