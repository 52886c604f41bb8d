"""`DbSanctionStore`: the sanction ladder's `SanctionStore` on the records database.

Violations and steps are rows (`tables_sanctions`), so an end user's level survives a restart and is
the same on every replica that shares the database; art. 14 of the Interim Measures asks for these
records. The ladder's decisions stay in `hegui.guard.sanctions`; this module stores and reads, and
shapes the record and a manual change for the admin API and the CLI (`record_json`, `parse_lift`,
`lift_draft`), so that both show and audit it the same way.
It never stores user text (a violation is its action, categories, request and session ids), and it
never lowers a level: only a recorded step does. Times are kept as ISO-8601 UTC strings; a naive
datetime is refused rather than guessed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from hegui.errors import RequestError, StorageError
from hegui.guard.sanctions import (
    InMemorySanctionStore,
    Sanction,
    SanctionLadder,
    SanctionStep,
    SanctionStore,
    Violation,
)
from hegui.guard.types import Action
from hegui.records.audit import AuditDraft
from hegui.records.config import RecordsPolicy
from hegui.records.tables_sanctions import SanctionStepRow, SanctionViolationRow

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso(at: datetime) -> str:
    """``at`` as the tables' ISO-8601 UTC string; a naive datetime is an error (no silent local time)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a stored time must carry its time zone, got naive {at.isoformat()}")
    return at.astimezone(UTC).strftime(_FORMAT)


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """A database failure as `StorageError` (503): the request is not served unchecked, and says why."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"{what} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from exc


_S = SanctionStepRow
_STEP_COLS = select(
    _S.tenant,
    _S.user_id,
    _S.at,
    _S.previous,
    _S.level,
    _S.violations,
    _S.reason,
    _S.decided_by,
    _S.request_id,
    _S.until,
)
# Built once: every request of an identified end user reads its standing (two queries), and building the
# statements cost more than running them.
_LAST_STEP = (
    _STEP_COLS.where((_S.tenant == bindparam("tenant")) & (_S.user_id == bindparam("user")))
    .order_by(_S.id.desc())
    .limit(1)
)
_VIOLATIONS = (
    select(SanctionViolationRow.at)
    .where(
        (SanctionViolationRow.tenant == bindparam("tenant"))
        & (SanctionViolationRow.user_id == bindparam("user"))
    )
    .order_by(SanctionViolationRow.at)
)
_VIOLATIONS_SINCE = _VIOLATIONS.where(SanctionViolationRow.at >= bindparam("since"))


def _step(r: Any) -> SanctionStep:
    return SanctionStep(
        r.tenant,
        r.user_id,
        parse_iso(r.at),
        Sanction(r.previous),
        Sanction(r.level),
        int(r.violations),
        r.reason,
        decided_by=r.decided_by,
        request_id=r.request_id,
        until=parse_iso(r.until) if r.until else None,
    )


class DbSanctionStore:
    """A `SanctionStore` on SQLite or PostgreSQL. Thread-safe: every call takes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_violation(self, violation: Violation) -> None:
        with storage_errors("recording a violation"), self._engine.begin() as conn:
            conn.execute(
                insert(SanctionViolationRow).values(
                    tenant=violation.tenant,
                    user_id=violation.user,
                    at=iso(violation.at),
                    action=Action(violation.action).value,
                    categories=json.dumps(list(violation.categories), ensure_ascii=False),
                    request_id=violation.request_id,
                    session=violation.session,
                )
            )

    def count_violations(self, tenant: str, user: str, since: datetime | None) -> int:
        v = SanctionViolationRow
        q = select(func.count()).select_from(v).where((v.tenant == tenant) & (v.user_id == user))
        if since is not None:
            q = q.where(v.at >= iso(since))
        with storage_errors("counting violations"), self._engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def violation_times(self, tenant: str, user: str, since: datetime | None) -> list[datetime]:
        q, params = _VIOLATIONS, {"tenant": tenant, "user": user}
        if since is not None:
            q, params = _VIOLATIONS_SINCE, params | {"since": iso(since)}
        with storage_errors("reading violation times"), self._engine.connect() as conn:
            return [datetime.fromisoformat(at) for (at,) in conn.execute(q, params)]

    def add_step(self, step: SanctionStep) -> None:
        if not step.decided_by.strip() or not step.reason.strip():
            raise ValueError("a sanction step needs who decided it and why")
        with storage_errors("recording a sanction step"), self._engine.begin() as conn:
            conn.execute(
                insert(SanctionStepRow).values(
                    tenant=step.tenant,
                    user_id=step.user,
                    at=iso(step.at),
                    previous=Sanction(step.previous).value,
                    level=Sanction(step.level).value,
                    violations=step.violations,
                    reason=step.reason,
                    decided_by=step.decided_by,
                    request_id=step.request_id,
                    until=iso(step.until) if step.until is not None else None,
                )
            )

    def last_step(self, tenant: str, user: str) -> SanctionStep | None:
        with storage_errors("reading the sanction level"), self._engine.connect() as conn:
            row = conn.execute(_LAST_STEP, {"tenant": tenant, "user": user}).first()
        return _step(row) if row is not None else None

    def steps(self, tenant: str, user: str) -> Sequence[SanctionStep]:
        q = _STEP_COLS.where((_S.tenant == tenant) & (_S.user_id == user)).order_by(_S.id)
        with storage_errors("reading sanction steps"), self._engine.connect() as conn:
            return tuple(_step(r) for r in conn.execute(q))


