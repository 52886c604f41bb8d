"""Data-subject requests: working-day deadlines, the four kinds, overdue list, audit entries."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hegui.errors import RecordNotFound, RequestError
from hegui.records.audit import find_by_request, verify_chain
from hegui.records.config import RecordsPolicy
from hegui.records.consent import consent_at
from hegui.records.conversations import ciphertexts_of, store_turn
from hegui.records.dsr import add_working_days, complete_request, get, list_requests, open_request
from hegui.records.export import check_export, export_pool
from hegui.records.pool import admit_to_pool
from hegui.records.vault import Vault


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # National Day 2025: 1–8 Oct off; Sun 28 Sep and Sat 11 Oct are adjusted working days.
        (date(2025, 9, 26), 15, date(2025, 10, 23)),
        (date(2025, 9, 30), 1, date(2025, 10, 9)),
        (date(2025, 10, 10), 1, date(2025, 10, 11)),
        # Spring Festival 2025: 28 Jan – 4 Feb off; Sun 26 Jan a working day.
        (date(2025, 1, 24), 3, date(2025, 2, 5)),
        # An ordinary fortnight: 15 working days = three weeks.
        (date(2025, 3, 3), 15, date(2025, 3, 24)),
    ],
)
def test_deadlines_on_the_chinese_working_day_calendar(start: date, days: int, due: date) -> None:
    assert add_working_days(start, days) == due


def test_a_year_without_calendar_data_counts_weekdays_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    """A request is never refused for want of calendar data; holidays only move deadlines later, so a
    Monday-to-Friday count errs early."""
    with caplog.at_level("WARNING"):
        assert add_working_days(date(2099, 1, 2), 15) == date(2099, 1, 23)  # Fri 2 Jan + 15 weekdays
    assert "no holiday data for 2099" in caplog.text
    # Across the year boundary: the known year keeps its holidays, the unknown one counts weekdays.
    assert add_working_days(date(2026, 12, 24), 10) == date(2027, 1, 7)


def _setup(engine: Engine) -> Vault:
    v = Vault(engine, os.urandom(32))
    store_turn(
        engine,
        v,
        tenant="t",
        user="u",
        session="s",
        request_id="r1",
        role="user",
        text="我想咨询一下退货流程",
    )
    admit_to_pool(
        engine,
        RecordsPolicy(),
        tenant="t",
        user="u",
        channel="chat",
        request_id="r1",
        prompt="我想咨询一下退货流程",
        answer="好的，退货流程如下",
        input_action="allow",
        output_action="allow",
    )
    return v


def test_access_then_deletion(engine: Engine, tmp_path: Path) -> None:
    v = _setup(engine)
    export_pool(engine, tmp_path / "before")
    access = open_request(engine, "t", "u", "access")
    _, copy = complete_request(engine, v, access.id)
    assert [c["text"] for c in copy["conversations"]] == ["我想咨询一下退货流程"]
    assert len(copy["training_pool"]) == 1
    deletion = open_request(engine, "t", "u", "deletion")
    closed, result = complete_request(engine, v, deletion.id)
    assert closed.status == "done" and result == {
        "key_shredded": True,
        "turns_deleted": 1,
        "pool_tombstoned": 1,
    }
    assert ciphertexts_of(engine, "t", "u") == []
    again = open_request(engine, "t", "u", "access")
    _, empty = complete_request(engine, Vault(engine, os.urandom(32)), again.id)
    assert empty["conversations"] == [] and empty["training_pool"] == []
    assert [f.reason for f in check_export(engine, tmp_path / "before").flagged] == ["deleted"]
    assert consent_at(engine, RecordsPolicy(), "t", "u", "chat").granted is False
    actions = [e.action for e in find_by_request(engine, f"dsr-{deletion.id}")]
    assert actions == ["dsr-open", "dsr-done"]
    verify_chain(engine)
    with pytest.raises(RequestError, match="already done"):
        complete_request(engine, v, deletion.id)


def test_withdrawal_and_correction(engine: Engine) -> None:
    v = _setup(engine)
    w = open_request(engine, "t", "u", "withdrawal")
    _, result = complete_request(engine, v, w.id)
    assert result["pool_tombstoned"] == 1
    c = open_request(engine, "t", "u", "correction", detail={"field": "name"})
    with pytest.raises(RequestError, match="resolution"):
        complete_request(engine, v, c.id)
    closed, _ = complete_request(engine, v, c.id, resolution="name corrected in the CRM")
    assert closed.outcome == {"resolution": "name corrected in the CRM"}


def test_overdue_and_validation(engine: Engine) -> None:
    old = open_request(engine, "t", "u", "access", received=datetime(2025, 9, 26, 3, tzinfo=UTC))
    new = open_request(engine, "t", "u", "access")
    assert old.due_date == "2025-10-23"
    assert [r.id for r in list_requests(engine, overdue_on=date(2025, 10, 24))] == [old.id]
    assert list_requests(engine, overdue_on=date(2025, 10, 23)) == []
    assert {r.id for r in list_requests(engine, status="open")} == {old.id, new.id}
    with pytest.raises(RequestError):
        open_request(engine, "t", "u", "forget-me")
    with pytest.raises(RecordNotFound):
        get(engine, 9999)
