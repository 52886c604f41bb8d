"""What the audit writer commits with its entries (riders), and how it runs its statements: riders of
several tables in one transaction with the entries, in order, all or nothing; statements as the
driver's SQL only where that changes nothing (records/prepared.py); the writer's held connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, event, insert, select, text
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from hegui.errors import StorageError
from hegui.records.audit import (
    _HEAD_FOR_UPDATE,
    _INSERT_ENTRIES,
    _UPDATE_HEAD,
    AuditDraft,
    AuditLog,
    Rider,
    chain_length,
    verify_chain,
    write_batch,
)
from hegui.records.prepared import prepare
from hegui.records.tables import AuditEntryRow
from hegui.records.tables_records import ConsentEventRow, KeepJournalRow, UserKeyRow

J, CONSENT, KEYS = KeepJournalRow.__table__, ConsentEventRow.__table__, UserKeyRow.__table__


def draft(i: int) -> AuditDraft:
    return AuditDraft(f"r{i}", "output", "allow", "p1", f"{i:064x}", "t", "u", [], {"model": "m"})


def journal(request_id: str) -> Rider:
    return Rider(
        J,  # type: ignore[arg-type]
        {
            "tenant": "t",
            "user_id": "u",
            "session": None,
            "request_id": request_id,
            "channel": "api",
            "ciphertext": f"sealed-{request_id}",
            "input_action": "allow",
            "output_action": "mask",
            "at": "2026-12-01T00:00:00.000000Z",
            "attempts": 0,
        },
    )


def consent(purpose: str, granted: bool) -> Rider:  # a Boolean column: left to Core
    row = {"tenant": "t", "user_id": "u", "purpose": purpose, "granted": granted, "channel": "api"}
    return Rider(CONSENT, row | {"source": "test", "at": "2026-12-01T00:00:00Z"})  # type: ignore[arg-type]


def user_key(user: str) -> Rider:
    row = {"tenant": "t", "user_id": user, "wrapped_key": f"wrapped-{user}", "created_at": "2026-12-01"}
    return Rider(KEYS, row)  # type: ignore[arg-type]


def stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            "journal": [
                tuple(r)
                for r in conn.execute(
                    select(J.c.request_id, J.c.ciphertext, J.c.output_action, J.c.session).order_by(J.c.id)
                )
            ],
            "consent": [
                tuple(r)
                for r in conn.execute(select(CONSENT.c.purpose, CONSENT.c.granted).order_by(CONSENT.c.id))
            ],
            "keys": [tuple(r) for r in conn.execute(select(KEYS.c.user_id, KEYS.c.wrapped_key))],
        }


def test_riders_of_several_tables_commit_with_the_entries_each_table_in_order(engine: Engine) -> None:
    riders = [
        journal("a"),
        consent("training", True),
        journal("b"),
        user_key("u1"),
        consent("marketing", False),
        journal("c"),
    ]
    sealed = write_batch(engine, [draft(1), draft(2)], riders)
    assert [e.seq for e in sealed] == [1, 2]
    assert stored(engine) == {
        "journal": [
            ("a", "sealed-a", "mask", None),
            ("b", "sealed-b", "mask", None),
            ("c", "sealed-c", "mask", None),
        ],
        "consent": [("training", True), ("marketing", False)],
        "keys": [("u1", "wrapped-u1")],
    }
    assert verify_chain(engine).entries == 2


def test_rows_of_one_table_with_different_columns_keep_their_order(engine: Engine) -> None:
    without_session = journal("b")
    short = Rider(without_session.table, {k: v for k, v in without_session.row.items() if k != "session"})
    write_batch(engine, [draft(1)], [journal("a"), short, journal("c")])
    assert [r[0] for r in stored(engine)["journal"]] == ["a", "b", "c"]


def test_a_failing_rider_rolls_the_whole_batch_back(engine: Engine) -> None:
    write_batch(engine, [draft(1)], [user_key("u1")])
    with pytest.raises(IntegrityError):
        write_batch(engine, [draft(2), draft(3)], [journal("a"), consent("training", True), user_key("u1")])
    assert chain_length(engine) == 1
    assert stored(engine) == {"journal": [], "consent": [], "keys": [("u1", "wrapped-u1")]}
    with engine.connect() as conn:
        assert conn.execute(select(AuditEntryRow.seq)).scalars().all() == [1]
    assert write_batch(engine, [draft(2)])[0].seq == 2
    assert verify_chain(engine).entries == 2


@contextmanager
def head_held(engine: Engine) -> Iterator[None]:
    """The chain's head locked by another writer (the head row on PostgreSQL, the write lock on SQLite):
    what the audit writer takes meanwhile waits, and joins its next transaction."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        conn.execute(_HEAD_FOR_UPDATE).first()
        yield