def sanction_store_for(policy: RecordsPolicy, engine: Engine) -> SanctionStore:
    """The store ``[records] sanction_store`` names: the database (default) or process memory."""
    if policy.sanction_store == "memory":
        return InMemorySanctionStore()
    return DbSanctionStore(engine)


# --- the record as the admin API and the CLI show it, and a manual change of level -------------------


def step_json(step: SanctionStep) -> dict[str, Any]:
    return {
        "at": iso(step.at),
        "previous": step.previous.value,
        "level": step.level.value,
        "violations": step.violations,
        "reason": step.reason,
        "decided_by": step.decided_by,
        "request_id": step.request_id,
        "until": iso(step.until) if step.until is not None else None,
    }


def record_json(
    ladder: SanctionLadder, store: SanctionStore, tenant: str, user: str, now: datetime
) -> dict[str, Any]:
    """The user's standing now and every recorded step, oldest first."""
    standing = ladder.standing(store, tenant, user, now)
    return {
        "object": "sanction_record",
        "user": user,
        "level": standing.level.value,
        "until": iso(standing.until) if standing.until is not None else None,
        "may_use": standing.may_use,
        "violations": standing.violations,
        "steps": [step_json(s) for s in store.steps(tenant, user)],
    }


def parse_lift(level: object, by: object, reason: object) -> tuple[Sanction, str, str]:
    """Validate a manual change: a known level, who decided it and why (RequestError names the field)."""
    if not isinstance(level, str) or level not in Sanction.__members__.values():
        raise RequestError(f"level must be one of {', '.join(s.value for s in Sanction)}", param="level")
    for name, value in (("by", by), ("reason", reason)):
        if not isinstance(value, str) or not value.strip():
            raise RequestError(f"a manual sanction change needs {name!r}: who decided it and why", param=name)
    return Sanction(level), str(by).strip(), str(reason).strip()


def lift_draft(step: SanctionStep, policy_version: str) -> AuditDraft:
    """The audit entry of a manual change (the ladder's own steps are audited by the gateway)."""
    return AuditDraft(
        request_id=f"sanction-{uuid.uuid4().hex}",
        stage="sanction",
        action=step.level.value,
        policy_version=policy_version,
        content_hash="",
        tenant=step.tenant,
        end_user=step.user,
        detail={
            "previous": step.previous.value,
            "violations": step.violations,
            "reason": step.reason,
            "decided_by": step.decided_by,
            "until": iso(step.until) if step.until is not None else None,
            "manual": True,
        },
    )
