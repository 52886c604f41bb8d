"""The audit chain: one entry per decision, hash-chained, written with group commit.

Each entry's hash covers its fields and the previous entry's hash, so changing, removing or reordering
any stored row breaks the chain from there on. `AuditLog.append` returns only once the entry is
durable (committed); concurrent appends share one transaction (group commit), so one fsync serves
many requests. Entries hold where findings are and what kind they are, never the content: the content
is represented by a keyed hash (HMAC-SHA256), which proves what was said to whoever holds the text and
the key, and tells nothing to anyone else.

The plain hashes stop accidents and clumsy edits, not someone who can write the database: they can be
recomputed. Two measures make the chain verifiable against something the database does not hold: each
entry's MAC under `HEGUI_AUDIT_KEY` (see `audit_keys`), and signed checkpoints of the head written
elsewhere (see `checkpoints`). Which attacker each one stops is in docs/audit.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import hmac
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Engine, Table, bindparam, insert, inspect, null, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from hegui.errors import StorageError
from hegui.records.audit_keys import MacKey, MacKeyRing
from hegui.records.prepared import prepare
from hegui.records.tables import AuditEntryRow, AuditHeadRow

if TYPE_CHECKING:
    from hegui.records.audit_verify import ChainReport, TrustedCheckpoints

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_HEAD_ID = 1


# One encoder for every call (json.dumps with options builds a new one each time; encode keeps no state).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical(value: Any) -> str:
    return _CANONICAL.encode(value)


def utc_now() -> str:
    """Now, as every record stores time: ``2026-01-02T03:04:05.678901Z`` (isoformat: half strftime's cost,
    and this is called several times per request)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """What a caller records; the log adds sequence number, time and hashes."""

    request_id: str
    stage: str
    action: str
    policy_version: str
    content_hash: str
    tenant: str = "default"
    end_user: str | None = None
    findings: Sequence[Mapping[str, Any]] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rider:
    """A row committed in the writer's next transaction, with the entries of that batch: what must be
    durable no later than a request's decision (the keep journal, records/keep.py) rides with the group
    commit instead of paying a commit of its own. Not part of the chain."""

    table: Table
    row: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    request_id: str
    ts: str
    tenant: str
    end_user: str | None
    stage: str
    action: str
    findings: str
    detail: str
    policy_version: str
    content_hash: str
    prev_hash: str
    entry_hash: str
    key_id: str | None = None  # the MAC key's id; None: written without HEGUI_AUDIT_KEY
    mac: str | None = None

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "request_id": self.request_id,
            "ts": self.ts,
            "tenant": self.tenant,
            "end_user": self.end_user,
            "stage": self.stage,
            "action": self.action,
            "findings": self.findings,
            "detail": self.detail,
            "policy_version": self.policy_version,
            "content_hash": self.content_hash,
            "prev_hash": self.prev_hash,
        }

    def canonical_bytes(self) -> bytes:
        """The bytes both the hash and the MAC cover (the previous hash included)."""
        return canonical(self.hashed_fields()).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def compute_mac(self, key: MacKey, prev_mac: str | None) -> str:
        return key.mac(prev_mac or "", self.canonical_bytes())

    def stored(self) -> dict[str, Any]:
        return self.hashed_fields() | {"entry_hash": self.entry_hash, "key_id": self.key_id, "mac": self.mac}

    def to_json(self) -> dict[str, Any]:
        out = self.stored()
        out["findings"] = json.loads(self.findings)
        out["detail"] = json.loads(self.detail)
        return out


def content_hasher(key: bytes) -> Any:
    """A function text -> keyed hash (hex) of its UTF-8 bytes."""

    def content_hash(text: str) -> str:
        return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    return content_hash


def _seal(
    draft: AuditDraft, seq: int, prev_hash: str, key: MacKey | None, prev_mac: str | None
) -> AuditEntry:
    """The entry of ``draft`` at ``seq``: its hashed fields serialized once, for the hash and the MAC
    (the same bytes as `AuditEntry.canonical_bytes`, which the verifier recomputes)."""
    fields: dict[str, Any] = {
        "seq": seq,
        "request_id": draft.request_id,
        "ts": utc_now(),
        "tenant": draft.tenant,
        "end_user": draft.end_user,
        "stage": draft.stage,
        "action": draft.action,
        "findings": canonical(list(draft.findings)),
        "detail": canonical(dict(draft.detail)),
        "policy_version": draft.policy_version,
        "content_hash": draft.content_hash,
        "prev_hash": prev_hash,
    }
    data = canonical(fields).encode()
    return AuditEntry(
        **fields,
        entry_hash=hashlib.sha256(data).hexdigest(),
        key_id=key.key_id if key else None,
        mac=key.mac(prev_mac or "", data) if key else None,
    )


