"""Pure types of the person registry: `Person`, `Authorization`, and the `RegistrySnapshot` a check reads.

An authorization is per tenant and per scope (``name``: speaking as or impersonating the person;
``likeness``: depicting the face or figure; ``voice``: cloning or imitating the voice), for a purpose,
granted by someone, backed by an evidence file, until an expiry. It is *active* at a time when it is
granted, not revoked and not expired; nothing else authorizes anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What kind of person: decides nothing on its own, but is shown in every finding and listing."""

    PUBLIC_FIGURE = "public_figure"
    EMPLOYEE = "employee"
    LICENSED = "licensed"  # a licensed voice or likeness (a voice actor, a brand ambassador)
    PRIVATE = "private"


class Scope(StrEnum):
    NAME = "name"
    LIKENESS = "likeness"
    VOICE = "voice"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def _dt(text: Any) -> datetime | None:
    if text is None:
        return None
    at = datetime.fromisoformat(str(text))
    if at.tzinfo is None:
        raise ValueError(f"a time must carry its time zone: {text!r}")
    return at


@dataclass(frozen=True, slots=True)
class Person:
    """A registered person. ``key`` is the provider's own identifier, unique in the registry."""

    key: str
    name: str
    kind: Kind
    aliases: tuple[str, ...] = ()
    pinyin: tuple[str, ...] = ()
    misspellings: tuple[str, ...] = ()
    note: str = ""

    def spellings(self) -> tuple[str, ...]:
        """Every way the person is written: the name, aliases, misspellings and pinyin spellings."""
        seen: dict[str, None] = {}
        for s in (self.name, *self.aliases, *self.misspellings, *self.pinyin):
            if s.strip():
                seen.setdefault(s.strip(), None)
        return tuple(seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "kind": self.kind.value,
            "aliases": list(self.aliases),
            "pinyin": list(self.pinyin),
            "misspellings": list(self.misspellings),
            "note": self.note,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Person:
        return cls(
            str(obj["key"]),
            str(obj["name"]),
            Kind(obj["kind"]),
            tuple(obj.get("aliases", ())),
            tuple(obj.get("pinyin", ())),
            tuple(obj.get("misspellings", ())),
            str(obj.get("note", "")),
        )


@dataclass(frozen=True, slots=True)
class Authorization:
    id: str
    person: str
    tenant: str
    scope: Scope
    purpose: str
    grantor: str
    evidence: str
    granted_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    evidence_sha256: str | None = None

    def active(self, at: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        if self.expires_at is not None and self.expires_at <= at:
            return False
        return self.granted_at <= at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "person": self.person,
            "tenant": self.tenant,
            "scope": self.scope.value,
            "purpose": self.purpose,
            "grantor": self.grantor,
            "evidence": self.evidence,
            "evidence_sha256": self.evidence_sha256,
            "granted_at": _iso(self.granted_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Authorization:
        granted = _dt(obj["granted_at"])
        assert granted is not None
        return cls(
            str(obj["id"]),
            str(obj["person"]),
            str(obj["tenant"]),
            Scope(obj["scope"]),
            str(obj.get("purpose", "")),
            str(obj.get("grantor", "")),
            str(obj.get("evidence", "")),
            granted,
            _dt(obj.get("expires_at")),
            _dt(obj.get("revoked_at")),
            obj.get("evidence_sha256"),
        )


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """The registry as it was at ``taken_at``: what a check reads, never the database itself."""

    persons: tuple[Person, ...]
    authorizations: tuple[Authorization, ...]
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def version(self) -> str:
        body = json.dumps(self.to_json() | {"taken_at": None}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]

    def person(self, key: str) -> Person | None:
        return next((p for p in self.persons if p.key == key), None)

    def authorized(self, person: str, tenant: str, scope: Scope, at: datetime) -> Authorization | None:
        """The active authorization of ``scope`` for ``person`` and ``tenant`` at ``at``, if any."""
        for a in self.authorizations:
            if a.person == person and a.tenant == tenant and a.scope == scope and a.active(at):
                return a
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "hegui-persons/1",
            "taken_at": _iso(self.taken_at),
            "persons": [p.to_json() for p in self.persons],
            "authorizations": [a.to_json() for a in self.authorizations],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RegistrySnapshot:
        if obj.get("format") != "hegui-persons/1":
            raise ValueError("not a hegui-persons/1 snapshot")
        taken = _dt(obj.get("taken_at")) or datetime.now(UTC)
        return cls(
            tuple(Person.from_json(p) for p in obj["persons"]),
            tuple(Authorization.from_json(a) for a in obj["authorizations"]),
            taken,
        )
