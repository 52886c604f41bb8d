"""The keep journal: a request's turn is durable with its audit entries, kept after the response, and not
lost when the process dies before keeping it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from hegui.errors import StorageError
from hegui.guard.types import Action
from hegui.records import keep
from hegui.records.audit import AuditDraft, AuditLog, chain_length
from hegui.records.config import RecordsPolicy
from hegui.records.conversations import turns_of
from hegui.records.dsr import erase_user
from hegui.records.keep import KeepJob, KeepWorker, drain, journal_rider, pending, settle
from hegui.records.pool import pool_size
from hegui.records.tables_records import KeepJournalRow
from hegui.records.vault import Vault

MASTER = bytes(range(32))
POLICY = RecordsPolicy()


def job(
    request_id: str = "chatcmpl-1", user: str = "u", answer: str = "先把黄油软化，再加入糖打发。"
) -> KeepJob:
    return KeepJob(
        "t",
        user,
        "s1",
        request_id,
        "chat",
        "怎么做一个简单的蛋糕？请一步一步说明。",
        answer,
        Action.ALLOW,
        Action.ALLOW,
    )


def draft(request_id: str) -> AuditDraft:
    return AuditDraft(request_id, "output", "allow", "v", "", "t")


def test_a_rider_commits_with_the_entry_after_it(engine: Engine) -> None:
    vault = Vault(engine, MASTER)
    log = AuditLog(engine)
    log.start()
    try:
        carried = log.carry(journal_rider(vault, job()))
        entry = log.submit(draft("chatcmpl-1")).result(timeout=10)
        assert carried.done() and carried.result() is None  # durable no later than the entry after it
        assert entry.seq == 1 and chain_length(engine) == 1  # the rider is not an entry of the chain
        assert pending(engine) == 1
        with engine.connect() as conn:
            stored = conn.execute(select(KeepJournalRow.ciphertext)).scalar_one()
        assert "蛋糕" not in stored and "黄油" not in stored  # ciphertext only
    finally:
        log.close()


@dataclass
class Running:
    """An audit writer and a keep worker started on one database, for a test to drive."""

    vault: Vault
    log: AuditLog
    worker: KeepWorker


@contextmanager
def running(engine: Engine, linger: float = 0.05) -> Iterator[Running]:
    vault = Vault(engine, MASTER)
    log = AuditLog(engine)
    log.start()
    worker = KeepWorker(engine, vault, POLICY, poll=60, linger=linger)
    worker.start()
    try:
        yield Running(vault, log, worker)
    finally:
        worker.close()
        log.close()


def test_the_worker_keeps_a_journaled_turn_and_deletes_the_row(engine: Engine) -> None:
    with running(engine) as r:
        r.log.carry(journal_rider(r.vault, job())).result(timeout=10)
        r.worker.wake()
        assert r.worker.wait_idle(10)
        assert [(t.role, t.request_id) for t in turns_of(engine, r.vault, "t", "u")] == [
            ("user", "chatcmpl-1"),
            ("assistant", "chatcmpl-1"),
        ]
        assert pool_size(engine, "t") == 1  # a chat-channel user is in the pool by default (opt-out)
        assert pending(engine) == 0


def test_a_busy_gateway_lingers_and_a_quiet_one_keeps_at_once(engine: Engine) -> None:
    with running(engine, linger=30) as r:
        assert r.worker.wait_idle(10)  # started quiet: nothing to keep
        r.worker.busy()  # a request is being served
        r.log.carry(journal_rider(r.vault, job())).result(timeout=10)
        r.worker.wake()
        assert not r.worker.wait_idle(0.3)  # lingering for more rows while the gateway is busy
        assert pending(engine) == 1
        r.worker.quiet()  # the last request left: keep now, not after the linger
        assert r.worker.wait_idle(10)
        assert pending(engine) == 0


def test_closing_a_lingering_worker_keeps_its_rows_without_waiting_out_the_linger(engine: Engine) -> None:
    with running(engine, linger=30) as r:
        r.worker.busy()
        r.log.carry(journal_rider(r.vault, job())).result(timeout=10)
        r.worker.wake()
        started = time.monotonic()
        r.worker.close()
        assert time.monotonic() - started < 10
        assert pending(engine) == 0


def test_a_replayed_row_stores_nothing_twice(engine: Engine) -> None:
    vault = Vault(engine, MASTER)
    keep.keep_turn(engine, vault, POLICY, job())
    keep.keep_turn(engine, vault, POLICY, job())  # a worker that died after keeping, before deleting
    assert len(turns_of(engine, vault, "t", "u")) == 2
    assert pool_size(engine, "t") == 1


def _journal(engine: Engine, vault: Vault, *jobs: KeepJob) -> None:
    log = AuditLog(engine)
    log.start()
    try:
        for j in jobs:
            log.carry(journal_rider(vault, j)).result(timeout=10)
    finally:
        log.close()


def test_a_claim_held_by_a_live_worker_is_left_and_an_expired_one_is_taken(engine: Engine) -> None:
    vault = Vault(engine, MASTER)
    _journal(engine, vault, job("chatcmpl-1"), job("chatcmpl-2", answer="第二个回答，足够长的文字。"))
    now = datetime.now(UTC)
    recent = (now - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    old = (now - keep.CLAIM_EXPIRES - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with engine.begin() as conn:
        conn.execute(
            update(KeepJournalRow)
            .where(KeepJournalRow.request_id == "chatcmpl-1")
            .values(claimed_by="other-live", claimed_at=recent)
        )
        conn.execute(
            update(KeepJournalRow)
            .where(KeepJournalRow.request_id == "chatcmpl-2")
            .values(claimed_by="other-dead", claimed_at=old)
        )
    assert drain(engine, vault, POLICY, owner="me") == 1
    assert drain(engine, vault, POLICY, owner="me") == 0
    assert [t.request_id for t in turns_of(engine, vault, "t", "u")] == ["chatcmpl-2"] * 2
    with engine.connect() as conn:
        assert conn.execute(select(KeepJournalRow.request_id)).scalars().all() == ["chatcmpl-1"]


def test_an_erased_users_pending_turns_are_dropped(engine: Engine) -> None:
    vault = Vault(engine, MASTER)
    _journal(engine, vault, job(user="gone"), job("chatcmpl-2", user="stays"))
    erase_user(engine, vault, "t", "gone")
    assert pending(engine) == 1  # the erasure dropped the journaled turn with the key
    assert settle(engine, vault, POLICY) == 0
    assert turns_of(engine, vault, "t", "gone") == []
    assert len(turns_of(engine, vault, "t", "stays")) == 2


def test_a_row_that_keeps_failing_is_given_up_after_a_few_tries(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = Vault(engine, MASTER)
    _journal(engine, vault, job())
    failures: list[int] = []

    def broken(*_a: object, **_k: object) -> None:
        raise StorageError("the pool is away")

    monkeypatch.setattr(keep, "keep_turn", broken)
    for attempt in range(1, keep.MAX_ATTEMPTS + 1):
        later = datetime.now(UTC) + keep.CLAIM_EXPIRES * attempt * 2  # each retry after the claim expired
        assert (
            drain(
                engine, vault, POLICY, owner=f"w{attempt}", on_failure=lambda: failures.append(1), now=later
            )
            == 1
        )
        assert pending(engine) == (1 if attempt < keep.MAX_ATTEMPTS else 0)
    assert len(failures) == keep.MAX_ATTEMPTS


def test_a_row_that_fails_in_a_batch_is_undone_alone_and_the_others_are_kept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = Vault(engine, MASTER)
    _journal(
        engine,
        vault,
        job("chatcmpl-1"),
        job("chatcmpl-2", answer="第二个回答，足够长的文字。"),
        job("chatcmpl-3", answer="第三个回答，也是足够长的文字。"),
    )
    real = keep.keep_turn

    def fails_after_writing(bind: object, *a: object, **k: object) -> None:
        real(bind, *a, **k)  # type: ignore[arg-type]
        if a[-1].request_id == "chatcmpl-2":  # type: ignore[attr-defined]
            raise StorageError("the pool went away halfway")

    monkeypatch.setattr(keep, "keep_turn", fails_after_writing)
    monkeypatch.setattr(keep, "BATCH_SECONDS", 60.0)  # all three in one batch, however slow the machine
    assert drain(engine, vault, POLICY, owner="me") == 3
    # the failed row's own writes were undone with it; the batch's other rows are kept and gone
    assert [t.request_id for t in turns_of(engine, vault, "t", "u")] == ["chatcmpl-1"] * 2 + [
        "chatcmpl-3"
    ] * 2
    assert pool_size(engine, "t") == 2
    with engine.connect() as conn:
        left = conn.execute(
            select(KeepJournalRow.request_id, KeepJournalRow.claimed_by, KeepJournalRow.attempts)
        )
        assert [tuple(r) for r in left] == [("chatcmpl-2", "me", 1)]  # held until its claim expires
    monkeypatch.setattr(keep, "keep_turn", real)
    assert drain(engine, vault, POLICY, owner="me") == 0  # a live claim is left alone
    later = datetime.now(UTC) + keep.CLAIM_EXPIRES * 2
    assert drain(engine, vault, POLICY, owner="other", now=later) == 1
    assert len(turns_of(engine, vault, "t", "u")) == 6 and pending(engine) == 0


def test_a_batch_takes_no_new_row_past_its_time_budget(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = Vault(engine, MASTER)
    _journal(engine, vault, job("chatcmpl-1"), job("chatcmpl-2", answer="第二个回答，足够长的文字。"))
    monkeypatch.setattr(keep, "BATCH_SECONDS", 0.0)  # spent as soon as the first row is kept
    assert drain(engine, vault, POLICY, owner="me") == 1
    assert pending(engine) == 1  # the other row was left untouched, free for the next batch
    assert drain(engine, vault, POLICY, owner="me") == 1
    assert drain(engine, vault, POLICY, owner="me") == 0
    assert [t.request_id for t in turns_of(engine, vault, "t", "u")] == ["chatcmpl-1"] * 2 + [
        "chatcmpl-2"
    ] * 2


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from hegui.guard.types import Action
    from hegui.records.audit import AuditDraft, AuditLog
    from hegui.records.db import make_engine
    from hegui.records.keep import KeepJob, journal_rider
    from hegui.records.vault import Vault

    engine = make_engine(sys.argv[1])
    vault = Vault(engine, bytes(range(32)))
    log = AuditLog(engine)
    log.start()
    job = KeepJob("t", "u", None, "chatcmpl-crash", "chat", "请推荐三本关于园艺的书，谢谢。",
                  "可以看看这三本园艺入门书。", Action.ALLOW, Action.ALLOW)
    log.carry(journal_rider(vault, job))
    log.submit(AuditDraft("chatcmpl-crash", "output", "allow", "v", "", "t")).result()
    # the answer would leave now; the process dies before any worker keeps the turn
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_turn_journaled_before_a_crash_is_kept_after_it(tmp_path: Path) -> None:
    from hegui.records.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'crash.db'}"
    engine = make_engine(url)
    migrate(engine)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.run([sys.executable, "-c", CHILD, url], env=env, timeout=120, check=False)
    assert child.returncode == -signal.SIGKILL
    assert pending(engine) == 1 and chain_length(engine) == 1
    vault = Vault(engine, MASTER)
    worker = KeepWorker(engine, vault, POLICY, poll=60)
    worker.start()  # a restarted gateway: its worker finds the row (unclaimed) at once
    try:
        assert worker.wait_idle(10)
    finally:
        worker.close()
    assert [t.text for t in turns_of(engine, vault, "t", "u")] == [
        "请推荐三本关于园艺的书，谢谢。",
        "可以看看这三本园艺入门书。",
    ]
    assert pending(engine) == 0
