"""Engines and migrations: SQLite (WAL, one file in the data directory) or PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from hegui.errors import ConfigError, StorageError


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", writer_gate: bool = True) -> Engine:
    """An engine for ``url``. SQLite gets WAL, the chosen synchronous mode, explicit transactions and,
    unless ``writer_gate`` is false (a benchmark's comparison), the process's writer gate of the file
    (`GatedConnection`)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {exc}", key="HEGUI_DATABASE_URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": BUSY_SECONDS}
        if writer_gate:
            connect_args["factory"] = _gated(parsed.database)
        engine = create_engine(url, connect_args=connect_args)
        _sqlite_setup(engine, sqlite_synchronous)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"no driver for {parsed.get_backend_name()}: {exc}. For PostgreSQL: pip install 'hegui[postgres]'",
            key="HEGUI_DATABASE_URL",
        ) from None


@contextmanager
def transaction(bind: Engine | Connection, *, immediate: bool = False) -> Iterator[Connection]:
    """A transaction on ``bind``: a new one on an engine (committed on leaving; BEGIN IMMEDIATE on SQLite
    when ``immediate``: a writer that reads first), or, on a connection, the caller's own, which the
    caller commits. So one function serves both a caller that needs its own commit and a batch that
    does many rows' work in one transaction (the keep journal)."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect().execution_options(sqlite_immediate=immediate) as conn, conn.begin():
        yield conn


@contextmanager
def reading(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection to read on: a new one from an engine, or the caller's (inside its transaction)."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn


#: How long a SQLite writer waits for the write lock (the busy timeout, and the writer gate's wait).
BUSY_SECONDS = 30.0

_gates: dict[str, threading.Lock] = {}
_gates_lock = threading.Lock()


class GatedConnection(sqlite3.Connection):
    """A pysqlite connection whose write transactions (BEGIN IMMEDIATE) first take its database file's
    writer gate, a lock shared by every connection of this process to that file, released when the
    transaction commits or rolls back.

    Why: threads of one process that want SQLite's write lock at once (the audit writer, the keep
    journal's worker, the records rooms) would otherwise wait in SQLite's busy handler, which polls with
    growing sleeps (1, 2, 5, 10, 15 … ms): a writer that waits for a 3 ms transaction sleeps 8 ms (measured with
    Debian's SQLite 3.40), and by the handler's table one that waits for 9 ms sleeps 18. A lock hands over as soon as it
    is released. In the gateway the gain is small beside the batch's own length (RESULTS.md,
    `sqlite_writer_gate`); the tail of a request that met a keep batch was mostly the batch's CPU work,
    which the keep worker now does while no request is in flight (`KeepWorker.quiet`). Other processes on
    the file still meet the busy handler; no library offers this gate, hence these few lines."""

    gate: threading.Lock  # set per database file by `_gated`
    holds_gate = False

    def take_gate(self) -> None:
        """Wait for the gate (at most `BUSY_SECONDS`, as SQLite would); OperationalError if it stays shut."""
        if not self.gate.acquire(timeout=BUSY_SECONDS):
            locked = sqlite3.OperationalError(
                f"database is locked: another writer of this process held it for {BUSY_SECONDS:g} s"
            )
            raise OperationalError("BEGIN IMMEDIATE", None, locked)
        self.holds_gate = True

    def release_gate(self) -> None:
        if self.holds_gate:
            self.holds_gate = False
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_gate()


def _gated(database: str | None) -> type[GatedConnection]:
    """The connection class of ``database``'s writer gate: one gate per file in this process, shared by
    every engine on it; an in-memory database gets its own."""
    if not database or database == ":memory:":
        gate = threading.Lock()
    else:
        with _gates_lock:
            gate = _gates.setdefault(str(Path(database).resolve()), threading.Lock())
    return type("GatedConnection", (GatedConnection,), {"gate": gate})


def _sqlite_setup(engine: Engine, synchronous: str) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up front; the
    # documented SQLAlchemy recipe: switch it off and emit BEGIN ourselves. Writers that read then
    # write (the audit head) ask for BEGIN IMMEDIATE through the "sqlite_immediate" execution option.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get("sqlite_replayable", False) and synchronous != "NORMAL":
            # A transaction that a crash may lose because it would be done again (the keep journal's
            # batch: its rows stay until its commit) need not wait for fsync while holding the one
            # write lock. In WAL mode a later synced commit syncs it too, in order.
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            conn.info["hegui_synchronous"] = synchronous
        if not options.get("sqlite_immediate", False):
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_conn = conn.connection.dbapi_connection
        if isinstance(dbapi_conn, GatedConnection):
            dbapi_conn.take_gate()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(dbapi_conn, GatedConnection):
                dbapi_conn.release_gate()
            raise

    @event.listens_for(engine.pool, "checkin")
    def _checkin(dbapi_conn: Any, record: Any) -> None:
        restore = record.info.pop("hegui_synchronous", None)
        if restore is not None and dbapi_conn is not None:  # the next user gets the engine's mode back
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA synchronous={restore}")
            cur.close()


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("hegui.records").joinpath("migrations")))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch (a no-op when it is there already).

    Rooms add their tables as their own branches off revision 0001, so independent rooms never
    compete for the next revision number."""
    cfg = _alembic_config(engine)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except Exception as exc:
        raise StorageError(f"database migration failed on {engine.url.render_as_string()}: {exc}") from exc


def schema_is_current(engine: Engine) -> bool:
    heads = set(ScriptDirectory.from_config(_alembic_config(engine)).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads
