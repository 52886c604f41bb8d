"""Statements rendered once per dialect and run on the driver's cursor: the audit writer's few
statements, which run in every group commit.

Why: SQLAlchemy Core's `Connection.execute` of a statement built once still costs ~20 µs per call on
this machine (cache key, compiled-cache look-up, per-row parameter construction and processing, result
set-up, events), `exec_driver_sql` about half of that, the driver's own cursor ~5 µs; the writer runs
four or more statements per batch, in the thread every request's decision waits on
(benchmarks/audit_cpu.py). The SQL is what Core renders for the same dialect (PostgreSQL's ``FOR
UPDATE`` and bind casts included), with the same parameters, on the connection's own DBAPI connection,
inside the transaction begun on it (SQLite's BEGIN IMMEDIATE and writer gate are the begin event's). A
driver error is raised as SQLAlchemy's (`OperationalError`, `IntegrityError`: what the writer retries
on), and a lost connection is invalidated. When the engine logs statements (``echo``) or statement or
error listeners are registered on it (``before_cursor_execute``, ``after_cursor_execute``,
``handle_error``: tracing, a benchmark), the same SQL runs through `Connection.exec_driver_sql` instead,
so that they see it (hegui itself registers none).

What it skips is the per-row work Core does to parameters: bind processors (type conversion) and
Python-side column defaults and ``onupdate`` values. So a statement is prepared only when none of its
parameters has a bind processor on the dialect and Core would compute no value for it per row (its
compiled form prefetches nothing); otherwise `prepare` returns None and the caller runs it through Core.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ClauseElement

Params = tuple[Any, ...] | dict[str, Any]


@dataclass(frozen=True, slots=True)
class Prepared:
    """One statement as the driver takes it: its SQL and how a row of values becomes its parameters."""

    sql: str
    #: The parameters the caller gives, in the statement's order on a positional driver (qmark: SQLite).
    names: tuple[str, ...]
    positional: bool
    #: Parameters whose value is part of the statement (the head row's id).
    fixed: Mapping[str, Any]

    def params(self, values: Mapping[str, Any]) -> Params:
        """The driver's parameters for one row given as a mapping of the parameter names."""
        if self.positional:
            return tuple(self.fixed[n] if n in self.fixed else values[n] for n in self.names)
        return {**self.fixed, **{n: values[n] for n in self.names if n not in self.fixed}}

    def many(self, rows: Sequence[Mapping[str, Any]]) -> list[Params]:
        """The parameters of several rows (mappings with exactly the statement's names)."""
        if self.fixed:
            return [self.params(r) for r in rows]
        get = _getter(operator.itemgetter, self.names)
        if self.positional:
            return [get(r) for r in rows]
        return [dict(zip(self.names, get(r), strict=True)) for r in rows]

    def many_of(self, objects: Sequence[Any]) -> list[Params]:
        """The parameters of several rows given as objects with the names as attributes."""
        if self.fixed:
            return [self.params({n: getattr(o, n) for n in self.names}) for o in objects]
        get = _getter(operator.attrgetter, self.names)
        if self.positional:
            return [get(o) for o in objects]
        return [dict(zip(self.names, get(o), strict=True)) for o in objects]

    def run(self, conn: Connection, params: list[Params] | Params) -> None:
        """Execute on ``conn`` (a list of rows: the driver's executemany)."""
        _on_driver(conn, self.sql, params, fetch=False)

    def first(self, conn: Connection, params: Params) -> Sequence[Any] | None:
        """Execute a query on ``conn``: its first row (a tuple, the columns in the SELECT's order)."""
        return _on_driver(conn, self.sql, params, fetch=True)  # type: ignore[no-any-return]


def _on_driver(conn: Connection, sql: str, params: list[Params] | Params, *, fetch: bool) -> Any:
    """``sql`` on the driver's cursor of ``conn``, inside the transaction ``conn`` has begun. A driver error
    is raised as SQLAlchemy raises it (`DBAPIError.instance`: OperationalError, IntegrityError …, with
    ``connection_invalidated``), and a lost connection is invalidated as SQLAlchemy would."""
    if not conn.in_transaction():  # SQLite's driver is in autocommit mode: a statement outside BEGIN commits
        raise InvalidRequestError(
            "a prepared statement runs only inside a transaction begun on its connection"
        )
    if isinstance(params, list) and len(params) == 1:
        params = params[0]  # psycopg runs executemany as a pipeline, which costs more than one row
    if _observed(conn):  # someone listens to statements (tracing, a benchmark): let them see these too
        result = conn.exec_driver_sql(sql, params)
        return result.fetchone() if fetch else None
    dialect = conn.dialect
    cursor = conn.connection.cursor()
    many = isinstance(params, list)
    try:
        if isinstance(params, list):
            cursor.executemany(sql, params)  # type: ignore[arg-type]  # rows all of one kind
        else:
            cursor.execute(sql, params)
        return cursor.fetchone() if fetch else None
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        wrapped = DBAPIError.instance(
            sql,
            params,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=conn.engine.hide_parameters,
            connection_invalidated=lost,
            dialect=dialect,
            ismulti=many,
        )
        if lost:
            conn.invalidate(exc)
        raise wrapped from exc
    finally:
        cursor.close()


def _observed(conn: Connection) -> bool:
    """Whether statement or error listeners are registered on ``conn``'s engine (OpenTelemetry's
    SQLAlchemy instrumentation is one), or it logs statements (``echo``): they see only what runs
    through SQLAlchemy's execution."""
    dispatch = conn.dispatch
    errors = conn.dialect.dispatch.handle_error  # a dialect event, though listened to on the engine
    listened = dispatch.before_cursor_execute or dispatch.after_cursor_execute or errors
    return bool(listened or conn.engine.echo)


def _getter(make: Any, names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """``make(*names)`` returning a tuple also for one name (itemgetter and attrgetter do not)."""
    get = make(*names)
    if len(names) == 1:
        return lambda row: (get(row),)
    return get  # type: ignore[no-any-return]


def prepare(statement: ClauseElement, dialect: Dialect, keys: Sequence[str] = ()) -> Prepared | None:
    """``statement`` rendered for ``dialect``, taking the parameters ``keys`` (an INSERT: the columns of
    its rows); None when it cannot run without Core's per-row work (see the module's docstring)."""
    return _prepare(statement, dialect, tuple(keys))


@functools.lru_cache(maxsize=128)
def _prepare(statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> Prepared | None:
    compiled = statement.compile(
        dialect=dialect,
        column_keys=list(keys) if isinstance(statement, Insert) else None,
        for_executemany=True,  # an INSERT of many rows: no implicit RETURNING of the new ids
    )
    if not isinstance(compiled, SQLCompiler):
        return None
    if compiled.escaped_bind_names or compiled.insert_prefetch or compiled.update_prefetch:
        return None  # names the driver would not see as given, or defaults Core computes per row
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    fixed: dict[str, Any] = {}
    for name, bind in binds.items():
        if bind.expanding or bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
            return None
        if name not in keys:
            if bind.required or callable(bind.value):
                return None
            fixed[name] = bind.value
    if set(keys) - set(binds):
        return None
    if dialect.positional:
        order = tuple(compiled.positiontup or ())
        if set(order) != set(binds):
            return None
        return Prepared(compiled.string, order, True, fixed)
    return Prepared(compiled.string, tuple(n for n in binds if n not in fixed), False, fixed)