def test_a_batch_with_a_failing_rider_fails_every_waiter_and_the_writer_goes_on(engine: Engine) -> None:
    log = AuditLog(engine)
    log.start()
    try:
        log.append_sync(draft(1))
        log.carry(user_key("u1")).result(timeout=10)
        with head_held(engine):
            good = log.carry(journal("a"))
            bad = log.carry(user_key("u1"))  # its key exists: the batch's transaction fails
            entry = log.submit(draft(2))
        for fut in (good, bad, entry):
            with pytest.raises(StorageError):
                fut.result(timeout=30)
        assert chain_length(engine) == 1 and stored(engine)["journal"] == []
        assert log.append_sync(draft(3)).seq == 2  # a fresh connection, the same chain
        assert log.healthy
    finally:
        log.close()
    assert verify_chain(engine).entries == 2


def test_the_writer_survives_losing_its_connection(engine: Engine) -> None:
    """PostgreSQL: the held connection's backend killed between batches (a restart, an idle timeout);
    the next batch retries at once on a fresh connection and nobody's wait fails."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a SQLite connection is a file handle: nothing outside the process ends it")
    log = AuditLog(engine)
    log.start()
    try:
        log.append_sync(draft(1))
        held = log._conn
        assert held is not None
        pid = held.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        kill = text("SELECT pg_terminate_backend(:pid, 5000)")  # returns once the backend has ended
        with engine.connect() as conn:
            assert conn.execute(kill, {"pid": pid}).scalar()
        assert log.append_sync(draft(2)).seq == 2
        assert log._conn is not held  # the batch met the dead connection and retried on a new one
        assert log.healthy
    finally:
        log.close()
    assert verify_chain(engine).entries == 2


def test_statements_are_the_sql_core_renders_with_the_lock() -> None:
    pg, lite = psycopg.dialect(), pysqlite.dialect()
    head = prepare(_HEAD_FOR_UPDATE, pg)
    assert head is not None and head.sql.endswith("FOR UPDATE") and head.fixed == {"id_1": 1}
    assert head.sql == str(_HEAD_FOR_UPDATE.compile(dialect=pg))
    update = prepare(_UPDATE_HEAD, lite, ("head_seq", "head_hash", "head_mac"))
    assert update is not None and update.positional
    assert update.params({"head_seq": 5, "head_hash": "h", "head_mac": None}) == (5, "h", None, 1)
    entries = prepare(_INSERT_ENTRIES, pg, ("seq", "request_id"))
    assert entries is not None and "RETURNING" not in entries.sql


def test_statements_that_need_cores_per_row_work_are_left_to_core() -> None:
    lite, pg = pysqlite.dialect(), psycopg.dialect()
    with_default = Table(
        "t", MetaData(), Column("id", Integer, primary_key=True), Column("x", String(8), default="d")
    )
    assert prepare(insert(with_default), lite, ("id",)) is None  # Core would fill x in
    assert prepare(insert(with_default), lite, ("id", "x")) is not None
    columns = ("tenant", "user_id", "purpose", "granted", "channel", "source", "at")
    for dialect in (lite, pg):  # Core checks and converts a Boolean's values on every dialect
        assert prepare(insert(CONSENT), dialect, columns) is None
        assert prepare(insert(J), dialect, tuple(journal("a").row)) is not None


def test_a_prepared_statement_runs_only_inside_a_transaction(engine: Engine) -> None:
    """SQLite's driver runs in autocommit mode here: a statement outside BEGIN would commit on its own."""
    prepared = prepare(insert(KEYS), engine.dialect, tuple(user_key("u1").row))
    assert prepared is not None
    with engine.connect() as conn, pytest.raises(InvalidRequestError):
        prepared.run(conn, prepared.params(user_key("u1").row))
    assert stored(engine)["keys"] == []


def test_statement_listeners_still_see_the_writers_statements(engine: Engine) -> None:
    """Tracing (OpenTelemetry's SQLAlchemy instrumentation) listens to cursor executions: with a listener
    registered the prepared statements run through SQLAlchemy's execution, so it sees them."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        write_batch(engine, [draft(1)], [journal("a")])
        write_batch(engine, [draft(2)])
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert sum(s.startswith("INSERT INTO audit_entries") for s in seen) == 2
    assert sum(s.startswith("INSERT INTO keep_journal") for s in seen) == 1
    assert any(s.startswith("UPDATE audit_head") for s in seen)
    if engine.dialect.name == "postgresql":
        assert sum(s.endswith("FOR UPDATE") for s in seen) == 2
    assert verify_chain(engine).entries == 2 and stored(engine)["journal"][0][0] == "a"
