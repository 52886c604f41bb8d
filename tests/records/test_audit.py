"""The audit chain on SQLite and PostgreSQL: append, group commit, verification, tampering."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Engine, delete, text, update

from hegui.errors import AuditChainBroken, StorageError
from hegui.records.audit import (
    GENESIS,
    AuditDraft,
    AuditLog,
    content_hasher,
    find_by_request,
    find_by_requests,
    iter_entries,
    verify_chain,
)
from hegui.records.tables import AuditEntryRow, AuditHeadRow


def draft(i: int, **kw: object) -> AuditDraft:
    fields: dict[str, object] = {
        "request_id": f"r{i}",
        "stage": "input",
        "action": "allow",
        "policy_version": "p1",
        "content_hash": f"{i:064x}",
    }
    return AuditDraft(**(fields | kw))  # type: ignore[arg-type]


@pytest.fixture
def log(engine: Engine) -> AuditLog:
    audit = AuditLog(engine, batch_max=64)
    audit.start()
    yield audit  # type: ignore[misc]
    audit.close()


def test_entries_chain_from_genesis(engine: Engine, log: AuditLog) -> None:
    first = log.append_sync(draft(1, findings=[{"check": "c", "category": "A.1h", "start": 0, "end": 2}]))
    second = log.append_sync(draft(2, tenant="t", end_user="u", detail={"model": "m"}))
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.entry_hash)
    assert first.compute_hash() == first.entry_hash
    report = verify_chain(engine)
    assert (report.entries, report.head_hash) == (2, second.entry_hash)
    assert find_by_request(engine, "r2")[0].to_json()["detail"] == {"model": "m"}


def test_requests_are_found_together_in_chain_order_in_chunks(engine: Engine, log: AuditLog) -> None:
    for i in range(7):
        log.append_sync(draft(i % 3, stage=("input", "output")[i // 3 % 2], action=f"a{i}"))
    found = find_by_requests(engine, ["r2", "r0", "nobody", "r2"], chunk=2)
    assert list(found) == ["r2", "r0", "nobody"]
    assert [e.action for e in found["r0"]] == ["a0", "a3", "a6"]
    assert [e.action for e in found["r2"]] == ["a2", "a5"]
    assert found["nobody"] == [] and find_by_requests(engine, []) == {}
    assert [e.seq for e in found["r0"]] == sorted(e.seq for e in found["r0"])


def test_concurrent_appends_share_commits_and_keep_order(engine: Engine, log: AuditLog) -> None:
    async def burst() -> list[int]:
        entries = await asyncio.gather(*(log.append(draft(i)) for i in range(300)))
        return [e.seq for e in entries]

    seqs = asyncio.run(burst())
    assert sorted(seqs) == list(range(1, 301))
    assert log.batches < 300, "group commit should write several entries per transaction"
    assert verify_chain(engine).entries == 300


def test_appends_from_many_threads(engine: Engine, log: AuditLog) -> None:
    def work(t: int) -> None:
        for i in range(25):
            log.append_sync(draft(t * 100 + i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert verify_chain(engine).entries == 100


def test_two_writers_on_one_database_keep_one_chain(engine: Engine) -> None:
    a, b = AuditLog(engine), AuditLog(engine)
    a.start()
    b.start()
    try:
        futures = [(a if i % 2 else b).submit(draft(i)) for i in range(200)]
        for f in futures:
            f.result(timeout=60)
    finally:
        a.close()
        b.close()
    assert verify_chain(engine).entries == 200


TAMPERING = [
    ("action", {"action": "refuse"}),
    ("findings", {"findings": "[]"}),
    ("time", {"ts": "2020-01-01T00:00:00.000000Z"}),
    ("content", {"content_hash": "f" * 64}),
    ("user", {"end_user": "someone-else"}),
]


@pytest.mark.parametrize("values", [t[1] for t in TAMPERING], ids=[t[0] for t in TAMPERING])
def test_changing_any_stored_field_is_detected(engine: Engine, log: AuditLog, values: dict[str, str]) -> None:
    for i in range(5):
        log.append_sync(draft(i, findings=[{"check": "c"}]))
    with engine.begin() as conn:
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 3).values(**values))
    with pytest.raises(AuditChainBroken) as err:
        verify_chain(engine)
    assert err.value.seq == 3
    assert "entry 3" in err.value.message


def test_rehashed_forgery_breaks_the_next_link(engine: Engine, log: AuditLog) -> None:
    entries = [log.append_sync(draft(i)) for i in range(4)]
    forged = entries[1].__class__(**(entries[1].hashed_fields() | {"action": "refuse", "entry_hash": ""}))
    with engine.begin() as conn:
        conn.execute(
            update(AuditEntryRow)
            .where(AuditEntryRow.seq == 2)
            .values(action="refuse", entry_hash=forged.compute_hash())
        )
    with pytest.raises(AuditChainBroken) as err:
        verify_chain(engine)
    assert err.value.seq == 3


@pytest.mark.parametrize(("where", "seq"), [("middle", 2), ("end", 4)])
def test_removed_entries_are_detected(engine: Engine, log: AuditLog, where: str, seq: int) -> None:
    for i in range(4):
        log.append_sync(draft(i))
    with engine.begin() as conn:
        conn.execute(delete(AuditEntryRow).where(AuditEntryRow.seq == seq))
    with pytest.raises(AuditChainBroken) as err:
        verify_chain(engine)
    assert err.value.seq == seq


def test_head_tampering_is_detected(engine: Engine, log: AuditLog) -> None:
    log.append_sync(draft(1))
    with engine.begin() as conn:
        conn.execute(update(AuditHeadRow).values(entry_hash="0" * 64))
    with pytest.raises(AuditChainBroken):
        verify_chain(engine)


def test_empty_chain_verifies(engine: Engine) -> None:
    assert verify_chain(engine).entries == 0


def test_a_failed_write_fails_every_waiting_append(engine: Engine) -> None:
    audit = AuditLog(engine)
    audit.start()
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE audit_entries"))
        with pytest.raises(StorageError):
            audit.append_sync(draft(1))
        assert not audit.healthy
    finally:
        audit.close()


def test_appending_without_a_running_writer_is_an_error(engine: Engine) -> None:
    with pytest.raises(StorageError):
        AuditLog(engine).submit(draft(1))


def test_content_hash_is_keyed() -> None:
    assert content_hasher(b"k1")("同一段话") != content_hasher(b"k2")("同一段话")
    assert content_hasher(b"k1")("同一段话") == content_hasher(b"k1")("同一段话")


def test_iter_entries_pages_through_everything(engine: Engine, log: AuditLog) -> None:
    for i in range(7):
        log.append_sync(draft(i))
    assert [e.seq for e in iter_entries(engine, page=3)] == list(range(1, 8))


def test_cancelled_waits_neither_lose_entries_nor_stop_the_writer(engine: Engine, log: AuditLog) -> None:
    """A client that disconnects cancels its wait (asyncio cancels the wrapped future); the decision is
    still recorded and the writer goes on (it used to die on set_result, and every later request hung)."""

    async def disconnecting_clients() -> None:
        tasks = [asyncio.ensure_future(log.append(draft(i))) for i in range(200)]
        await asyncio.sleep(0)
        for t in tasks[::2]:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(disconnecting_clients())
    assert log.submit(draft(999)).result(timeout=30).seq == 201
    assert log.healthy
    assert verify_chain(engine).entries == 201
