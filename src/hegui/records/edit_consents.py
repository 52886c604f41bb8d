"""`EditConsents`: the separate consents of edited persons (DS-02) on the records database.

It stores and reads; the gateway's edit routes decide (`hegui.gateway.edit_consent`). A consent is
recorded by the provider (admin API or CLI) once the edited person has given it; it is appended and
revoked, never edited or deleted, so what was allowed when can always be shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from hegui.errors import RecordNotFound, RequestError
from hegui.records.audit import AuditDraft
from hegui.records.revocation import revoke_row
from hegui.records.sanctions_store import iso, parse_iso, storage_errors
from hegui.records.tables_edit_consents import EditConsentRow

#: What an edit consent may cover (`hegui.guard.edits.EditKind.scope`).
SCOPES = ("likeness", "voice", "brand", "document")


@dataclass(frozen=True, slots=True)
class EditConsent:
    id: str
    tenant: str
    subject: str  # the edited person, as named by whoever recorded the consent
    person_key: str | None  # the registry's key, when the person is registered
    scopes: tuple[str, ...]
    purpose: str
    consented_by: str  # the edited person, or their guardian or agent
    evidence: str
    evidence_sha256: str | None
    recorded_by: str
    granted_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        if self.expires_at is not None and self.expires_at <= at:
            return False
        return self.granted_at <= at

    def covers(self, scope: str, at: datetime) -> bool:
        return scope in self.scopes and self.active(at)

    def to_json(self) -> dict[str, Any]:
        def _iso(at: datetime | None) -> str | None:
            return None if at is None else at.astimezone(UTC).isoformat()

        return {
            "id": self.id,
            "tenant": self.tenant,
            "subject": self.subject,
            "person": self.person_key,
            "scopes": list(self.scopes),
            "purpose": self.purpose,
            "consented_by": self.consented_by,
            "evidence": self.evidence,
            "evidence_sha256": self.evidence_sha256,
            "recorded_by": self.recorded_by,
            "granted_at": _iso(self.granted_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
        }


def _consent(r: Any) -> EditConsent:
    return EditConsent(
        r.consent_id,
        r.tenant,
        r.subject,
        r.person_key,
        tuple(s for s in r.scopes.split(",") if s),
        r.purpose,
        r.consented_by,
        r.evidence,
        r.evidence_sha256,
        r.recorded_by,
        parse_iso(r.granted_at),
        parse_iso(r.expires_at) if r.expires_at else None,
        parse_iso(r.revoked_at) if r.revoked_at else None,
    )


class EditConsents:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self,
        *,
        tenant: str,
        subject: str,
        scopes: tuple[str, ...],
        purpose: str,
        consented_by: str,
        evidence: str,
        recorded_by: str,
        person_key: str | None = None,
        evidence_sha256: str | None = None,
        expires_at: datetime | None = None,
        at: datetime | None = None,
    ) -> EditConsent:
        """Record a consent. Who, what for, by whom and the evidence must all be given: a consent
        nobody can show is not one. A ``person_key`` must be registered."""
        granted = at or datetime.now(UTC)
        for what, value in (
            ("subject (the edited person)", subject),
            ("purpose", purpose),
            ("consented_by", consented_by),
            ("evidence", evidence),
            ("recorded_by", recorded_by),
        ):
            if not value.strip():
                raise RequestError(f"an edit consent needs its {what}")
        unknown = [s for s in scopes if s not in SCOPES]
        if not scopes or unknown:
            raise RequestError(f"an edit consent's scopes are some of {', '.join(SCOPES)}")
        if expires_at is not None and expires_at <= granted:
            raise RequestError("the expiry is not after the grant")
        if person_key is not None:
            from hegui.records.persons_store import PersonRegistry

            if PersonRegistry(self._engine).get(person_key) is None:
                raise RecordNotFound(f"no registered person {person_key!r}")
        consent = EditConsent(
            uuid.uuid4().hex,
            tenant,
            subject.strip(),
            person_key,
            tuple(dict.fromkeys(scopes)),
            purpose,
            consented_by,
            evidence,
            evidence_sha256,
            recorded_by,
            granted,
            expires_at,
        )
        with storage_errors("recording an edit consent"), self._engine.begin() as conn:
            conn.execute(
                insert(EditConsentRow).values(
                    consent_id=consent.id,
                    tenant=tenant,
                    subject=consent.subject,
                    person_key=person_key,
                    scopes=",".join(consent.scopes),
                    purpose=purpose,
                    consented_by=consented_by,
                    evidence=evidence,
                    evidence_sha256=evidence_sha256,
                    recorded_by=recorded_by,
                    granted_at=iso(granted),
                    expires_at=iso(expires_at) if expires_at else None,
                )
            )
        return consent

    def get(self, consent_id: str, tenant: str | None = None) -> EditConsent | None:
        """The consent, or None (also when it is another tenant's)."""
        t = EditConsentRow
        with storage_errors("reading edit consents"), self._engine.connect() as conn:
            row = conn.execute(select(t.__table__).where(t.consent_id == consent_id)).one_or_none()
        if row is None or (tenant is not None and row.tenant != tenant):
            return None
        return _consent(row)

    def list(self, tenant: str | None = None, person_key: str | None = None) -> list[EditConsent]:
        t = EditConsentRow
        q = select(t.__table__).order_by(t.id)
        if tenant is not None:
            q = q.where(t.tenant == tenant)
        if person_key is not None:
            q = q.where(t.person_key == person_key)
        with storage_errors("reading edit consents"), self._engine.connect() as conn:
            return [_consent(r) for r in conn.execute(q)]

    def revoke(
        self, consent_id: str, *, by: str, reason: str, at: datetime | None = None, tenant: str | None = None
    ) -> EditConsent:
        """Revoke a consent (kept, with who and why); twice is an error; another tenant's is not found."""
        row = revoke_row(
            self._engine,
            EditConsentRow.consent_id,
            consent_id,
            what="edit consent",
            by=by,
            reason=reason,
            at=at,
            tenant=tenant,
        )
        return _consent(row)


def consent_draft(action: str, c: EditConsent, policy_version: str, by: str) -> AuditDraft:
    """The audit entry of an edit consent recorded or revoked (stage ``persons``)."""
    return AuditDraft(
        request_id=f"consent-{uuid.uuid4().hex}",
        stage="persons",
        action=action,
        policy_version=policy_version,
        content_hash="",
        tenant=c.tenant,
        detail={"edit_consent": c.id, "person": c.person_key, "scopes": list(c.scopes), "by": by},
    )
