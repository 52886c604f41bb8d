"""Cases: validation, deadlines on the Chinese working-day calendar, the state machine, the audit trail,
overdue queries and metrics; on SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine

from hegui.cases import store
from hegui.cases.config import CasesPolicy
from hegui.cases.evidence import check_evidence
from hegui.cases.metrics import CasesCollector
from hegui.cases.store import Submission
from hegui.errors import PayloadTooLarge, RequestError, UnsupportedMediaType
from hegui.records.audit import find_by_request, verify_chain

POLICY = CasesPolicy()


def _open(engine: Engine, kind: str = "illegal", at: datetime | None = None, **kw: object) -> store.Case:
    sub = Submission(kind=kind, description=kw.pop("description", "违法内容"), **kw)  # type: ignore[arg-type]
    return store.open_case(engine, store.chain_writer(engine), POLICY, sub, received=at)


@pytest.mark.parametrize(
    ("received", "kind", "policy", "due"),
    [
        # Monday before National Day 2025 (1–8 Oct off; Sun 28 Sep and Sat 11 Oct are working days)
        (datetime(2025, 9, 29, 2, tzinfo=UTC), "illegal", POLICY, "2025-10-27"),
        (datetime(2025, 9, 30, 3, tzinfo=UTC), "illegal", POLICY, "2025-10-28"),
        # 20:00 UTC Saturday is 04:00 Sunday (a make-up working day) in Beijing: counted from Sunday
        (datetime(2025, 9, 27, 20, tzinfo=UTC), "illegal", POLICY, "2025-10-24"),
        (datetime(2025, 9, 27, 10, tzinfo=UTC), "illegal", POLICY, "2025-10-23"),
        # per-kind deadline
        (
            datetime(2025, 9, 29, 2, tzinfo=UTC),
            "ip",
            CasesPolicy(deadline_days_by_kind={"ip": 5}),
            "2025-10-13",
        ),
        (
            datetime(2025, 9, 29, 2, tzinfo=UTC),
            "other",
            CasesPolicy(deadline_days_by_kind={"ip": 5}),
            "2025-10-27",
        ),
    ],
)
def test_due_date_on_the_working_day_calendar(
    received: datetime, kind: str, policy: CasesPolicy, due: str
) -> None:
    at = received.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert store.due_date(policy, kind, at).isoformat() == due


def test_case_before_national_day_is_stored_with_its_due_date(engine: Engine) -> None:
    case = _open(engine, at=datetime(2025, 9, 29, 2, tzinfo=UTC), produce_id="chatcmpl-1", anonymous=True)
    assert (case.state, case.due_date, case.anonymous) == ("received", "2025-10-27", True)
    assert store.by_receipt(engine, case.receipt.lower()) == case
    assert case.overdue_on(date(2025, 10, 27)) is False
    assert case.overdue_on(date(2025, 10, 28)) is True
    assert [c.id for c in store.overdue(engine, date(2025, 10, 28))] == [case.id]
    assert store.overdue(engine, date(2025, 10, 27)) == []


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"kind": "nonsense", "produce_id": "x"}, "kind"),
        ({"kind": "illegal", "description": "  ", "produce_id": "x"}, "description"),
        ({"kind": "ip", "produce_id": "x"}, "reporter_contact"),
        (
            {"kind": "ip", "produce_id": "x", "reporter_contact": "a@b.c", "anonymous": True},
            "reporter_contact",
        ),
        ({"kind": "personal_info", "produce_id": "x"}, "reporter_contact"),
        ({"kind": "illegal"}, "produce_id"),
        ({"kind": "illegal", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "appeal", "reporter_contact": "a@b.c", "produce_id": "x"}, "user"),
    ],
)
def test_invalid_submissions_are_refused(engine: Engine, fields: dict[str, object], param: str) -> None:
    with pytest.raises(RequestError) as err:
        _open(engine, **fields)  # type: ignore[arg-type]
    assert err.value.param == param


def test_anonymous_illegal_report_keeps_no_contact(engine: Engine) -> None:
    case = _open(engine, produce_id="p", anonymous=True, reporter_name="张三", reporter_contact="138")
    assert (case.reporter_name, case.reporter_contact) == ("", "")
    ip = _open(engine, kind="ip", produce_id="p", reporter_name="李四", reporter_contact="li@example.com")
    assert ip.reporter_contact == "li@example.com"


def test_state_machine_and_audit_trail(engine: Engine) -> None:
    w = store.chain_writer(engine)
    case = _open(engine, produce_id="chatcmpl-9", user="u1")
    with pytest.raises(RequestError, match="can move to triaged, not decided"):
        store.transition(engine, w, case.id, "decided", actor="staff:a", decision="upheld")
    store.transition(engine, w, case.id, "triaged", actor="staff:a")
    with pytest.raises(RequestError, match="decision must be"):
        store.transition(engine, w, case.id, "decided", actor="staff:a")
    store.transition(engine, w, case.id, "decided", actor="staff:a", decision="upheld")
    store.transition(engine, w, case.id, "acted", actor="staff:a")
    with pytest.raises(RequestError, match="answer"):
        store.transition(engine, w, case.id, "answered", actor="staff:a")
    answered = store.transition(engine, w, case.id, "answered", actor="staff:a", answer="已下架 / removed")
    assert answered.answered_at is not None and answered.answer == "已下架 / removed"
    store.transition(engine, w, case.id, "closed", actor="staff:a")
    with pytest.raises(RequestError, match="why"):
        store.transition(engine, w, case.id, "triaged", actor="staff:b")
    reopened = store.transition(engine, w, case.id, "triaged", actor="staff:b", reason="新证据")
    assert (reopened.state, reopened.closed_at) == ("triaged", None)
    store.add_note(engine, w, case.id, "联系人 13800138000", actor="staff:b")
    evs = store.events(engine, case.id)
    assert [e.event for e in evs] == [
        "received",
        "triaged",
        "decided",
        "acted",
        "answered",
        "closed",
        "reopened",
        "case-note",
    ]
    assert evs[-1].detail == {"note": "联系人 13800138000"}
    trail = find_by_request(engine, f"case-{case.id}")
    assert [e.action for e in trail] == [
        "case-received",
        "case-triaged",
        "case-decided",
        "case-acted",
        "case-answered",
        "case-closed",
        "case-reopened",
        "case-note",
    ]
    assert all(e.stage == "cases" and e.end_user == "u1" for e in trail)
    assert "13800138000" not in trail[-1].detail and json.loads(trail[-1].detail)["chars"] == 15
    assert json.loads(trail[6].detail)["reason"] == "新证据"
    assert verify_chain(engine).entries == len(trail)


def test_decided_may_be_answered_without_action(engine: Engine) -> None:
    w = store.chain_writer(engine)
    case = _open(engine, url="https://example.com/x")
    store.transition(engine, w, case.id, "triaged", actor="s")
    store.transition(engine, w, case.id, "decided", actor="s", decision="rejected")
    done = store.transition(engine, w, case.id, "answered", actor="s", answer="不成立")
    assert (done.state, done.decision) == ("answered", "rejected")


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20


def test_evidence_is_typed_by_content_and_bounded(engine: Engine) -> None:
    small = CasesPolicy(evidence_max_bytes=1024, evidence_max_files=2)
    ev = check_evidence(small, [("C:\\shots\\a.png", PNG), ("note.txt", "截图说明".encode()), ("empty", b"")])
    assert [(e.filename, e.media_type) for e in ev] == [("a.png", "image/png"), ("note.txt", "text/plain")]
    with pytest.raises(PayloadTooLarge, match="over the limit of 1024 bytes"):
        check_evidence(small, [("big.png", PNG + b"\0" * 1024)])
    with pytest.raises(UnsupportedMediaType, match="not an accepted file type"):
        check_evidence(small, [("x.png", b"MZ\x90\x00 an exe")])
    with pytest.raises(RequestError, match="at most 2"):
        check_evidence(small, [("a", b"a"), ("b", b"b"), ("c", b"c")])
    case = _open(engine, evidence=ev)
    info = store.evidence_of(engine, case.id)
    assert [(i.filename, i.size) for i in info] == [("a.png", len(PNG)), ("note.txt", 12)]
    meta, data = store.evidence_data(engine, case.id, info[0].id)
    assert data == PNG and meta.media_type == "image/png"


def test_metrics_open_overdue_and_time_to_answer(engine: Engine) -> None:
    w = store.chain_writer(engine)
    late = _open(engine, produce_id="a", at=datetime(2025, 9, 29, 2, tzinfo=UTC))
    _open(engine, kind="rumour", produce_id="b", at=datetime(2025, 10, 27, 2, tzinfo=UTC))
    done = _open(engine, produce_id="c")
    for to, kw in (("triaged", {}), ("decided", {"decision": "rejected"}), ("answered", {"answer": "x"})):
        store.transition(engine, w, done.id, to, actor="s", **kw)
    reg = CollectorRegistry()
    reg.register(CasesCollector(engine, today=lambda: date(2025, 10, 28)))
    text = generate_latest(reg).decode()
    assert 'hegui_cases_open{kind="illegal"} 1.0' in text
    assert 'hegui_cases_open{kind="rumour"} 1.0' in text
    assert 'hegui_cases_overdue{kind="illegal"} 1.0' in text
    assert 'hegui_cases_overdue{kind="rumour"} 0.0' in text
    assert 'hegui_cases_time_to_answer_hours_count{kind="illegal"} 1.0' in text
    assert 'hegui_cases_time_to_answer_hours_bucket{kind="illegal",le="1"} 1.0' in text
    assert late.id != done.id


def test_policy_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        CasesPolicy(deadline_days_by_kind={"spam": 3})