AUDIT_KEYS_OPTION = "hegui_audit_keys"


def with_audit_keys(engine: Engine, keys: MacKeyRing) -> Engine:
    """The engine, carrying the MAC key ring: every `write_batch` through it (the writer thread's, and the
    DSR, retention, egress and CLI entries alike) authenticates what it appends. Carried as an execution
    option so that no caller can forget to pass it, and no global holds it."""
    return engine.execution_options(**{AUDIT_KEYS_OPTION: keys}) if keys.enabled else engine


def _mac_key(conn: Connection) -> MacKey | None:
    keys = conn.get_execution_options().get(AUDIT_KEYS_OPTION)
    return keys.current if isinstance(keys, MacKeyRing) else None


# Built once: constructing statements per batch cost more than the commit itself. Run as the driver's SQL
# rendered once per dialect (records/prepared.py), through Core where that cannot be done.
_HEAD_FOR_UPDATE = (
    select(AuditHeadRow.seq, AuditHeadRow.entry_hash, AuditHeadRow.mac)
    .where(AuditHeadRow.id == _HEAD_ID)
    .with_for_update()
)
_INSERT_ENTRIES = insert(AuditEntryRow)
_ENTRY_COLUMNS = (*AuditEntry.__dataclass_fields__,)  # the columns of `AuditEntry.stored`
_UPDATE_HEAD = (
    update(AuditHeadRow)
    .where(AuditHeadRow.id == _HEAD_ID)
    .values(seq=bindparam("head_seq"), entry_hash=bindparam("head_hash"), mac=bindparam("head_mac"))
)
_INSERT_HEAD = insert(AuditHeadRow).values(
    id=_HEAD_ID, seq=bindparam("head_seq"), entry_hash=bindparam("head_hash"), mac=bindparam("head_mac")
)


@functools.cache
def _insert_into(table: Table) -> Any:
    """A rider's insert, built once per table."""
    return insert(table)


def _connect(engine: Engine) -> Connection:
    """A connection whose transactions are writers from their start (SQLite: BEGIN IMMEDIATE, the writer
    gate), as appending must be: it reads the head, then writes after it."""
    return engine.connect().execution_options(sqlite_immediate=True)


def write_batch(
    engine: Engine,
    drafts: Sequence[AuditDraft],
    riders: Sequence[Rider] = (),
    more: Callable[[], tuple[Sequence[AuditDraft], Sequence[Rider]]] | None = None,
) -> list[AuditEntry]:
    """Append ``drafts`` in one transaction, holding the head row's lock, and insert the ``riders`` in the
    same transaction. Returns the sealed entries (`append_on` on a connection of its own)."""
    with _connect(engine) as conn:
        return append_on(conn, drafts, riders, more)


