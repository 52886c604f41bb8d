"""`PersonRegistry`: the person registry on the records database (tables `tables_persons`).

It stores and reads; it decides nothing. The guard's ``persona`` check never reads it: it gets a
`RegistrySnapshot` (`snapshot`) taken at start-up and on reload, so a check stays pure and a request
never waits on this database. Authorizations are appended and revoked, never edited or deleted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from hegui.errors import RecordNotFound, RequestError
from hegui.persons.model import Authorization, Kind, Person, RegistrySnapshot, Scope
from hegui.records.audit import AuditDraft
from hegui.records.revocation import revoke_row
from hegui.records.sanctions_store import iso, parse_iso, storage_errors
from hegui.records.tables_persons import PersonAuthorizationRow, PersonRow


@dataclass(frozen=True, slots=True)
class ImportCounts:
    added: int
    updated: int
    unchanged: int
    #: Keys added or updated, in table order (what the audit entry names).
    changed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Removal:
    """A person taken out of the registry, and the ids of the authorizations revoked with it."""

    person: Person
    revoked: tuple[str, ...]


def _person(r: Any) -> Person:
    return Person(
        r.key,
        r.name,
        Kind(r.kind),
        tuple(json.loads(r.aliases)),
        tuple(json.loads(r.pinyin)),
        tuple(json.loads(r.misspellings)),
        r.note,
    )


def _auth(r: Any) -> Authorization:
    return Authorization(
        r.auth_id,
        r.person_key,
        r.tenant,
        Scope(r.scope),
        r.purpose,
        r.grantor,
        r.evidence,
        parse_iso(r.granted_at),
        parse_iso(r.expires_at) if r.expires_at else None,
        parse_iso(r.revoked_at) if r.revoked_at else None,
        r.evidence_sha256,
    )


def _values(p: Person) -> dict[str, Any]:
    return {
        "key": p.key,
        "name": p.name,
        "kind": p.kind.value,
        "aliases": json.dumps(list(p.aliases), ensure_ascii=False),
        "pinyin": json.dumps(list(p.pinyin), ensure_ascii=False),
        "misspellings": json.dumps(list(p.misspellings), ensure_ascii=False),
        "note": p.note,
    }


class PersonRegistry:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, person: Person, *, replace: bool = False, at: datetime | None = None) -> bool:
        """Add ``person``; with ``replace``, an existing key is updated. True when something changed;
        an existing key without ``replace`` is a `RequestError`."""
        return self.import_persons([person], replace=replace, at=at).unchanged == 0

    def import_persons(
        self, persons: Iterable[Person], *, replace: bool = True, at: datetime | None = None
    ) -> ImportCounts:
        """Add new keys and (with ``replace``) update changed ones, in one transaction."""
        now = iso(at or datetime.now(UTC))
        added = updated = unchanged = 0
        changed: list[str] = []
        with storage_errors("writing the person registry"), self._engine.begin() as conn:
            existing = {r.key: r for r in conn.execute(select(PersonRow.__table__))}
            for p in persons:
                values = _values(p)
                old = existing.get(p.key)
                if old is None:
                    conn.execute(insert(PersonRow).values(**values, created_at=now, updated_at=now))
                    added += 1
                    changed.append(p.key)
                elif _person(old) == p:
                    unchanged += 1
                elif not replace:
                    raise RequestError(f"person {p.key!r} is already registered (replace it explicitly)")
                else:
                    conn.execute(
                        update(PersonRow).where(PersonRow.key == p.key).values(**values, updated_at=now)
                    )
                    updated += 1
                    changed.append(p.key)
                existing[p.key] = conn.execute(
                    select(PersonRow.__table__).where(PersonRow.key == p.key)
                ).one()
        return ImportCounts(added, updated, unchanged, tuple(changed))

    def remove(self, key: str, *, by: str, reason: str, at: datetime | None = None) -> Removal:
        """Take ``key`` out of the registry, in one transaction: the person's row is deleted (its names no
        longer match anything) and each of its authorizations still in force, in every tenant, is revoked
        with ``by`` and ``reason``. Authorizations are never deleted: what was allowed when stays
        showable. An unknown key is `RecordNotFound`."""
        now = iso(at or datetime.now(UTC))
        t = PersonAuthorizationRow
        with storage_errors("writing the person registry"), self._engine.begin() as conn:
            row = conn.execute(select(PersonRow.__table__).where(PersonRow.key == key)).one_or_none()
            if row is None:
                raise RecordNotFound(f"no person {key!r} in the registry")
            active = (t.person_key == key) & t.revoked_at.is_(None)
            revoked = [r.auth_id for r in conn.execute(select(t.auth_id).where(active).order_by(t.id))]
            conn.execute(update(t).where(active).values(revoked_at=now, revoked_by=by, revoke_reason=reason))
            conn.execute(delete(PersonRow).where(PersonRow.key == key))
        return Removal(_person(row), tuple(revoked))

    def persons(self) -> list[Person]:
        with storage_errors("reading the person registry"), self._engine.connect() as conn:
            return [_person(r) for r in conn.execute(select(PersonRow.__table__).order_by(PersonRow.key))]

    def get(self, key: str) -> Person | None:
        with storage_errors("reading the person registry"), self._engine.connect() as conn:
            row = conn.execute(select(PersonRow.__table__).where(PersonRow.key == key)).one_or_none()
        return None if row is None else _person(row)

    def authorize(
        self,
        person: str,
        *,
        tenant: str,
        scope: Scope,
        purpose: str,
        grantor: str,
        evidence: str,
        evidence_sha256: str | None = None,
        expires_at: datetime | None = None,
        at: datetime | None = None,
    ) -> Authorization:
        """Record an authorization; the person must be registered, and purpose, grantor and evidence
        must be given (an authorization nobody can show is not one)."""
        granted = at or datetime.now(UTC)
        for what, value in (("purpose", purpose), ("grantor", grantor), ("evidence", evidence)):
            if not value.strip():
                raise RequestError(f"an authorization needs its {what}")
        if expires_at is not None and expires_at <= granted:
            raise RequestError("the expiry is not after the grant")
        if self.get(person) is None:
            raise RecordNotFound(f"no registered person {person!r}")
        auth = Authorization(
            uuid.uuid4().hex,
            person,
            tenant,
            scope,
            purpose,
            grantor,
            evidence,
            granted,
            expires_at,
            None,
            evidence_sha256,
        )
        with storage_errors("recording an authorization"), self._engine.begin() as conn:
            conn.execute(
                insert(PersonAuthorizationRow).values(
                    auth_id=auth.id,
                    person_key=person,
                    tenant=tenant,
                    scope=scope.value,
                    purpose=purpose,
                    grantor=grantor,
                    evidence=evidence,
                    evidence_sha256=evidence_sha256,
                    granted_at=iso(granted),
                    expires_at=iso(expires_at) if expires_at else None,
                )
            )
        return auth

    def revoke(
        self, auth_id: str, *, by: str, reason: str, at: datetime | None = None, tenant: str | None = None
    ) -> Authorization:
        """Revoke an authorization (kept, with who revoked it and why); revoking twice is an error.
        With ``tenant``, another tenant's authorization is not found (the admin API's isolation)."""
        row = revoke_row(
            self._engine,
            PersonAuthorizationRow.auth_id,
            auth_id,
            what="authorization",
            by=by,
            reason=reason,
            at=at,
            tenant=tenant,
        )
        return _auth(row)

    def authorizations(self, person: str | None = None, tenant: str | None = None) -> list[Authorization]:
        t = PersonAuthorizationRow
        q = select(t.__table__).order_by(t.id)
        if person is not None:
            q = q.where(t.person_key == person)
        if tenant is not None:
            q = q.where(t.tenant == tenant)
        with storage_errors("reading authorizations"), self._engine.connect() as conn:
            return [_auth(r) for r in conn.execute(q)]

    def snapshot(self, at: datetime | None = None) -> RegistrySnapshot:
        return RegistrySnapshot(tuple(self.persons()), tuple(self.authorizations()), at or datetime.now(UTC))


def _draft(action: str, policy_version: str, tenant: str, detail: Mapping[str, object]) -> AuditDraft:
    """An audit entry of the registry (stage ``persons``); no content, so no content hash."""
    return AuditDraft(
        request_id=f"persons-{uuid.uuid4().hex}",
        stage="persons",
        action=action,
        policy_version=policy_version,
        content_hash="",
        tenant=tenant,
        detail=detail,
    )


def authorization_draft(action: str, a: Authorization, policy_version: str, by: str) -> AuditDraft:
    """The audit entry of an authorization recorded or revoked."""
    detail = {"authorization": a.id, "person": a.person, "scope": a.scope.value, "by": by}
    return _draft(action, policy_version, a.tenant, detail)


def removal_draft(removal: Removal, policy_version: str, by: str, reason: str) -> AuditDraft:
    """The audit entry of a person taken out of the registry (its key and the revoked authorizations)."""
    detail = {"person": removal.person.key, "revoked": list(removal.revoked), "by": by, "reason": reason}
    return _draft("remove", policy_version, "*", detail)


def registration_draft(keys: list[str], policy_version: str, by: str) -> AuditDraft:
    """The audit entry of persons added or updated (their keys only; names stay in the registry)."""
    return _draft("register", policy_version, "*", {"persons": keys, "by": by})
