"""What a request leaves to keep — its turn for the encrypted conversation store and its offer to the
training pool — taken off the response's critical path without being lost on a crash.

Keeping a turn costs several transactions (two stored turns, a consent look-up, PI scrubbing, the
near-duplicate search, an admission or a rejection row). A request does not wait for them: it writes one
`keep_journal` row (`journal_rider`: the turn sealed with the user's data key) that rides in the audit
writer's group commit, ahead of the request's output entry, so the row is durable before the answer
leaves and costs no commit of its own. The `KeepWorker` thread then carries the row out (`keep_turn`)
and deletes it. A process that crashes leaves its rows behind; any worker (this process on restart, or
another replica) claims them once their claim has expired, so nothing journaled is lost. Replaying a row is
harmless: turns already stored for the request are not stored again, and the pool admits a text once.

An erased user's pending rows cannot be opened (their key is gone) and are dropped, as their stored
turns are. Never holds readable content: the journal is ciphertext like the conversation store.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Table, bindparam, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from hegui.errors import ContentErased, HeguiError
from hegui.guard.types import Action
from hegui.records.audit import Rider, utc_now
from hegui.records.config import RecordsPolicy
from hegui.records.conversations import NewTurn, store_turns
from hegui.records.pool import admit_to_pool
from hegui.records.tables_records import KeepJournalRow
from hegui.records.vault import Vault

log = logging.getLogger(__name__)
_J = cast(Table, KeepJournalRow.__table__)

#: A claim older than this is taken to belong to a worker that died.
CLAIM_EXPIRES = timedelta(minutes=2)
#: A row that failed this often is given up (logged and counted, never retried forever).
MAX_ATTEMPTS = 5
#: A batch stops taking rows once its transaction has worked this long (seconds): on SQLite it holds the one
#: write lock, which the audit writer (every answer's commit) waits for meanwhile.
BATCH_SECONDS = 0.005


@dataclass(frozen=True, slots=True)
class KeepJob:
    """One request's turn to keep, as decided: the prompt as forwarded, the answer as released."""

    tenant: str
    user: str
    session: str | None
    request_id: str
    channel: str
    prompt: str
    answer: str
    input_action: Action
    output_action: Action


def journal_rider(vault: Vault, job: KeepJob) -> Rider:
    """The job as a journal row (sealed with the user's data key) for the audit writer's next commit."""
    sealed = vault.encrypt(job.tenant, job.user, json.dumps({"prompt": job.prompt, "answer": job.answer}))
    return Rider(
        _J,
        {
            "tenant": job.tenant,
            "user_id": job.user,
            "session": job.session,
            "request_id": job.request_id,
            "channel": job.channel,
            "ciphertext": sealed,
            "input_action": job.input_action.value,
            "output_action": job.output_action.value,
            "at": utc_now(),
            "attempts": 0,
        },
    )


def keep_turn(
    bind: Engine | Connection, vault: Vault, policy: RecordsPolicy, job: KeepJob, *, replay: bool = True
) -> None:
    """The turn into the user's conversation store (when the policy keeps conversations; question and
    answer in one transaction) and offered to the training pool (which admits only by rule: consent,
    nothing refused or masked, PI scrubbed). Turns already stored for the request (a replayed row) are not
    stored twice; ``replay=False``: the caller knows the request was never kept (skips that look-up).
    ``bind``: an engine (each store commits on its own) or a connection (all in the caller's transaction)."""
    if policy.store_conversations:
        turns = [
            NewTurn(role, text, {"action": action.value, "trainable": action < Action.MASK})
            for role, text, action in (
                ("user", job.prompt, job.input_action),
                ("assistant", job.answer, job.output_action),
            )
            if text
        ]
        store_turns(
            bind,
            vault,
            turns,
            tenant=job.tenant,
            user=job.user,
            session=job.session,
            request_id=job.request_id,
            replay=replay,
        )
    admit_to_pool(
        bind,
        policy,
        tenant=job.tenant,
        user=job.user,
        channel=job.channel,
        request_id=job.request_id,
        prompt=job.prompt,
        answer=job.answer,
        input_action=job.input_action,
        output_action=job.output_action,
    )


# Built once (statement construction was most of the journal's own cost per row).
_FREE = _J.c.claimed_by.is_(None) | (_J.c.claimed_at < bindparam("stale"))
# SKIP LOCKED: on PostgreSQL, concurrent workers take disjoint rows instead of queueing on each other's
# (SQLite renders no FOR UPDATE; its BEGIN IMMEDIATE already makes the batch the only writer).
_BATCH = select(_J).where(_FREE).order_by(_J.c.id).limit(bindparam("limit")).with_for_update(skip_locked=True)
_HOLD = (
    update(_J)
    .where(_J.c.id == bindparam("row_id"))
    .values(claimed_by=bindparam("owner"), claimed_at=bindparam("stamp"), attempts=_J.c.attempts + 1)
)
_DONE = delete(_J).where(_J.c.id.in_(bindparam("ids", expanding=True)))


def _job(vault: Vault, row: Row[Any]) -> KeepJob:
    payload = json.loads(vault.decrypt(row.tenant, row.user_id, row.ciphertext))
    return KeepJob(
        row.tenant,
        row.user_id,
        row.session,
        row.request_id,
        row.channel,
        payload["prompt"],
        payload["answer"],
        Action(row.input_action),
        Action(row.output_action),
    )


