"""Cases: opening a complaint, its state machine, notes, queries; every change audited.

States, in order: received → triaged → decided → acted → answered → closed. ``decided`` may go straight
to ``answered`` (a decision that needs no action, e.g. a complaint rejected); ``answered`` and ``closed``
may be reopened (back to ``triaged``). Any other move is refused. A case is due ``deadline_for(kind)``
working days after the day it was received (Chinese calendar, `hegui.records.dsr.add_working_days`);
it is overdue while it is not answered after its due date.

Each change is written to the case's own events and, in the same call, to the audit chain through the
writer the caller passes (the gateway's group-committing `AuditLog.append_sync`, or `chain_writer`).
The audit detail names kinds, states and actors, never the complainant's contact or text.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from hegui.cases.config import CONTACT_REQUIRED, KINDS, CasesPolicy
from hegui.cases.evidence import Evidence
from hegui.cases.tables import CaseEventRow, CaseEvidenceRow, CaseRow
from hegui.errors import RecordNotFound, RequestError
from hegui.records.audit import AuditDraft, utc_now, write_batch
from hegui.records.dsr import add_working_days

STATES: tuple[str, ...] = ("received", "triaged", "decided", "acted", "answered", "closed")
OPEN_STATES: tuple[str, ...] = ("received", "triaged", "decided", "acted")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("triaged",),
    "triaged": ("decided",),
    "decided": ("acted", "answered"),
    "acted": ("answered",),
    "answered": ("closed", "triaged"),
    "closed": ("triaged",),
}
DECISIONS: tuple[str, ...] = ("upheld", "partly_upheld", "rejected", "referred")

#: Writes one audit entry and returns once it is durable.
Auditor = Callable[[AuditDraft], object]


def chain_writer(engine: Engine) -> Auditor:
    """An `Auditor` that writes straight to the chain (CLI, tests); the gateway passes its `AuditLog`."""

    def write(draft: AuditDraft) -> object:
        return write_batch(engine, [draft])[0]

    return write


@dataclass(frozen=True, slots=True)
class Submission:
    """What a complainant sends."""

    kind: str
    description: str
    reporter_name: str = ""
    reporter_contact: str = ""
    anonymous: bool = False
    produce_id: str = ""
    user: str = ""
    url: str = ""
    evidence: Sequence[Evidence] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    receipt: str
    tenant: str
    kind: str
    state: str
    anonymous: bool
    reporter_name: str
    reporter_contact: str
    produce_id: str
    user: str
    url: str
    description: str
    assignee: str
    decision: str
    answer: str
    received_at: str
    due_date: str
    answered_at: str | None
    closed_at: str | None
    updated_at: str

    def overdue_on(self, day: date) -> bool:
        return self.state in OPEN_STATES and self.due_date < day.isoformat()


@dataclass(frozen=True, slots=True)
class CaseEvent:
    id: int
    at: str
    actor: str
    event: str
    from_state: str
    to_state: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EvidenceInfo:
    id: int
    filename: str
    media_type: str
    size: int
    sha256: str
    at: str


_C = CaseRow
_CASE = select(
    _C.id,
    _C.receipt,
    _C.tenant,
    _C.kind,
    _C.state,
    _C.anonymous,
    _C.reporter_name,
    _C.reporter_contact,
    _C.subject_produce_id,
    _C.subject_user,
    _C.subject_url,
    _C.description,
    _C.assignee,
    _C.decision,
    _C.answer,
    _C.received_at,
    _C.due_date,
    _C.answered_at,
    _C.closed_at,
    _C.updated_at,
)


def _case(r: Any) -> Case:
    return Case(*r)


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("a case's time must carry its time zone")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def china_day(at: str) -> date:
    """The calendar day in China of a UTC timestamp: a complaint sent at 01:00 Beijing time on a
    Monday was received on Monday, although it is still Sunday in UTC."""
    return (datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ") + timedelta(hours=8)).date()


def due_date(policy: CasesPolicy, kind: str, received_at: str) -> date:
    return add_working_days(china_day(received_at), policy.deadline_for(kind))


def _new_receipt(at: str) -> str:
    # 50 random bits: the receipt is what lets its holder follow the case, so it must not be guessable.
    return f"{at[:4]}{at[5:7]}{at[8:10]}-{secrets.token_hex(5).upper()}"


def _clean(value: str, name: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise RequestError(f"{name} is longer than {limit} characters", param=name)
    return value


def validate(sub: Submission) -> Submission:
    """The submission with its fields trimmed; RequestError (bilingual) names what is missing."""
    if sub.kind not in KINDS:
        raise RequestError(f"kind must be one of {', '.join(KINDS)} / 请选择投诉类型", param="kind")
    desc = _clean(sub.description, "description", 10_000)
    if not desc:
        raise RequestError("describe the complaint / 请填写投诉内容", param="description")
    name = _clean(sub.reporter_name, "reporter_name", 256)
    contact = _clean(sub.reporter_contact, "reporter_contact", 256)
    anonymous = sub.anonymous
    if sub.kind in CONTACT_REQUIRED:
        if anonymous or not contact:
            raise RequestError(
                "this kind of complaint needs your contact (it is handled on your own right) / "
                "此类投诉须留下联系方式",
                param="reporter_contact",
            )
    elif anonymous:
        name, contact = "", ""
    produce_id = _clean(sub.produce_id, "produce_id", 128)
    user = _clean(sub.user, "user", 256)
    url = _clean(sub.url, "url", 2048)
    if url and not url.lower().startswith(("http://", "https://")):
        raise RequestError("the URL must start with http:// or https:// / 链接格式不正确", param="url")
    if not (produce_id or user or url or sub.evidence):
        raise RequestError(
            "name what the complaint is about: a ProduceID, a user, a URL or evidence / 请填写投诉对象",
            param="produce_id",
        )
    if sub.kind == "appeal" and not user:
        raise RequestError("an appeal names the user account it is about / 申诉须填写用户账号", param="user")
    return Submission(sub.kind, desc, name, contact, anonymous, produce_id, user, url, tuple(sub.evidence))


def _draft(case: Case, action: str, actor: str, detail: dict[str, Any], policy_version: str) -> AuditDraft:
    return AuditDraft(
        request_id=f"case-{case.id}",
        stage="cases",
        action=action,
        policy_version=policy_version,
        content_hash="",
        tenant=case.tenant,
        end_user=case.user or None,
        detail={"case": case.id, "kind": case.kind, "actor": actor, **detail},
    )


def open_case(
    engine: Engine,
    audit: Auditor,
    policy: CasesPolicy,
    sub: Submission,
    *,
    tenant: str = "default",
    received: datetime | None = None,
    policy_version: str = "",
) -> Case:
    """Record a complaint with its evidence and due date, and audit it. Returns the case (with receipt)."""
    sub = validate(sub)
    at = utc_now() if received is None else _iso(received)
    due = due_date(policy, sub.kind, at).isoformat()
    with engine.begin() as conn:
        cid = conn.execute(
            insert(_C)
            .values(
                receipt=_new_receipt(at),
                tenant=tenant,
                kind=sub.kind,
                state="received",
                anonymous=sub.anonymous,
                reporter_name=sub.reporter_name,
                reporter_contact=sub.reporter_contact,
                subject_produce_id=sub.produce_id,
                subject_user=sub.user,
                subject_url=sub.url,
                description=sub.description,
                assignee="",
                decision="",
                answer="",
                received_at=at,
                due_date=due,
                updated_at=at,
            )
            .returning(_C.id)
        ).scalar_one()
        if sub.evidence:
            conn.execute(
                insert(CaseEvidenceRow),
                [
                    {
                        "case_id": cid,
                        "filename": e.filename,
                        "media_type": e.media_type,
                        "size": e.size,
                        "sha256": e.sha256,
                        "data": e.data,
                        "at": at,
                    }
                    for e in sub.evidence
                ],
            )
        detail = {"due": due, "evidence": [e.sha256 for e in sub.evidence]}
        conn.execute(
            insert(CaseEventRow).values(
                case_id=cid,
                at=at,
                actor="public",
                event="received",
                from_state="",
                to_state="received",
                detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            )
        )
    case = get_case(engine, cid)
    audit(
        _draft(case, "case-received", "public", {"due": due, "evidence": len(sub.evidence)}, policy_version)
    )
    return case


def get_case(engine: Engine, case_id: int) -> Case:
    with engine.connect() as conn:
        row = conn.execute(_CASE.where(_C.id == case_id)).first()
    if row is None:
        raise RecordNotFound(f"no case {case_id}", param="id")
    return _case(row)


def by_receipt(engine: Engine, receipt: str) -> Case:
    with engine.connect() as conn:
        row = conn.execute(_CASE.where(_C.receipt == receipt.strip().upper())).first()
    if row is None:
        raise RecordNotFound("no case with this receipt number / 未找到该受理编号", param="receipt")
    return _case(row)


def list_cases(
    engine: Engine,
    *,
    tenant: str | None = None,
    state: str | None = None,
    kind: str | None = None,
    user: str | None = None,
    open_only: bool = False,
    overdue_on: date | None = None,
    limit: int = 500,
) -> list[Case]:
    """Cases, the soonest due first."""
    q = _CASE.order_by(_C.due_date, _C.id).limit(limit)
    if tenant is not None:
        q = q.where(_C.tenant == tenant)
    if state is not None:
        q = q.where(_C.state == state)
    if kind is not None:
        q = q.where(_C.kind == kind)
    if user is not None:
        q = q.where(_C.subject_user == user)
    if open_only or overdue_on is not None:
        q = q.where(_C.state.in_(OPEN_STATES))
    if overdue_on is not None:
        q = q.where(_C.due_date < overdue_on.isoformat())
    with engine.connect() as conn:
        return [_case(r) for r in conn.execute(q)]


def overdue(engine: Engine, today: date, *, tenant: str | None = None) -> list[Case]:
    """Open cases whose due date has passed (due today is not overdue yet)."""
    return list_cases(engine, tenant=tenant, overdue_on=today)


def counts_by_state(engine: Engine, *, tenant: str | None = None) -> dict[str, int]:
    q = select(_C.state, func.count()).group_by(_C.state)
    if tenant is not None:
        q = q.where(_C.tenant == tenant)
    with engine.connect() as conn:
        return {s: int(n) for s, n in conn.execute(q)}


def events(engine: Engine, case_id: int) -> list[CaseEvent]:
    e = CaseEventRow
    q = select(e.id, e.at, e.actor, e.event, e.from_state, e.to_state, e.detail).where(e.case_id == case_id)
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(e.id)).all()
    return [
        CaseEvent(r.id, r.at, r.actor, r.event, r.from_state, r.to_state, json.loads(r.detail)) for r in rows
    ]


def evidence_of(engine: Engine, case_id: int) -> list[EvidenceInfo]:
    v = CaseEvidenceRow
    q = select(v.id, v.filename, v.media_type, v.size, v.sha256, v.at).where(v.case_id == case_id)
    with engine.connect() as conn:
        return [EvidenceInfo(*r) for r in conn.execute(q.order_by(v.id))]


def evidence_data(engine: Engine, case_id: int, evidence_id: int) -> tuple[EvidenceInfo, bytes]:
    v = CaseEvidenceRow
    q = select(v.id, v.filename, v.media_type, v.size, v.sha256, v.at, v.data).where(
        (v.case_id == case_id) & (v.id == evidence_id)
    )
    with engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None:
        raise RecordNotFound(f"no evidence {evidence_id} on case {case_id}", param="evidence")
    return EvidenceInfo(*row[:6]), bytes(row.data)


def record_event(
    engine: Engine,
    audit: Auditor,
    case: Case,
    event: str,
    *,
    actor: str,
    detail: dict[str, Any],
    audit_detail: dict[str, Any] | None = None,
    policy_version: str = "",
) -> None:
    """An event that does not change the state (a note, an action): stored and audited (with
    ``audit_detail`` when what is stored must not go into the chain)."""
    with engine.begin() as conn:
        conn.execute(
            insert(CaseEventRow).values(
                case_id=case.id,
                at=utc_now(),
                actor=actor,
                event=event,
                from_state=case.state,
                to_state=case.state,
                detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            )
        )
    audit(_draft(case, event[:16], actor, detail if audit_detail is None else audit_detail, policy_version))


def add_note(
    engine: Engine, audit: Auditor, case_id: int, text: str, *, actor: str, policy_version: str = ""
) -> None:
    text = _clean(text, "note", 10_000)
    if not text:
        raise RequestError("the note is empty", param="note")
    # The audit entry says a note was added, not what it says (notes may quote personal information).
    record_event(
        engine,
        audit,
        get_case(engine, case_id),
        "case-note",
        actor=actor,
        detail={"note": text},
        audit_detail={"chars": len(text)},
        policy_version=policy_version,
    )


def assign(
    engine: Engine, audit: Auditor, case_id: int, assignee: str, *, actor: str, policy_version: str = ""
) -> Case:
    assignee = _clean(assignee, "assignee", 256)
    with engine.begin() as conn:
        conn.execute(update(_C).where(_C.id == case_id).values(assignee=assignee, updated_at=utc_now()))
    case = get_case(engine, case_id)
    record_event(
        engine,
        audit,
        case,
        "case-assigned",
        actor=actor,
        detail={"assignee": assignee},
        policy_version=policy_version,
    )
    return case


def transition(
    engine: Engine,
    audit: Auditor,
    case_id: int,
    to: str,
    *,
    actor: str,
    decision: str = "",
    answer: str = "",
    reason: str = "",
    policy_version: str = "",
) -> Case:
    """Move a case to ``to``; refused when the state machine does not allow it from where it is.

    Entering ``decided`` needs a decision (one of DECISIONS); entering ``answered`` needs the answer the
    complainant will read; reopening needs a reason."""
    case = get_case(engine, case_id)
    if to not in TRANSITIONS.get(case.state, ()):
        allowed = ", ".join(TRANSITIONS.get(case.state, ())) or "nothing"
        raise RequestError(
            f"case {case_id} is {case.state}: it can move to {allowed}, not {to}", param="state"
        )
    reopen = case.state in ("answered", "closed") and to == "triaged"
    values: dict[str, Any] = {"state": to}
    detail: dict[str, Any] = {"from": case.state, "to": to}
    if to == "decided":
        if decision not in DECISIONS:
            raise RequestError(f"decision must be one of {', '.join(DECISIONS)}", param="decision")
        values["decision"] = decision
        detail["decision"] = decision
    if to == "answered":
        answer = _clean(answer, "answer", 10_000)
        if not answer:
            raise RequestError("write the answer the complainant will read", param="answer")
        values["answer"] = answer
    if reopen:
        reason = _clean(reason, "reason", 2_000)
        if not reason:
            raise RequestError("say why the case is reopened", param="reason")
        detail["reason"] = reason
        values.update(closed_at=None)
    now = utc_now()
    values["updated_at"] = now
    if to == "answered":
        values["answered_at"] = now
        detail["late"] = china_day(now).isoformat() > case.due_date
    if to == "closed":
        values["closed_at"] = now
    event = "reopened" if reopen else to
    with engine.begin() as conn:
        changed = conn.execute(
            update(_C).where((_C.id == case_id) & (_C.state == case.state)).values(**values)
        ).rowcount
        if changed != 1:
            raise RequestError(f"case {case_id} changed meanwhile; reload it", param="state")
        conn.execute(
            insert(CaseEventRow).values(
                case_id=case_id,
                at=now,
                actor=actor,
                event=event,
                from_state=case.state,
                to_state=to,
                detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            )
        )
    moved = get_case(engine, case_id)
    audit(_draft(moved, f"case-{event}"[:16], actor, detail, policy_version))
    return moved
