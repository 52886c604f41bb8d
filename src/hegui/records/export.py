"""Exports of the training pool and their later check.

`export_pool` writes ``records.jsonl`` (one scrubbed record a line, no end-user id) and
``manifest.json`` (record hash, consent event id and basis, rules version per record, plus the SHA-256
of the records file) into a hidden sibling directory, fsyncs both, and only then renames it to the
requested name: a crash leaves either no export or a whole one, never a half one under the real name.
Tombstoned records are never written. `check_export` reads an older export's manifest and flags every
record that has since been tombstoned (withdrawal, deletion) or is no longer in the pool: those must be
purged from wherever the export went. Nothing here changes the pool.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, func, insert, select

from hegui.errors import RecordNotFound, RequestError
from hegui.records.audit import utc_now
from hegui.records.tables import AuditEntryRow
from hegui.records.tables_records import PoolExportRow, PoolRecordRow, PoolRejectionRow, PoolTombstoneRow
from hegui.records.tombstones import tombstone_reasons

FORMAT = "hegui-pool-export/1"
RECORDS = "records.jsonl"
MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class LeftOut:
    """How many turns were left out of the pool for one reason, and what that reason means."""

    reason: str
    count: int
    meaning: str


#: What each admission rule's refusal means to someone who expected records (see `hegui.records.pool`).
MEANINGS = {
    "no_user": "the request carried no end-user id (`user`)",
    "no_consent:default:api": "API-channel users are opt-in (records.consent_default_api = false) and no "
    "training consent was recorded for them",
    "no_consent:default:chat": "chat-channel users are opt-in here (records.consent_default_chat = false) "
    "and no training consent was recorded for them",
    "no_consent:event": "the user refused or withdrew training consent",
    "refused_or_masked": "the guard refused or masked the input or the answer",
    "too_short": "too little text was left once personal information was scrubbed",
    "near_duplicate": "a near-duplicate of a record already in the pool",
    "tombstoned": "admitted, then withdrawn or deleted (never exported)",
}


@dataclass(frozen=True, slots=True)
class ExportReport:
    export_id: str
    path: Path
    records: int
    tombstones: int
    #: Why turns are not in this export, counted per reason (most frequent first).
    left_out: tuple[LeftOut, ...] = ()


def left_out(engine: Engine, tenant: str | None = None) -> tuple[LeftOut, ...]:
    """Turns the pool never admitted, per reason (consent refusals split by their basis), plus the
    tombstoned records: the answer to "why did the export hold fewer records than turns?"."""
    t = PoolRejectionRow
    detail = case((t.reason == "no_consent", t.detail), else_="")
    q = select(t.reason, detail, func.count()).group_by(t.reason, detail)
    if tenant is not None:
        q = q.where(t.tenant == tenant)
    tomb = select(func.count()).select_from(PoolTombstoneRow)
    # The gateway offers the pool only turns of a known end user; answers without one are found in the
    # audit chain (an output decision with no end user), so that they are counted too.
    a = AuditEntryRow
    anonymous = select(func.count(func.distinct(a.request_id))).where(
        a.end_user.is_(None) & (a.stage == "output")
    )
    if tenant is not None:
        tomb = tomb.where(PoolTombstoneRow.tenant == tenant)
        anonymous = anonymous.where(a.tenant == tenant)
    with engine.connect() as conn:
        counts: dict[str, int] = {}
        for reason, basis, count in conn.execute(q):
            key = f"{reason}:{'event' if basis == 'event' else basis}" if reason == "no_consent" else reason
            counts[key] = counts.get(key, 0) + int(count)
        tombstoned = int(conn.execute(tomb).scalar_one())
        no_user = int(conn.execute(anonymous).scalar_one())
    if no_user:
        counts["no_user"] = counts.get("no_user", 0) + no_user
    if tombstoned:
        counts["tombstoned"] = tombstoned
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(LeftOut(k, n, MEANINGS.get(k, "see hegui.records.pool")) for k, n in ordered)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_records(engine: Engine, fh: Any, tenant: str | None, manifest: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    t = PoolRecordRow
    q = select(
        t.id,
        t.record_hash,
        t.channel,
        t.prompt,
        t.answer,
        t.consent_event_id,
        t.consent_basis,
        t.rules_version,
        t.collected_at,
    ).order_by(t.id)
    if tenant is not None:
        q = q.where(t.tenant == tenant)
    # One read transaction: the export is one consistent snapshot of the pool.
    with engine.connect() as conn, conn.begin():
        for r in conn.execute(q.execution_options(yield_per=500)):
            line = {
                "record_hash": r.record_hash,
                "prompt": r.prompt,
                "answer": r.answer,
                "channel": r.channel,
                "collected_at": r.collected_at,
                "consent_event_id": r.consent_event_id,
                "consent_basis": r.consent_basis,
                "rules_version": r.rules_version,
            }
            data = (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode()
            fh.write(data)
            digest.update(data)
            manifest.append(
                {k: line[k] for k in ("record_hash", "consent_event_id", "consent_basis", "rules_version")}
            )
    return digest.hexdigest()


def export_pool(engine: Engine, out_dir: Path, *, tenant: str | None = None) -> ExportReport:
    """Write the pool (minus tombstones) to ``out_dir``, which must not exist yet."""
    if out_dir.exists():
        raise RequestError(f"{out_dir} already exists; exports never overwrite", param="out_dir")
    export_id = uuid.uuid4().hex[:16]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{export_id}"
    tmp.mkdir()
    entries: list[dict[str, Any]] = []
    with (tmp / RECORDS).open("wb") as fh:
        sha = _write_records(engine, fh, tenant, entries)
        fh.flush()
        os.fsync(fh.fileno())
    with engine.connect() as conn:
        counted = select(func.count()).select_from(PoolTombstoneRow)
        if tenant is not None:  # another tenant's withdrawals are not this tenant's business
            counted = counted.where(PoolTombstoneRow.tenant == tenant)
        tombstones = int(conn.execute(counted).scalar_one())
    created = utc_now()
    manifest = {
        "format": FORMAT,
        "export_id": export_id,
        "created_at": created,
        "tenant": tenant,
        "records_file": RECORDS,
        "records_sha256": sha,
        "count": len(entries),
        "tombstones_at_export": tombstones,
        "rules_versions": sorted({e["rules_version"] for e in entries}),
        "left_out": {item.reason: item.count for item in left_out(engine, tenant)},
        "records": entries,
    }
    with (tmp / MANIFEST).open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(tmp)
    os.rename(tmp, out_dir)
    _fsync_dir(out_dir.parent)
    with engine.begin() as conn:
        conn.execute(
            insert(PoolExportRow).values(
                id=export_id,
                path=str(out_dir.resolve()),
                records=len(entries),
                skipped=tombstones,
                created_at=created,
            )
        )
    return ExportReport(export_id, out_dir, len(entries), tombstones, left_out(engine, tenant))


@dataclass(frozen=True, slots=True)
class Flag:
    record_hash: str
    reason: str


@dataclass(frozen=True, slots=True)
class CheckReport:
    export_id: str
    records: int
    intact: bool
    flagged: list[Flag] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.intact and not self.flagged


def check_export(engine: Engine, export_dir: Path, *, tenant: str | None = None) -> CheckReport:
    """Flag the records of an export that must now be purged (tombstoned, or gone from the pool).
    With ``tenant``, only that tenant's own export is checked: another's is not found."""
    try:
        manifest = json.loads((export_dir / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordNotFound(
            f"{export_dir} has no {MANIFEST}: not an export, or an interrupted one"
        ) from None
    except json.JSONDecodeError as exc:
        raise RequestError(f"{export_dir / MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RequestError(f"{export_dir / MANIFEST}: not a {FORMAT} manifest")
    if tenant is not None and manifest.get("tenant") != tenant:
        raise RecordNotFound(f"no export {export_dir.name!r} for this tenant")
    digest = hashlib.sha256()
    try:
        with (export_dir / manifest["records_file"]).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        intact = digest.hexdigest() == manifest["records_sha256"]
    except FileNotFoundError:
        intact = False
    hashes = [e["record_hash"] for e in manifest["records"]]
    flagged: list[Flag] = []
    with engine.connect() as conn:
        reasons = tombstone_reasons(conn, hashes)
        present: set[str] = set()
        for i in range(0, len(hashes), 500):
            q = select(PoolRecordRow.record_hash).where(PoolRecordRow.record_hash.in_(hashes[i : i + 500]))
            present.update(conn.execute(q).scalars())
    for h in hashes:
        if h in reasons:
            flagged.append(Flag(h, reasons[h]))
        elif h not in present:
            flagged.append(Flag(h, "not_in_pool"))
    return CheckReport(manifest["export_id"], len(hashes), intact, flagged)
