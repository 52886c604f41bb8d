"""The SQLite writer gate: writers of one process take the file's write lock in turn through a lock that
hands over at once, instead of polling in SQLite's busy handler (1, 2, 5, 10 … ms sleeps)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from hegui.records import db
from hegui.records.db import GatedConnection, make_engine


def _engine(path: Path, *, gate: bool = True) -> Engine:
    eng = make_engine(f"sqlite:///{path}", writer_gate=gate)
    with eng.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        conn.commit()
    return eng


@pytest.fixture
def db_file(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "gate.db"


def _write_without_waiting_in_sqlite(eng: Engine, value: int, errors: list[BaseException]) -> None:
    """An immediate write whose connection does not wait in SQLite at all (busy timeout 0): it succeeds
    only if the lock was free when it asked, so any wait it survives happened in the gate."""
    try:
        with eng.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            conn.commit()
            with conn.execution_options(sqlite_immediate=True).begin():
                conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
    except BaseException as exc:  # handed to the test thread
        errors.append(exc)


def test_a_second_writer_waits_in_the_gate_and_writes_when_the_first_commits(db_file: Path) -> None:
    first, second = _engine(db_file), _engine(db_file)  # two engines on one file share its gate
    errors: list[BaseException] = []
    try:
        with first.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            conn.execute(text("INSERT INTO t VALUES (1)"))
            waiter = threading.Thread(target=_write_without_waiting_in_sqlite, args=(second, 2, errors))
            waiter.start()
            waiter.join(0.3)
            assert waiter.is_alive()  # held at the gate, not refused by SQLite
        waiter.join(10)
        assert not waiter.is_alive() and errors == []
        with second.connect() as conn:
            assert sorted(conn.execute(text("SELECT x FROM t")).scalars()) == [1, 2]
    finally:
        first.dispose()
        second.dispose()


def test_without_the_gate_the_same_writer_meets_a_locked_database(db_file: Path) -> None:
    """The control of the test above: the wait happened in the gate, not anywhere else."""
    first, second = _engine(db_file, gate=False), _engine(db_file, gate=False)
    errors: list[BaseException] = []
    try:
        with first.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            conn.execute(text("INSERT INTO t VALUES (1)"))
            waiter = threading.Thread(target=_write_without_waiting_in_sqlite, args=(second, 2, errors))
            waiter.start()
            waiter.join(10)
        assert len(errors) == 1 and "locked" in str(errors[0])
    finally:
        first.dispose()
        second.dispose()


def _gate_of(eng: Engine) -> threading.Lock:
    with eng.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, GatedConnection)
        return raw.gate


def test_rollback_and_an_error_in_the_transaction_release_the_gate(db_file: Path) -> None:
    eng = _engine(db_file)
    gate = _gate_of(eng)
    try:
        with eng.connect().execution_options(sqlite_immediate=True) as conn:
            conn.begin()
            assert gate.locked()
            conn.rollback()
            assert not gate.locked()
        with (
            pytest.raises(ZeroDivisionError),
            eng.connect().execution_options(sqlite_immediate=True) as conn,
            conn.begin(),
        ):
            conn.execute(text("INSERT INTO t VALUES (1)"))
            raise ZeroDivisionError
        assert not gate.locked()
        with eng.connect() as conn:  # a plain (deferred) transaction does not take it
            conn.execute(text("SELECT 1"))
            assert not gate.locked()
    finally:
        eng.dispose()


def test_a_begin_that_fails_releases_the_gate(db_file: Path) -> None:
    eng = _engine(db_file)
    gate = _gate_of(eng)
    other = sqlite3.connect(db_file, isolation_level=None)  # another process's writer, no gate
    try:
        other.execute("BEGIN IMMEDIATE")
        with eng.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            conn.commit()
            with pytest.raises(OperationalError, match="locked"):
                conn.execution_options(sqlite_immediate=True).begin()
        assert not gate.locked()
    finally:
        other.execute("ROLLBACK")
        other.close()
        eng.dispose()


def test_a_writer_that_cannot_pass_the_gate_in_time_gets_a_locked_error(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "BUSY_SECONDS", 0.2)
    eng = _engine(db_file)
    gate = _gate_of(eng)
    gate.acquire()  # a writer of this process that does not finish
    try:
        with (
            pytest.raises(OperationalError, match="another writer of this process"),
            eng.connect().execution_options(sqlite_immediate=True) as conn,
            conn.begin(),
        ):
            pass
    finally:
        gate.release()
        eng.dispose()


def test_engines_on_other_files_have_other_gates(tmp_path: Path) -> None:
    a, b = _engine(tmp_path / "a.db"), _engine(tmp_path / "b.db")
    try:
        assert _gate_of(a) is not _gate_of(b)
        assert _gate_of(a) is _gate_of(_engine(tmp_path / "a.db"))
    finally:
        a.dispose()
        b.dispose()
