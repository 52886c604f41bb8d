"""The purge job: removes what the policy says may no longer be kept, and reports what it removed.

- Stored conversation turns older than ``[retention] prompt_days`` are deleted (IM 11: prompts no longer
  than needed). ``prompt_days = 0`` deletes every stored turn.
- Pool rejection notes (request id, reason; no text) are network-log-like: kept ``network_log_days``.
- The audit chain is never cut: a purge deletes no audit entry, so `verify_chain` keeps passing and
  logs stay at least ``network_log_days`` (≥ 181) days. Entries older than that are only *counted* as
  eligible for archiving; archiving whole prefixes off-line is an operator task (docs/records.md).
- The purge itself is an audit entry with its counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from hegui.policy import RetentionPolicy
from hegui.records.audit import AuditDraft, write_batch
from hegui.records.conversations import purge_before
from hegui.records.tables import AuditEntryRow
from hegui.records.tables_records import PoolRejectionRow


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class PurgeReport:
    prompt_cutoff: str
    log_cutoff: str
    turns_removed: int
    rejections_removed: int
    audit_entries_kept: int
    audit_entries_archivable: int


def purge(
    engine: Engine, retention: RetentionPolicy, *, now: datetime | None = None, policy_version: str = ""
) -> PurgeReport:
    now = now or datetime.now(UTC)
    prompt_cutoff = _iso(now - timedelta(days=retention.prompt_days))
    log_cutoff = _iso(now - timedelta(days=retention.network_log_days))
    turns = purge_before(engine, prompt_cutoff)
    with engine.begin() as conn:
        rejections = int(
            conn.execute(delete(PoolRejectionRow).where(PoolRejectionRow.at < log_cutoff)).rowcount
        )
    with engine.connect() as conn:
        kept = int(conn.execute(select(func.count()).select_from(AuditEntryRow)).scalar_one())
        old = int(
            conn.execute(
                select(func.count()).select_from(AuditEntryRow).where(AuditEntryRow.ts < log_cutoff)
            ).scalar_one()
        )
    report = PurgeReport(prompt_cutoff, log_cutoff, turns, rejections, kept, old)
    write_batch(
        engine,
        [
            AuditDraft(
                request_id=f"purge-{_iso(now)}"[:64],
                stage="records",
                action="purge",
                policy_version=policy_version,
                content_hash="",
                detail=asdict(report),
            )
        ],
    )
    return report
