"""Actions of a decision: takedown by ProduceID, sanction and lift, the model-improvement queue and the
report to the authority; each recorded on the case and in the audit chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from hegui.cases import actions, store
from hegui.cases.config import CasesPolicy
from hegui.cases.store import Submission
from hegui.errors import PermissionDenied, RequestError
from hegui.guard.sanctions import SanctionLadder, SanctionPolicy
from hegui.records.audit import AuditDraft, find_by_request, verify_chain
from hegui.records.config import RecordsPolicy
from hegui.records.consent import record_consent
from hegui.records.conversations import store_turn, turns_of
from hegui.records.pool import admit_to_pool, pool_size
from hegui.records.sanctions_store import DbSanctionStore
from hegui.records.tables_records import PoolTombstoneRow
from hegui.records.vault import Vault

PID = "chatcmpl-takedown-1"


@pytest.fixture
def vault(engine: Engine) -> Vault:
    return Vault(engine, os.urandom(32))


def _seed(engine: Engine, vault: Vault) -> None:
    """One stored exchange (prompt and answer) under PID, admitted to the pool, and another one."""
    record_consent(engine, "t", "u1", True, channel="api", source="test")
    for rid, prompt in (
        (PID, "写一段关于海边日落的短文，要有画面感"),
        ("chatcmpl-other", "请介绍一下苏州园林的历史渊源"),
    ):
        store_turn(
            engine, vault, tenant="t", user="u1", session="s", request_id=rid, role="user", text=prompt
        )
        store_turn(
            engine,
            vault,
            tenant="t",
            user="u1",
            session="s",
            request_id=rid,
            role="assistant",
            text="答：" + prompt,
        )
        adm = admit_to_pool(
            engine,
            RecordsPolicy(),
            tenant="t",
            user="u1",
            channel="api",
            request_id=rid,
            prompt=prompt,
            answer="答：" + prompt,
            input_action="allow",
            output_action="allow",
        )
        assert adm.admitted, adm


def _case(engine: Engine) -> store.Case:
    sub = Submission(kind="illegal", description="生成了违法内容", produce_id=PID, user="u1", anonymous=True)
    return store.open_case(engine, store.chain_writer(engine), CasesPolicy(), sub, tenant="t")


def test_takedown_erases_tombstones_and_resolves_removed(engine: Engine, vault: Vault) -> None:
    _seed(engine, vault)
    w = store.chain_writer(engine)
    case = _case(engine)
    assert actions.resolve(engine, PID).status == "unknown"  # no audit entry for it in this test
    item = actions.queue_improvement(
        engine, w, vault, PID, tenant="t", category="A.1h", by="staff:a", case_id=case.id
    )
    assert (item.prompt, item.answer) == (
        "写一段关于海边日落的短文，要有画面感",
        "答：写一段关于海边日落的短文，要有画面感",
    )
    done = actions.take_down(engine, w, PID, tenant="t", by="staff:a", reason="违法内容", case_id=case.id)
    assert (done.turns_erased, done.pool_tombstoned) == (2, 1)
    assert [t.request_id for t in turns_of(engine, vault, "t", "u1")] == ["chatcmpl-other"] * 2
    assert pool_size(engine, "t") == 1
    with engine.connect() as conn:
        reasons = conn.execute(
            select(PoolTombstoneRow.reason, func.count()).group_by(PoolTombstoneRow.reason)
        ).all()
    assert [tuple(r) for r in reasons] == [("takedown", 1)]
    status = actions.resolve(engine, PID)
    assert (status.status, status.removed_at) == ("removed", done.at)
    assert actions.resolve(engine, "chatcmpl-other").status == "unknown"
    with pytest.raises(RequestError, match="already taken down"):
        actions.take_down(engine, w, PID, tenant="t", by="staff:a", reason="again")
    trail = find_by_request(engine, PID)
    assert [e.action for e in trail] == ["improve-queue", "takedown"]
    assert json.loads(trail[1].detail)["turns_erased"] == 2 and trail[1].end_user == "u1"
    assert [e.event for e in store.events(engine, case.id)] == ["received", "improve-queue", "takedown"]
    # the queued item outlives the takedown and exports as JSON Lines
    lines = actions.export_improvements(engine, tenant="t").splitlines()
    assert [json.loads(x)["produce_id"] for x in lines] == [PID]
    verify_chain(engine)


def test_improvement_without_stored_turns_says_so(engine: Engine, vault: Vault) -> None:
    item = actions.queue_improvement(
        engine, store.chain_writer(engine), vault, "nope", tenant="t", category="A.2a", by="s"
    )
    assert (item.prompt, item.note) == ("", "no stored turns for this ProduceID")


def test_sanction_and_lift_on_appeal(engine: Engine) -> None:
    w = store.chain_writer(engine)
    ladder, sanctions = SanctionLadder(SanctionPolicy()), DbSanctionStore(engine)
    case = _case(engine)
    now = datetime(2026, 11, 30, 3, tzinfo=UTC)
    out = actions.sanction(
        engine,
        w,
        ladder,
        sanctions,
        tenant="t",
        user="u1",
        level="suspend",
        by="staff:a",
        reason="违法",
        case_id=case.id,
        now=now,
    )
    assert (out["previous"], out["level"]) == ("none", "suspend")
    assert not ladder.standing(sanctions, "t", "u1", now).may_use
    lifted = actions.sanction(
        engine,
        w,
        ladder,
        sanctions,
        tenant="t",
        user="u1",
        level="none",
        by="staff:b",
        reason="申诉成立",
        now=now,
    )
    assert (lifted["previous"], lifted["level"]) == ("suspend", "none")
    assert ladder.standing(sanctions, "t", "u1", now).may_use
    with pytest.raises(RequestError, match="level must be"):
        actions.sanction(engine, w, ladder, sanctions, tenant="t", user="u1", level="ban", by="s", reason="r")
    assert [e.event for e in store.events(engine, case.id)] == ["received", "sanction"]
    verify_chain(engine)


def test_authority_report_is_recorded_and_exported(engine: Engine) -> None:
    w = store.chain_writer(engine)
    case = _case(engine)
    rep = actions.record_authority_report(
        engine,
        w,
        tenant="t",
        authority="网信办举报中心",
        reference="JB-2026-001",
        summary="已报告",
        by="staff:a",
        reported_at="2026-11-30T03:00:00Z",
        case_id=case.id,
    )
    with pytest.raises(RequestError, match="ISO-8601"):
        actions.record_authority_report(
            engine, w, tenant="t", authority="x", reference="", summary="y", by="s", reported_at="tomorrow"
        )
    doc = actions.export_authority_report(engine, rep.id)
    assert doc["report"]["reference"] == "JB-2026-001" and doc["case"]["produce_id"] == PID
    assert "reporter_contact" not in json.dumps(doc)
    assert [a["event"] for a in doc["actions"]] == ["authority-rpt"]
    assert [e.action for e in find_by_request(engine, f"authority-{rep.id}")] == ["authority-rpt"]


def test_refutation_is_published_and_audited(engine: Engine) -> None:
    w = store.chain_writer(engine)
    sub = Submission(
        kind="rumour", description="网传某地发生地震", url="https://example.com/rumour", anonymous=True
    )
    case = store.open_case(engine, w, CasesPolicy(), sub)
    with pytest.raises(RequestError, match="body"):
        actions.publish_refutation(engine, w, tenant="default", title="t", body=" ", by="s")
    ref = actions.publish_refutation(
        engine,
        w,
        tenant="default",
        title="关于地震传言的说明",
        body="经核实，该传言不实。",
        by="staff:a",
        case_id=case.id,
    )
    actions.publish_refutation(engine, w, tenant="other", title="x", body="y", by="s")
    assert [r.title for r in actions.refutations(engine, tenant="default")] == ["关于地震传言的说明"]
    assert [e.action for e in find_by_request(engine, f"refutation-{ref.id}")] == ["refutation"]
    assert [e.event for e in store.events(engine, case.id)] == ["received", "refutation"]


def test_takedown_acts_on_the_content_owners_records(engine: Engine, vault: Vault) -> None:
    """Content made for tenant "acme" is taken down by the provider's staff (tenant default), whose
    public complaints they handle; another tenant's staff may not touch it."""
    w = store.chain_writer(engine)
    w(
        AuditDraft(
            request_id="chatcmpl-acme",
            stage="output",
            action="allow",
            policy_version="",
            content_hash="",
            tenant="acme",
        )
    )
    store_turn(
        engine,
        vault,
        tenant="acme",
        user="a1",
        session=None,
        request_id="chatcmpl-acme",
        role="assistant",
        text="答",
    )
    with pytest.raises(PermissionDenied, match="another tenant"):
        actions.take_down(engine, w, "chatcmpl-acme", tenant="beta", by="s", reason="r")
    assert actions.resolve(engine, "chatcmpl-acme").status == "active"
    done = actions.take_down(engine, w, "chatcmpl-acme", tenant="default", by="s", reason="r")
    assert (done.tenant, done.turns_erased) == ("acme", 1)
    assert turns_of(engine, vault, "acme", "a1") == []
    assert json.loads(find_by_request(engine, "chatcmpl-acme")[-1].detail)["content_tenants"] == ["acme"]
