"""`DbMemoryStore`: the guard's session memory (`MemoryStore`) on the records database.

Recent turns are user text, so they are stored only as ciphertext under the end user's own data key
(`Vault`): deleting the key (`erase_user`, ``hegui data delete``) makes every copy unreadable, and
`erase_memory` deletes the rows in the same transaction. Only the newest ``max_turns`` turns and
``max_refused`` refused-prompt sketches of a session are kept; a sketch is MinHash hashes and risk
categories, never text. `purge_memory_before` removes what is older than a cutoff.

Without an end-user id there is no key to encrypt under and nobody to erase: such sessions are kept
in a bounded in-process `InMemoryMemoryStore` only. Without a vault, turns are likewise kept in process
memory only (sketches still go to the database). This module never writes plaintext to the database,
and a turn that does not verify raises (fail closed) rather than being skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, insert, select

from hegui.errors import ContentErased
from hegui.guard.memory import InMemoryMemoryStore, MemoryStore, SessionKey, Sketch, Turn
from hegui.guard.types import Action
from hegui.records.audit import utc_now
from hegui.records.config import RecordsPolicy
from hegui.records.sanctions_store import iso, parse_iso, storage_errors
from hegui.records.tables_sanctions import MemorySketchRow, MemoryTurnRow
from hegui.records.vault import Vault

_T, _K = MemoryTurnRow, MemorySketchRow


def _same_session(row: type[MemoryTurnRow] | type[MemorySketchRow], key: SessionKey) -> ColumnElement[bool]:
    session = row.session.is_(None) if key.session is None else row.session == key.session
    return (row.tenant == key.tenant) & (row.user_id == key.user) & session


def _trim(
    conn: Connection, row: type[MemoryTurnRow] | type[MemorySketchRow], key: SessionKey, keep: int
) -> None:
    """Delete all but the ``keep`` newest rows of the session."""
    cond = _same_session(row, key)
    oldest_kept = conn.execute(
        select(row.id).where(cond).order_by(row.id.desc()).offset(keep - 1).limit(1)
    ).scalar()
    if oldest_kept is not None:
        conn.execute(delete(row).where(cond & (row.id < oldest_kept)))


def _sketch_json(sketch: Sketch) -> str:
    return json.dumps(
        {"hashes": list(sketch.hashes), "size": sketch.size, "categories": list(sketch.categories)},
        ensure_ascii=False,
    )


def _sketch_of(text: str) -> Sketch:
    raw: dict[str, Any] = json.loads(text)
    return Sketch(tuple(int(h) for h in raw["hashes"]), int(raw["size"]), tuple(raw["categories"]))


class DbMemoryStore:
    """A `MemoryStore` on SQLite or PostgreSQL; thread-safe (every call takes its own connection)."""

    def __init__(
        self,
        engine: Engine,
        vault: Vault | None = None,
        *,
        max_turns: int = 64,
        max_refused: int = 256,
        max_anonymous_sessions: int = 10_000,
    ) -> None:
        if max_turns < 1 or max_refused < 1:
            raise ValueError("the session memory must keep at least one turn and one sketch")
        self._engine = engine
        self._vault = vault
        self._max_turns, self._max_refused = max_turns, max_refused
        self._local = InMemoryMemoryStore(
            max_sessions=max_anonymous_sessions, max_turns=max_turns, max_refused=max_refused
        )

    def append_turn(self, key: SessionKey, turn: Turn) -> None:
        if key.user is None or self._vault is None:
            self._local.append_turn(key, turn)
            return
        token = self._vault.encrypt(key.tenant, key.user, turn.text)
        with storage_errors("remembering a turn"), self._engine.begin() as conn:
            conn.execute(
                insert(_T).values(
                    tenant=key.tenant,
                    user_id=key.user,
                    session=key.session,
                    ciphertext=token,
                    action=Action(turn.action).value,
                    at=iso(turn.at),
                )
            )
            _trim(conn, _T, key, self._max_turns)

    def turns(self, key: SessionKey, limit: int) -> Sequence[Turn]:
        if key.user is None or self._vault is None:
            return self._local.turns(key, limit)
        if limit <= 0:
            return ()
        q = (
            select(_T.ciphertext, _T.action, _T.at)
            .where(_same_session(_T, key))
            .order_by(_T.id.desc())
            .limit(min(limit, self._max_turns))
        )
        with storage_errors("reading session memory"), self._engine.connect() as conn:
            rows = conn.execute(q).all()
        out: list[Turn] = []
        for r in reversed(rows):
            try:
                text = self._vault.decrypt(key.tenant, key.user, r.ciphertext)
            except ContentErased:
                # The user was erased while this read ran (or by another process): nothing to remember.
                return ()
            out.append(Turn(text, parse_iso(r.at), Action(r.action)))
        return tuple(out)

    def add_refused(self, key: SessionKey, sketch: Sketch) -> None:
        if key.user is None:
            self._local.add_refused(key, sketch)
            return
        with storage_errors("remembering a refused prompt"), self._engine.begin() as conn:
            conn.execute(
                insert(_K).values(
                    tenant=key.tenant,
                    user_id=key.user,
                    session=key.session,
                    sketch=_sketch_json(sketch),
                    at=utc_now(),
                )
            )
            _trim(conn, _K, key, self._max_refused)

    def refused(self, key: SessionKey) -> Sequence[Sketch]:
        if key.user is None:
            return self._local.refused(key)
        q = select(_K.sketch).where(_same_session(_K, key)).order_by(_K.id.desc()).limit(self._max_refused)
        with storage_errors("reading refused prompts"), self._engine.connect() as conn:
            rows = list(conn.execute(q).scalars())
        return tuple(_sketch_of(s) for s in reversed(rows))


def erase_memory(conn: Connection, tenant: str, user: str) -> int:
    """Delete the user's remembered turns and sketches inside the caller's transaction; returns how many."""
    n = 0
    for row in (_T, _K):
        n += int(conn.execute(delete(row).where((row.tenant == tenant) & (row.user_id == user))).rowcount)
    return n


def purge_memory_before(engine: Engine, cutoff: str) -> int:
    """Delete turns and sketches stored before ``cutoff`` (ISO UTC); returns how many."""
    n = 0
    with engine.begin() as conn:
        for row in (_T, _K):
            n += int(conn.execute(delete(row).where(row.at < cutoff)).rowcount)
    return n


def memory_store_for(policy: RecordsPolicy, engine: Engine, vault: Vault) -> MemoryStore:
    """The store ``[records] memory_store`` names, keeping ``memory_turns`` turns per session."""
    if policy.memory_store == "database":
        return DbMemoryStore(engine, vault, max_turns=policy.memory_turns)
    return InMemoryMemoryStore(max_turns=policy.memory_turns)
