"""Redis as the replicas' shared state: session memory, events between replicas, the sanction cache."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from hegui.cluster.events import Event, EventKind
from hegui.cluster.memory import RedisMemoryStore
from hegui.cluster.redis_state import LocalShared, RedisState
from hegui.cluster.sanctions import CachedSanctionStore
from hegui.errors import StorageError
from hegui.guard.memory import SessionKey, SessionView, Sketch, Turn
from hegui.guard.sanctions import InMemorySanctionStore, Sanction, SanctionLadder, Violation
from hegui.guard.types import Action
from hegui.records.db import make_engine, migrate
from hegui.records.vault import Vault

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    migrate(engine)
    return Vault(engine, os.urandom(32))


def store(url: str, vault: Vault, **kw: int) -> RedisMemoryStore:
    """The store as the gateway makes it: on the client `RedisState` chose (a cluster client for a
    ``redis+cluster://`` URL)."""
    shared = RedisState(url)
    return RedisMemoryStore(shared.sync, vault, b"s" * 32, errors=shared.errors, **kw)


def test_two_replicas_see_one_session(redis_url: str, vault: Vault) -> None:
    a, b = store(redis_url, vault), store(redis_url, vault)
    key = SessionKey("t", "alice", "s1")
    a.append_turn(key, Turn("演示违", NOW, Action.ALLOW))
    b.append_turn(key, Turn("second", NOW, Action.ALLOW))
    assert [t.text for t in a.turns(key, 5)] == ["演示违", "second"]
    assert SessionView(b, key).recent_turns(1) == ["second"]
    assert a.turns(SessionKey("t", "alice", "s2"), 5) == ()  # another session
    assert a.turns(SessionKey("other", "alice", "s1"), 5) == ()  # another tenant
    b.add_refused(key, Sketch.of("a refused prompt", categories=("A.1",)))
    assert a.refused(key) == (Sketch.of("a refused prompt", categories=("A.1",)),)


def test_redis_holds_no_text_and_no_user_id(redis_url: str, redis_client: redis.Redis, vault: Vault) -> None:
    s = store(redis_url, vault)
    s.append_turn(SessionKey("t", "alice-uid", "s"), Turn("秘密的话 secret words", NOW, Action.ALLOW))
    client = redis_client
    names = list(client.scan_iter())
    assert names and all(b"alice" not in n for n in names)
    dumped = b"".join(v for n in names for v in client.lrange(n, 0, -1))
    assert "秘密".encode() not in dumped and b"secret" not in dumped


def test_keeps_the_newest_turns_and_expires(redis_url: str, redis_client: redis.Redis, vault: Vault) -> None:
    s = store(redis_url, vault, max_turns=3, ttl_seconds=100)
    key = SessionKey("t", "u", None)
    for i in range(5):
        s.append_turn(key, Turn(str(i), NOW, Action.ALLOW))
    assert [t.text for t in s.turns(key, 10)] == ["2", "3", "4"]
    names = list(redis_client.scan_iter())
    assert len(names) == 1 and all(0 < redis_client.ttl(n) <= 100 for n in names)


def test_an_erased_user_is_forgotten(redis_url: str, vault: Vault) -> None:
    s = store(redis_url, vault)
    key = SessionKey("t", "u", "s")
    s.append_turn(key, Turn("hello", NOW, Action.ALLOW))
    with vault._engine.begin() as conn:
        vault.shred(conn, "t", "u")
    vault.forget("t", "u")
    assert s.turns(key, 5) == ()


def test_redis_down_fails_closed(vault: Vault) -> None:
    # Nothing listens on port 1: reading the memory raises, so the check that reads it refuses.
    s = store("redis://127.0.0.1:1/0", vault)
    with pytest.raises(StorageError, match="Redis"):
        s.turns(SessionKey("t", "u", "s"), 5)


def test_events_reach_the_other_replica_not_the_sender(redis_url: str) -> None:
    async def go() -> None:
        a, b = RedisState(redis_url), RedisState(redis_url)
        got: dict[str, list[Event]] = {"a": [], "b": []}
        arrived = threading.Event()

        def on_b(event: Event) -> None:
            got["b"].append(event)
            arrived.set()

        a.subscribe(EventKind.KEY_CHANGED, got["a"].append)
        b.subscribe(EventKind.KEY_CHANGED, on_b)
        await a.start()
        await b.start()
        assert a.connected and b.connected
        await asyncio.to_thread(a.publish, Event(EventKind.KEY_CHANGED, data={"k": "v"}))
        assert await asyncio.to_thread(arrived.wait, 2.0)
        assert [(e.kind, e.origin, e.data) for e in got["b"]] == [
            (EventKind.KEY_CHANGED, a.origin, {"k": "v"})
        ]
        assert got["a"] == []
        await a.aclose()
        await b.aclose()

    asyncio.run(go())


def test_ping(redis_url: str) -> None:
    async def go() -> None:
        up, down = RedisState(redis_url), RedisState("redis://127.0.0.1:1/0")
        await up.ping()
        with pytest.raises(StorageError, match="Redis does not answer"):
            await down.ping()
        await LocalShared().ping()
        await up.aclose()
        await down.aclose()

    asyncio.run(go())


class FakeShared(LocalShared):
    """Connected, records what it publishes, and lets the test deliver events."""

    def __init__(self) -> None:
        super().__init__()
        self.connected = True
        self.generation = 1
        self.sent: list[Event] = []
        self.handlers: dict[EventKind, list[object]] = {}

    def publish(self, event: Event) -> None:
        self.sent.append(event)

    def subscribe(self, kind: EventKind, handler: object) -> None:
        self.handlers.setdefault(kind, []).append(handler)

    def deliver(self, event: Event) -> None:
        for h in self.handlers.get(event.kind, []):
            h(event)  # type: ignore[operator]


class CountingStore(InMemorySanctionStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def last_step(self, tenant: str, user: str):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().last_step(tenant, user)


def test_sanction_cache_is_told_of_steps_elsewhere() -> None:
    db, shared = CountingStore(), FakeShared()
    mine = CachedSanctionStore(db, shared)
    ladder = SanctionLadder()
    now = datetime.now(UTC)
    assert ladder.standing(mine, "t", "u", now).may_use
    reads = db.reads
    assert ladder.standing(mine, "t", "u", now).may_use
    assert db.reads == reads  # served from the cache
    # Another replica suspends the user (same database), and says so.
    ladder.lift(db, "t", "u", to=Sanction.SUSPEND, by="ops", reason="test", now=now)
    assert ladder.standing(mine, "t", "u", now).may_use  # not told yet: the cache stands
    shared.deliver(Event(EventKind.SANCTION_CHANGED, "other", {"tenant": "t", "user": "u"}))
    assert not ladder.standing(mine, "t", "u", now).may_use


def test_sanction_cache_tells_and_is_not_trusted_while_disconnected() -> None:
    db, shared = CountingStore(), FakeShared()
    mine = CachedSanctionStore(db, shared)
    ladder = SanctionLadder()
    now = datetime.now(UTC)
    ladder.record(mine, Violation("t", "u", now - timedelta(minutes=1), Action.REFUSE))
    assert [e.data for e in shared.sent] == [{"tenant": "t", "user": "u"}, {"tenant": "t", "user": "u"}]
    assert ladder.standing(mine, "t", "u", now).level == Sanction.WARN
    shared.connected = False
    reads = db.reads
    ladder.standing(mine, "t", "u", now)
    assert db.reads == reads + 1  # read from the database, not the cache


def test_an_erasure_on_one_replica_reaches_the_others_vault(tmp_path: Path, redis_url: str) -> None:
    """Crypto-shredding across replicas: replica B still held the user's data key in its cache, so it
    could have read the user's remembered turns in Redis after replica A erased the user."""
    from hegui.gateway.replicas import SharedParts
    from hegui.policy import parse_policy
    from hegui.records.dsr import erase_user
    from hegui.settings import Settings

    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    migrate(engine)
    master = os.urandom(32)
    policy = parse_policy('[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["m"]\n', "t.toml")
    settings = Settings(data_dir=tmp_path, redis_url=redis_url)
    key = SessionKey("t", "erased-user", "s")

    async def go() -> None:
        vaults = [Vault(engine, master), Vault(engine, master)]
        parts = [SharedParts.build(settings, policy, engine, v, master) for v in vaults]
        for p in parts:
            await p.shared.start()
        parts[0].memory.append_turn(key, Turn("remember me", NOW, Action.ALLOW))
        assert [t.text for t in parts[1].memory.turns(key, 5)] == ["remember me"]  # B caches the key
        await asyncio.to_thread(erase_user, engine, vaults[0], "t", "erased-user")
        for _ in range(100):  # the event arrives within 2 s
            if not parts[1].memory.turns(key, 5):
                break
            await asyncio.sleep(0.02)
        assert parts[1].memory.turns(key, 5) == ()
        for p in parts:
            await p.shared.aclose()

    asyncio.run(go())
