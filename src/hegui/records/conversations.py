"""The conversation store: every turn encrypted under its end user's own data key (see `vault`).

Separate from the training pool: a stored turn is kept for the user's own access requests and for the
provider's duties, never for training. Without an end-user id nothing is stored (there would be no key
to shred). This module never writes plaintext to the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select

from hegui.records.audit import utc_now
from hegui.records.db import transaction
from hegui.records.tables_records import ConversationTurnRow
from hegui.records.vault import Vault

ROLES: tuple[str, ...] = ("user", "assistant", "system", "tool")


@dataclass(frozen=True, slots=True)
class StoredTurn:
    id: int
    session: str | None
    request_id: str
    role: str
    text: str
    marks: dict[str, Any]
    at: str


def store_turn(
    engine: Engine,
    vault: Vault,
    *,
    tenant: str,
    user: str,
    session: str | None,
    request_id: str,
    role: str,
    text: str,
    marks: Mapping[str, Any] | None = None,
    at: str | None = None,
) -> int:
    """Encrypt and store one turn; returns its id. ``marks`` are the guard's (action, trainable, …)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    token = vault.encrypt(tenant, user, text)
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(ConversationTurnRow)
                .values(
                    tenant=tenant,
                    user_id=user,
                    session=session,
                    request_id=request_id,
                    role=role,
                    ciphertext=token,
                    marks=json.dumps(dict(marks or {}), sort_keys=True, ensure_ascii=False),
                    at=at or utc_now(),
                )
                .returning(ConversationTurnRow.id)
            ).scalar_one()
        )


@dataclass(frozen=True, slots=True)
class NewTurn:
    """One turn to store: its role, text and the guard's marks."""

    role: str
    text: str
    marks: Mapping[str, Any]


_STORED_ROLES = select(ConversationTurnRow.role).where(
    (ConversationTurnRow.tenant == bindparam("tenant"))
    & (ConversationTurnRow.request_id == bindparam("request_id"))
)
_INSERT_TURNS = insert(ConversationTurnRow)


def store_turns(
    bind: Engine | Connection,
    vault: Vault,
    turns: Sequence[NewTurn],
    *,
    tenant: str,
    user: str,
    session: str | None,
    request_id: str,
    replay: bool = True,
) -> None:
    """Encrypt and store the turns of one request in one transaction (one commit for the question and
    its answer; on a connection, in the caller's transaction). Turns already stored for the request are
    not stored again (a replayed keep); a caller that knows the request was never kept before
    (``replay=False``) skips that look-up."""
    for turn in turns:
        if turn.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {turn.role!r}")
    sealed = [(turn, vault.encrypt(tenant, user, turn.text)) for turn in turns]
    # Reads, then writes: BEGIN IMMEDIATE on SQLite, or a writer committing in between (the audit writer)
    # makes the upgrade to a write lock fail at once ("database is locked") instead of waiting.
    with transaction(bind, immediate=True) as conn:
        stored: set[str] = set()
        if replay:
            stored = set(conn.execute(_STORED_ROLES, {"tenant": tenant, "request_id": request_id}).scalars())
        at = utc_now()
        rows = [
            {
                "tenant": tenant,
                "user_id": user,
                "session": session,
                "request_id": request_id,
                "role": turn.role,
                "ciphertext": token,
                "marks": json.dumps(dict(turn.marks), sort_keys=True, ensure_ascii=False),
                "at": at,
            }
            for turn, token in sealed
            if turn.role not in stored
        ]
        if rows:
            conn.execute(_INSERT_TURNS, rows)


def turns_of(engine: Engine, vault: Vault, tenant: str, user: str) -> list[StoredTurn]:
    """Every stored turn of ``user``, decrypted (ContentErased if rows remain but the key is gone)."""
    t = ConversationTurnRow
    q = (
        select(t.id, t.session, t.request_id, t.role, t.ciphertext, t.marks, t.at)
        .where((t.tenant == tenant) & (t.user_id == user))
        .order_by(t.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        StoredTurn(
            r.id,
            r.session,
            r.request_id,
            r.role,
            vault.decrypt(tenant, user, r.ciphertext),
            json.loads(r.marks),
            r.at,
        )
        for r in rows
    ]


def ciphertexts_of(engine: Engine, tenant: str, user: str) -> list[str]:
    """The raw stored ciphertexts (for backups and tests of crypto-shredding)."""
    t = ConversationTurnRow
    with engine.connect() as conn:
        return list(
            conn.execute(select(t.ciphertext).where((t.tenant == tenant) & (t.user_id == user))).scalars()
        )


def purge_before(engine: Engine, cutoff: str) -> int:
    """Delete turns stored before ``cutoff`` (ISO UTC); returns how many."""
    with engine.begin() as conn:
        return int(conn.execute(delete(ConversationTurnRow).where(ConversationTurnRow.at < cutoff)).rowcount)
