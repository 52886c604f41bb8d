"""Egress records on SQLite and PostgreSQL: separate consents (XB-02), distinct persons per calendar
year (XB-01) across the year boundary and at the thresholds, alerts in the audit chain, the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine

from hegui.errors import RecordNotFound, RequestError
from hegui.guard.egress import EgressPolicy, ExportedPerson
from hegui.records import egress as eg
from hegui.records.audit import iter_entries, verify_chain

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
SMALL = EgressPolicy(
    standard_contract_persons=5,
    assessment_persons=10,
    sensitive_contract_persons=1,
    assessment_sensitive_persons=3,
)


def person(n: int, kind: str = "mobile", sensitive: bool = False) -> ExportedPerson:
    return ExportedPerson(kind, f"{n:064x}", sensitive)


def consent(engine: Engine, user: str = "u1", upstream: str = "*", at: datetime = AT) -> eg.SeparateConsent:
    return eg.add_consent(
        engine,
        "t",
        user,
        recipient="Example Model Inc.",
        contact="privacy@example.com",
        purpose="answer the user's questions",
        method="HTTPS API, pseudonymized",
        data_types=["prompt text", "phone number"],
        rights_process="write to privacy@example.com; 15 working days",
        upstream=upstream,
        at=at,
    )


def test_consent_add_list_revoke_and_state_over_time(engine: Engine) -> None:
    c = consent(engine, upstream="openai-us")
    assert (
        c.active and c.data_types == ("prompt text", "phone number") and c.recipient == "Example Model Inc."
    )
    later = AT + timedelta(days=1)
    assert eg.has_separate_consent(engine, "t", "u1", "openai-us", at=later)
    assert not eg.has_separate_consent(engine, "t", "u1", "other-upstream", at=later)
    assert not eg.has_separate_consent(engine, "t", "u1", "openai-us", at=AT - timedelta(seconds=1))
    assert not eg.has_separate_consent(engine, "t", "u2", "openai-us", at=later)
    revoked = eg.revoke_consent(engine, c.id, at=AT + timedelta(days=2))
    assert not revoked.active
    assert eg.has_separate_consent(engine, "t", "u1", "openai-us", at=later)  # the past is kept
    assert not eg.has_separate_consent(engine, "t", "u1", "openai-us", at=AT + timedelta(days=3))
    wildcard = consent(engine, user="u2")
    assert eg.has_separate_consent(engine, "t", "u2", "anything", at=later)
    assert [x.id for x in eg.list_consents(engine, tenant="t")] == [c.id, wildcard.id]
    assert [x.user for x in eg.list_consents(engine, user="u2")] == ["u2"]
    with pytest.raises(RecordNotFound):
        eg.revoke_consent(engine, 999_999)


@pytest.mark.parametrize(
    "missing", ["recipient", "contact", "purpose", "method", "rights_process", "data_types"]
)
def test_consent_needs_every_pipl39_item(engine: Engine, missing: str) -> None:
    fields: dict[str, object] = {
        "recipient": "R",
        "contact": "c@example.com",
        "purpose": "p",
        "method": "m",
        "rights_process": "r",
        "data_types": ["x"],
    }
    fields[missing] = [] if missing == "data_types" else "  "
    with pytest.raises(RequestError, match="data type" if missing == "data_types" else missing):
        eg.add_consent(engine, "t", "u", **fields)  # type: ignore[arg-type]


def test_distinct_persons_per_year_and_the_year_boundary(engine: Engine) -> None:
    cfg = EgressPolicy()
    eve = datetime(2025, 12, 31, 23, 59, tzinfo=SHANGHAI)
    new_year = datetime(2026, 1, 1, 0, 0, 1, tzinfo=SHANGHAI)  # still 2025-12-31 in UTC
    t1 = eg.record_export(engine, cfg, [person(1), person(2)], at=eve)
    t2 = eg.record_export(engine, cfg, [person(1), person(2)], at=eve + timedelta(seconds=10))
    t3 = eg.record_export(engine, cfg, [person(1), person(3, "resident_id", True)], at=new_year)
    assert (t1.year, t1.persons, t1.new_persons) == (2025, 2, 2)
    assert (t2.year, t2.persons, t2.new_persons) == (2025, 2, 0)
    assert (t3.year, t3.persons, t3.sensitive_persons, t3.new_persons) == (2026, 1, 1, 2)
    assert eg.year_counts(engine, 2025) == (2, 0) and eg.year_counts(engine, 2026) == (1, 1)
    assert eg.counting_year(EgressPolicy(year_timezone="UTC"), new_year) == 2025


def test_end_user_with_sensitive_cue_counts_in_both(engine: Engine) -> None:
    t = eg.record_export(engine, EgressPolicy(), [person(7, "end_user", True)], at=AT)
    assert (t.persons, t.sensitive_persons) == (1, 1)
    t = eg.record_export(
        engine, EgressPolicy(), [person(8, "resident_id", False), person(8, "resident_id", True)], at=AT
    )
    assert (t.persons, t.sensitive_persons) == (2, 2)  # a person first seen non-sensitive is upgraded


def test_thresholds_and_routes_at_the_boundaries(engine: Engine) -> None:
    levels = eg.thresholds(SMALL)
    assert levels["persons"] == [
        ("warn_standard_contract", 4),
        ("standard_contract", 5),
        ("warn_security_assessment", 8),
        ("security_assessment", 10),
    ]
    assert levels["sensitive"] == [("standard_contract", 1), ("security_assessment", 3)]
    seen: list[tuple[int, str, tuple[str, ...]]] = []
    for n in range(1, 11):
        t = eg.record_export(engine, SMALL, [person(n)], at=AT)
        seen.append((t.persons, t.route, tuple(a.level for a in t.alerts)))
    assert seen == [
        (1, "exempt", ()),
        (2, "exempt", ()),
        (3, "exempt", ()),
        (4, "exempt", ("warn_standard_contract",)),
        (5, "standard_contract", ("standard_contract",)),
        (6, "standard_contract", ()),
        (7, "standard_contract", ()),
        (8, "standard_contract", ("warn_security_assessment",)),
        (9, "standard_contract", ()),
        (10, "security_assessment", ("security_assessment",)),
    ]
    t = eg.record_export(engine, SMALL, [person(100, "bank_card", True)], at=AT)
    assert (t.sensitive_persons, t.route, [a.counter for a in t.alerts]) == (
        1,
        "security_assessment",
        ["sensitive"],
    )


@pytest.mark.parametrize(
    ("persons", "sensitive", "route"),
    [
        (99_999, 0, "exempt"),
        (100_000, 0, "standard_contract"),
        (999_999, 0, "standard_contract"),
        (1_000_000, 0, "security_assessment"),
        (0, 1, "standard_contract"),
        (0, 9_999, "standard_contract"),
        (0, 10_000, "security_assessment"),
    ],
)
def test_default_routes_follow_the_dcb(persons: int, sensitive: int, route: str) -> None:
    assert eg.route_for(EgressPolicy(), persons, sensitive) == route


def test_alerts_are_audited_once_and_the_chain_verifies(engine: Engine) -> None:
    for n in range(1, 7):
        eg.record_export(engine, SMALL, [person(n)], at=AT, request_id=f"r{n}", policy_version="p1")
    entries = [e for e in iter_entries(engine) if e.stage == "egress"]
    details = [json.loads(e.detail) for e in entries]
    assert [(d["level"], d["count"]) for d in details] == [
        ("warn_standard_contract", 4),
        ("standard_contract", 5),
    ]
    assert [e.request_id for e in entries] == ["r4", "r5"] and all(e.action == "alert" for e in entries)
    assert verify_chain(engine).entries == 2  # raises AuditChainBroken if any entry does not verify
    assert len(eg.alerts(engine, 2026)) == 2 and eg.alerts(engine, 2025) == []


def test_report_json_and_markdown(engine: Engine) -> None:
    consent(engine)
    eg.record_export(engine, SMALL, [person(1, "end_user"), person(2, "resident_id", True)], at=AT)
    report = eg.crossborder_report(engine, SMALL, year=2026, provider="Demo Co")
    data: dict[str, Any] = report.to_json()
    assert data["persons_non_sensitive"] == 1 and data["persons_sensitive"] == 1
    assert data["route"] == "standard_contract" and data["persons_by_kind"] == {
        "end_user": 1,
        "resident_id": 1,
    }
    assert data["separate_consents_active"] == 1 and data["recipients"] == ["Example Model Inc."]
    assert [a["level"] for a in data["alerts"]] == ["standard_contract"]
    json.dumps(data)
    md = report.to_markdown()
    assert "# Cross-border transfer report 2026" in md and "**Route: standard_contract.**" in md
    assert "| Sensitive personal information | 1 |" in md and "10 working days" in md
    empty = eg.crossborder_report(engine, SMALL, year=2024)
    assert (empty.persons, empty.route, empty.alerts) == (0, "exempt", ())