def drain(
    engine: Engine,
    vault: Vault,
    policy: RecordsPolicy,
    *,
    owner: str,
    limit: int = 16,
    on_failure: Callable[[], None] = lambda: None,
    now: datetime | None = None,
) -> int:
    """Keep up to ``limit`` journal rows (unclaimed, or claimed longer ago than `CLAIM_EXPIRES`) and delete
    them, all in one transaction. Returns how many rows were taken (0: nothing to do).

    One transaction for the batch: the rows' turns, their pool admissions and their deletion commit
    together, so a crash keeps either all of them or none (the rows stay, and are kept after a restart),
    and the journal costs one commit per batch instead of a claim, a delete and each store's own. A row
    that fails is undone alone (a savepoint) and left claimed by ``owner``, its attempts counted; it is
    tried again once the claim expires, and given up after `MAX_ATTEMPTS`. A batch takes no new row once it
    has worked `BATCH_SECONDS` (PI scrubbing and near-duplicate hashing of admitted turns are CPU work done
    inside it), so the write lock it holds on SQLite is not held long against the audit writer."""
    at = now or datetime.now(UTC)
    stale = (at - CLAIM_EXPIRES).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # Replayable: a crash that loses the commit loses the deletion of the rows too, so they are kept again.
    options = {"sqlite_immediate": True, "sqlite_replayable": True}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        rows = conn.execute(_BATCH, {"stale": stale, "limit": limit}).all()
        done: list[int] = []
        taken = 0
        deadline = time.monotonic() + BATCH_SECONDS
        for row in rows:
            if taken and time.monotonic() > deadline:
                break  # the rest stay untouched, free for the next batch
            taken += 1
            try:
                with conn.begin_nested():
                    # a row never claimed was never kept: its turns need no look-up for a replay
                    keep_turn(conn, vault, policy, _job(vault, row), replay=row.attempts > 0)
            except ContentErased:
                log.info("request %s: its user was erased before the turn was kept; dropped", row.request_id)
            except (HeguiError, SQLAlchemyError, ValueError, KeyError) as exc:
                on_failure()
                tries = row.attempts + 1
                if tries < MAX_ATTEMPTS:
                    log.error("request %s: keeping the turn failed (try %d): %r", row.request_id, tries, exc)
                    conn.execute(_HOLD, {"row_id": row.id, "owner": owner, "stamp": stamp})
                    continue  # the claim expires and the row is tried again
                log.error(
                    "request %s: keeping the turn failed %d times; given up: %r",
                    row.request_id,
                    tries,
                    exc,
                )
            done.append(row.id)
        if done:
            conn.execute(_DONE, {"ids": done})
    return taken


def pending(engine: Engine, *, besides: str = "") -> int:
    """Journal rows not yet kept (not counting those ``besides`` holds: rows it failed to keep)."""
    q = select(_J.c.id)
    if besides:
        q = q.where(_J.c.claimed_by.is_(None) | (_J.c.claimed_by != besides))
    with engine.connect() as conn:
        return len(conn.execute(q).all())


def settle(
    engine: Engine,
    vault: Vault,
    policy: RecordsPolicy,
    *,
    timeout: float = 10.0,
    on_failure: Callable[[], None] = lambda: None,
) -> int:
    """Keep every journaled turn now, for a reader that must see them all (a pool export, a data-subject
    request): rows nobody holds are kept here, rows a worker is keeping are waited for (up to ``timeout``
    seconds). Returns how many are still pending (0: the stores are complete)."""
    owner = f"settle-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + timeout
    while True:
        while drain(engine, vault, policy, owner=owner, on_failure=on_failure):
            pass
        left = pending(engine, besides=owner)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.02)


class KeepWorker:
    """The thread that carries out the keep journal: woken after each journaled request, and every
    ``poll`` seconds (rows another replica left behind, or a crash did). `close` keeps what is pending.

    Woken, it drains as soon as the gateway serves no request (`quiet`), or after ``linger`` seconds
    while it is busy, so that the rows of the requests answered meanwhile share its transaction: the rows
    are durable already, so only the keeping waits, and a batch's commit and journal statements are paid
    once for many rows instead of once per request. Draining in the quiet keeps the batch's CPU work and
    write lock away from requests being served: a lightly loaded gateway keeps each turn between
    requests instead of holding a request up every ``linger`` seconds with a batch (issue 11's p99)."""

    def __init__(
        self,
        engine: Engine,
        vault: Vault,
        policy: RecordsPolicy,
        *,
        poll: float = 5.0,
        linger: float = 0.05,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine, self._vault, self._policy = engine, vault, policy
        self._poll, self._linger = poll, linger
        self._on_failure = on_failure
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._quiet = threading.Event()  # set while no request is being served (`busy`, `quiet`)
        self._quiet.set()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hegui-keep", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """A row was journaled: carry it out soon."""
        self._idle.clear()
        self._wake.set()

    def busy(self) -> None:
        """The gateway is serving a request: a woken worker lingers to batch."""
        self._quiet.clear()

    def quiet(self) -> None:
        """The gateway serves no request: a woken worker drains now."""
        self._quiet.set()

    def wait_idle(self, timeout: float) -> bool:
        """Until the worker found nothing left to do (tests, shutdown)."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Keep what is pending, then stop the thread."""
        if self._thread is not None:
            self._stop.set()
            self._quiet.set()  # closing does not wait for the linger
            self._wake.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while True:
            if self._linger > 0:
                self._quiet.wait(self._linger)  # at once when no request is being served, or closing
            stopping = self._stop.is_set()
            self._wake.clear()
            try:
                while drain(
                    self._engine, self._vault, self._policy, owner=self.owner, on_failure=self._on_failure
                ):
                    pass
            except SQLAlchemyError as exc:  # the database is away: the rows wait in the journal
                self._on_failure()
                log.error("keep journal: %r; retrying in %.0f s", exc, self._poll)
            if not self._wake.is_set():
                self._idle.set()
            if stopping:
                return
            self._wake.wait(self._poll)