def append_on(
    conn: Connection,
    drafts: Sequence[AuditDraft],
    riders: Sequence[Rider] = (),
    more: Callable[[], tuple[Sequence[AuditDraft], Sequence[Rider]]] | None = None,
) -> list[AuditEntry]:
    """`write_batch` in one transaction begun on ``conn`` (from `_connect`, not in a transaction): the
    audit writer's thread holds one connection between batches instead of taking one from the pool each
    time.

    ``more()``, called once the lock is held, gives entries that arrived meanwhile; they join this
    transaction. With several writers on one chain (replicas on PostgreSQL) the lock is where a writer
    waits for the others' commits, and what queued during that wait then shares this commit instead of
    waiting for the next one (measured: benchmarks/audit_contention.py).

    The riders are inserted before the entries, one executemany per table (see `_insert_riders`); a
    rider that fails to insert rolls the whole batch back, entries included.

    With a MAC key on the engine (`with_audit_keys`) every entry is authenticated. Without one, appending
    to a chain whose head carries a MAC is refused: an unauthenticated entry after authenticated ones is
    what a forger would write, and the verifier reports it as such."""
    with conn.begin():
        if not drafts and more is None:  # riders alone: no entry, so no need of the head's lock
            _insert_riders(conn, riders)
            return []
        key = _mac_key(conn)
        head = _head(conn)
        if more is not None:
            more_drafts, more_riders = more()
            drafts, riders = [*drafts, *more_drafts], [*riders, *more_riders]
        _insert_riders(conn, riders)
        if not drafts:
            return []
        seq, prev, prev_mac = (head[0], head[1], head[2]) if head else (0, GENESIS, None)
        if key is None and prev_mac is not None:
            raise StorageError(
                f"the audit chain is authenticated (entry {seq} carries a MAC) and this writer has no "
                "HEGUI_AUDIT_KEY: refusing to append unauthenticated entries"
            )
        sealed: list[AuditEntry] = []
        for draft in drafts:
            seq += 1
            entry = _seal(draft, seq, prev, key, prev_mac)
            sealed.append(entry)
            prev, prev_mac = entry.entry_hash, entry.mac
        entries = prepare(_INSERT_ENTRIES, conn.dialect, _ENTRY_COLUMNS)
        if entries is None:
            conn.execute(_INSERT_ENTRIES, [e.stored() for e in sealed])
        else:
            entries.run(conn, entries.many_of(sealed))
        _execute(
            conn,
            _UPDATE_HEAD if head else _INSERT_HEAD,
            {"head_seq": seq, "head_hash": prev, "head_mac": prev_mac},
        )
    return sealed


def _head(conn: Connection) -> Sequence[Any] | None:
    """The head row, locked for this transaction: (seq, entry hash, MAC); None before the first entry."""
    prepared = prepare(_HEAD_FOR_UPDATE, conn.dialect)
    if prepared is None:
        return conn.execute(_HEAD_FOR_UPDATE).first()
    return prepared.first(conn, prepared.params({}))


def _execute(conn: Connection, statement: Any, params: Mapping[str, Any]) -> None:
    """One statement with ``params`` (its bind parameters' names), on the driver when it can be."""
    prepared = prepare(statement, conn.dialect, tuple(params))
    if prepared is None:
        conn.execute(statement, dict(params))
    else:
        prepared.run(conn, prepared.params(params))


def _insert_riders(conn: Connection, riders: Sequence[Rider]) -> None:
    """The riders, one executemany per table (per run of rows with the same columns): each table's rows in
    their order, the tables in the order of their first row. (A row that referred to another table's
    row would come after it in the queue, so its table after that one; no rider refers to another.)"""
    tables: dict[Table, list[Mapping[str, Any]]] = {}
    for rider in riders:
        tables.setdefault(rider.table, []).append(rider.row)
    for table, rows in tables.items():
        statement = _insert_into(table)
        for columns, run in itertools.groupby(rows, key=tuple):
            same = list(run)
            prepared = prepare(statement, conn.dialect, columns)
            if prepared is None:
                conn.execute(statement, [dict(r) for r in same])
            else:
                prepared.run(conn, prepared.many(same))


AuditSink = Callable[[Sequence[AuditDraft]], Sequence[AuditEntry]]
"""Where a room appends its own audit entries (DSR, egress alerts): a running gateway's `AuditLog.write`
(the one writer thread: group commit, and one order for every entry), or, in a process without one (the
CLI), `direct_sink` (`write_batch` on the engine). Returns once every entry is durable."""


def direct_sink(engine: Engine) -> AuditSink:
    """`write_batch` on ``engine``: for a process that runs no AuditLog (one-off CLI commands)."""
    return functools.partial(write_batch, engine)


class HeadObserver(Protocol):
    """Told the committed head after every group commit (the checkpointer)."""

    problem: str | None  # why the last checkpoint failed, None when it did not

    def advanced(self, seq: int, head_hash: str) -> None: ...

    def close(self) -> None: ...


_STOP = object()


class AuditLog:
    """Appends entries from any thread or coroutine through one writer thread (group commit)."""

    def __init__(self, engine: Engine, *, batch_max: int = 256, observer: HeadObserver | None = None) -> None:
        self._engine = engine
        self._batch_max = batch_max
        self._observer = observer
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        #: The writer thread's connection, held between batches (a pool checkout and check-in per batch
        #: cost as much as two of its statements); dropped after a batch that failed, and at the end.
        self._conn: Connection | None = None
        self._failed: str | None = None
        self.batches = 0
        self.entries = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hegui-audit-writer", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Write everything queued, stop the writer, then let the observer checkpoint the final head."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        if self._observer is not None:
            self._observer.close()

    @property
    def healthy(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._failed is None

    @property
    def checkpoint_problem(self) -> str | None:
        """Why the last checkpoint could not be written (None: it was, or checkpoints are off)."""
        return self._observer.problem if self._observer is not None else None

    def submit(self, draft: AuditDraft) -> concurrent.futures.Future[AuditEntry]:
        """Queue an entry; the future resolves once it is committed (or fails with StorageError)."""
        if self._thread is None or not self._thread.is_alive():
            raise StorageError("the audit log is not running")
        fut: concurrent.futures.Future[AuditEntry] = concurrent.futures.Future()
        self._queue.put((draft, fut))
        return fut

    def carry(self, rider: Rider) -> concurrent.futures.Future[None]:
        """Queue a row for the next group commit (`Rider`); the future resolves once it is committed.
        An entry submitted after it is durable only once the row is (one writer, one order)."""
        if self._thread is None or not self._thread.is_alive():
            raise StorageError("the audit log is not running")
        fut: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._queue.put((rider, fut))
        return fut

    async def append(self, draft: AuditDraft) -> AuditEntry:
        """Append and wait until the entry is durable."""
        return await asyncio.wrap_future(self.submit(draft))

    def append_sync(self, draft: AuditDraft) -> AuditEntry:
        return self.submit(draft).result()

    def write(self, drafts: Sequence[AuditDraft]) -> list[AuditEntry]:
        """Append ``drafts`` in order through the writer thread and wait until all are durable: the
        `AuditSink` of a running gateway. Blocks: call it from a worker thread, never on the event loop."""
        futures = [self.submit(d) for d in drafts]
        return [f.result() for f in futures]

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            stop = item is _STOP
            batch = [] if stop else [item]
            if batch:
                batch[0][1].set_running_or_notify_cancel()
            stop = self._take_queued(batch) or stop
            if batch:
                try:
                    stop = self._write(batch) or stop
                except Exception as exc:  # the writer must outlive any one batch: fail it, go on
                    self._drop_connection()
                    self._fail(batch, exc)
            if stop:
                self._drop_connection()
                return

    def _take_queued(self, batch: list[tuple[Any, concurrent.futures.Future[Any]]]) -> bool:
        """Move what is queued into ``batch`` (up to the batch size); True when the stop was among it.
        A waiter that went away (a client that disconnected) cancels only its wait: the decision is
        still recorded. Marking the futures running makes them uncancellable."""
        stop = False
        while len(batch) < self._batch_max:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is _STOP:
                stop = True
                continue
            nxt[1].set_running_or_notify_cancel()
            batch.append(nxt)
        return stop

    def _write(self, batch: list[tuple[Any, concurrent.futures.Future[Any]]]) -> bool:
        """Write ``batch`` (entries and keep-journal riders) and what queues until the head's lock is
        held; True when the stop was queued meanwhile (the entries queued before it are in this batch)."""
        stop = False

        def more() -> tuple[list[AuditDraft], list[Rider]]:
            nonlocal stop
            before = len(batch)
            stop = self._take_queued(batch) or stop
            return _split(batch[before:])

        for attempt in range(3):
            try:
                # A retry writes everything taken so far; more() adds to it once the lock is held.
                drafts, riders = _split(batch)
                if self._conn is None:
                    self._conn = _connect(self._engine)
                sealed = append_on(self._conn, drafts, riders, more)
            except (OperationalError, IntegrityError) as exc:  # locked by, or lost a race to, another writer
                self._drop_connection()  # or lost its connection: the retry takes a fresh one
                if attempt < 2:
                    if not (isinstance(exc, OperationalError) and exc.connection_invalidated):
                        time.sleep(0.05 * (attempt + 1))  # a lost connection needs no wait
                    continue
                self._fail(batch, exc)
                return stop
            except SQLAlchemyError as exc:
                self._drop_connection()
                self._fail(batch, exc)
                return stop
            break
        self._failed = None
        self.batches += 1
        self.entries += len(sealed)
        if self._observer is not None and sealed:
            self._observer.advanced(sealed[-1].seq, sealed[-1].entry_hash)
        entries = iter(sealed)
        for item, fut in batch:
            result = next(entries) if isinstance(item, AuditDraft) else None
            if not fut.done():
                fut.set_result(result)
        return stop

    def _drop_connection(self) -> None:
        """Give the held connection back (the pool discards it if it is broken); the next batch takes a
        fresh one. A connection that cannot even be closed is left to the garbage collector."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()

    def _fail(self, batch: list[tuple[Any, concurrent.futures.Future[Any]]], exc: Exception) -> None:
        self._failed = repr(exc)
        log.error(
            "audit write failed; %d decisions not recorded and their responses withheld: %r", len(batch), exc
        )
        err = StorageError(f"could not record the audit entry: {exc.__class__.__name__}")
        for _, fut in batch:
            if not fut.done():
                fut.set_exception(err)


def _split(batch: Sequence[tuple[Any, Any]]) -> tuple[list[AuditDraft], list[Rider]]:
    """A writer batch's entries and riders, each in queue order."""
    return (
        [d for d, _ in batch if isinstance(d, AuditDraft)],
        [r for r, _ in batch if isinstance(r, Rider)],
    )


_T = AuditEntryRow.__table__
_ENTRY = select(*_T.columns)
# A database not yet migrated to MACs (0002a) can still be read and verified, e.g. by an auditor with
# read-only access: its entries are unauthenticated.
_ENTRY_BEFORE_MACS = select(*(c for c in _T.columns if c.name not in ("key_id", "mac")))


def _entry_select(engine: Engine) -> Any:
    columns = {c["name"] for c in inspect(engine).get_columns("audit_entries")}
    return _ENTRY if "mac" in columns else _ENTRY_BEFORE_MACS


def _head_has_mac(engine: Engine) -> bool:
    return "mac" in {c["name"] for c in inspect(engine).get_columns("audit_head")}


def iter_entries(engine: Engine, *, page: int = 2000) -> Iterator[AuditEntry]:
    query = _entry_select(engine)
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(query.where(_T.c.seq > last).order_by(_T.c.seq).limit(page)).all()
        if not rows:
            return
        for r in rows:
            yield AuditEntry(**r._mapping)
        last = rows[-1].seq


def chain_length(engine: Engine) -> int:
    """The number of entries the head row claims (what `verify_chain` will walk, if intact)."""
    with engine.connect() as conn:
        head = conn.execute(select(AuditHeadRow.seq).where(AuditHeadRow.id == _HEAD_ID)).scalar()
    return int(head or 0)


def read_head(engine: Engine) -> tuple[int, str, str | None]:
    """The head row: (seq, entry hash, MAC), (0, GENESIS, None) when there is none."""
    mac = AuditHeadRow.mac if _head_has_mac(engine) else null().label("mac")
    with engine.connect() as conn:
        head = conn.execute(
            select(AuditHeadRow.seq, AuditHeadRow.entry_hash, mac).where(AuditHeadRow.id == _HEAD_ID)
        ).first()
    return (head.seq, head.entry_hash, head.mac) if head else (0, GENESIS, None)


def verify_chain(
    engine: Engine,
    *,
    progress: Callable[[int], None] | None = None,
    keys: MacKeyRing | None = None,
    checkpoints: TrustedCheckpoints | None = None,
) -> ChainReport:
    """Walk the whole chain (see `audit_verify.verify`). Raises AuditChainBroken naming the first entry
    that does not verify and the kind of tampering."""
    from hegui.records.audit_verify import verify  # the verifier builds on this module's types

    return verify(engine, progress=progress, keys=keys, checkpoints=checkpoints)


def find_by_request(engine: Engine, request_id: str) -> list[AuditEntry]:
    return find_by_requests(engine, [request_id])[request_id]


def find_by_requests(
    engine: Engine, request_ids: Iterable[str], *, chunk: int = 500
) -> dict[str, list[AuditEntry]]:
    """Every given request's entries in chain order (an empty list for a request with none). One look at
    the table's columns and one query per ``chunk`` ids, so a batch (an assessment, a test's thousand
    requests) does not read the catalog once per request."""
    wanted = list(dict.fromkeys(request_ids))
    found: dict[str, list[AuditEntry]] = {rid: [] for rid in wanted}
    if not wanted:
        return found
    query = _entry_select(engine)
    with engine.connect() as conn:
        for i in range(0, len(wanted), chunk):
            part = wanted[i : i + chunk]
            for r in conn.execute(query.where(_T.c.request_id.in_(part)).order_by(_T.c.seq)):
                found[r.request_id].append(AuditEntry(**r._mapping))
    return found
