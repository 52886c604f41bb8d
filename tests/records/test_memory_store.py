"""The session-memory store: the same behaviour in process memory and in the database (SQLite,
PostgreSQL); in the database, turns only as ciphertext under the user's key, erased with the user."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from hegui.guard import Action, Context, Pipeline, Stage
from hegui.guard.denylist import DenyListCheck
from hegui.guard.memory import (
    InMemoryMemoryStore,
    MemoryStore,
    NearDuplicateCheck,
    SessionKey,
    SessionView,
    Sketch,
    SplitTurnCheck,
    Turn,
    remember,
)
from hegui.records.db import make_engine, migrate
from hegui.records.dsr import erase_user
from hegui.records.memory_store import DbMemoryStore, purge_memory_before
from hegui.records.tables_sanctions import MemorySketchRow, MemoryTurnRow
from hegui.records.vault import Vault

NOW = datetime(2025, 9, 1, tzinfo=UTC)
TERMS = ["演示违禁词", "forbidden-demo"]
KEY = SessionKey("t", "u1", "s1")


@pytest.fixture(params=["memory", "database"])
def store(request: pytest.FixtureRequest, engine: Engine) -> MemoryStore:
    if request.param == "memory":
        if engine.dialect.name != "sqlite":
            pytest.skip("the in-memory store needs no database: it runs once, beside SQLite")
        return InMemoryMemoryStore(max_turns=3, max_refused=2)
    return DbMemoryStore(engine, Vault(engine, os.urandom(32)), max_turns=3, max_refused=2)


def _run(store: MemoryStore, turns: list[str], key: SessionKey = KEY) -> list[Action]:
    deny = DenyListCheck("deny", TERMS)
    pipeline = Pipeline(
        [deny, SplitTurnCheck("split", deny, turns=2), NearDuplicateCheck("dup")], policy_version="t"
    )
    ctx = Context(tenant=key.tenant, user=key.user, session=key.session, memory=SessionView(store, key))
    out = []
    for i, text in enumerate(turns):
        verdict = pipeline.run(Stage.INPUT, text, ctx)
        remember(store, key, text, verdict, NOW + timedelta(seconds=i))
        out.append(verdict.action)
    return out


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (["演示", "违禁词"], [Action.ALLOW, Action.REFUSE]),
        (["演", "示违", "禁词"], [Action.ALLOW, Action.ALLOW, Action.REFUSE]),
        (["演示", "你好", "违禁词"], [Action.ALLOW, Action.ALLOW, Action.ALLOW]),
        # a light rewording of a refused prompt is refused through the stored sketch
        (
            ["请告诉我演示违禁词的全部细节和具体做法", "请告诉我演示违禁的全部细节和具体做法吧"],
            [Action.REFUSE, Action.REFUSE],
        ),
        (["今天天气", "很好"], [Action.ALLOW, Action.ALLOW]),
    ],
)
def test_memory_checks_see_earlier_turns(
    store: MemoryStore, turns: list[str], expected: list[Action]
) -> None:
    assert _run(store, turns) == expected


def test_turns_round_trip_newest_last_and_bounded(store: MemoryStore) -> None:
    texts = ["一", "two", "😀 三", "", "五 13800138000"]
    for i, text in enumerate(texts):
        store.append_turn(
            KEY, Turn(text, NOW + timedelta(microseconds=i), Action.MASK if i == 4 else Action.ALLOW)
        )
    got = store.turns(KEY, 10)
    assert [t.text for t in got] == texts[-3:]  # only the newest max_turns are kept
    assert got[-1] == Turn("五 13800138000", NOW + timedelta(microseconds=4), Action.MASK)
    assert [t.text for t in store.turns(KEY, 2)] == texts[-2:]
    assert store.turns(KEY, 0) == ()


def test_refused_sketches_round_trip_and_bounded(store: MemoryStore) -> None:
    sketches = [Sketch.of(f"被拒绝的请求 number {i}", categories=("A.1h", "A.2a")) for i in range(3)]
    for s in sketches:
        store.add_refused(KEY, s)
    assert tuple(store.refused(KEY)) == tuple(sketches[-2:])
    assert store.refused(SessionKey("t", "u1", "other")) == ()


@pytest.mark.parametrize(
    "other",
    [
        SessionKey("t", "u1", None),
        SessionKey("t", "u1", "s2"),
        SessionKey("t", "u2", "s1"),
        SessionKey("t2", "u1", "s1"),
        SessionKey("t", None, "s1"),
    ],
)
def test_sessions_users_and_tenants_are_separate(store: MemoryStore, other: SessionKey) -> None:
    store.append_turn(KEY, Turn("mine", NOW, Action.ALLOW))
    store.add_refused(KEY, Sketch.of("refused prompt text"))
    store.append_turn(other, Turn("theirs", NOW, Action.ALLOW))
    assert [t.text for t in store.turns(KEY, 5)] == ["mine"]
    assert [t.text for t in store.turns(other, 5)] == ["theirs"]
    assert store.refused(other) == ()
    assert isinstance(store, MemoryStore)


# --- the database store only ------------------------------------------------------------------------


def _count(engine: Engine, row: type[MemoryTurnRow] | type[MemorySketchRow]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(row)).scalar_one())


def test_turns_are_ciphertext_at_rest(engine: Engine) -> None:
    store = DbMemoryStore(engine, Vault(engine, os.urandom(32)))
    secret = "我的手机号是13800138000"
    store.append_turn(KEY, Turn(secret, NOW, Action.ALLOW))
    store.add_refused(KEY, Sketch.of(secret, categories=("A.4f",)))
    with engine.connect() as conn:
        blob = conn.execute(select(MemoryTurnRow.ciphertext)).scalar_one()
        sketch = conn.execute(select(MemorySketchRow.sketch)).scalar_one()
    for stored in (blob, sketch):
        assert secret not in stored and "13800138000" not in stored
    assert '"categories": ["A.4f"]' in sketch


def test_memory_survives_a_restart_with_the_same_master_key(tmp_path: Path) -> None:
    url, master = f"sqlite:///{tmp_path / 'h.db'}", os.urandom(32)
    first = make_engine(url)
    migrate(first)
    assert _run(DbMemoryStore(first, Vault(first, master)), ["演示"]) == [Action.ALLOW]
    first.dispose()
    second = make_engine(url)
    # the second half of a split term, after the restart, is still caught
    assert _run(DbMemoryStore(second, Vault(second, master)), ["违禁词"]) == [Action.REFUSE]
    second.dispose()


def test_erasing_the_user_removes_their_memory(engine: Engine) -> None:
    vault = Vault(engine, os.urandom(32))
    store = DbMemoryStore(engine, vault)
    _run(store, ["你好", "演示违禁词"])
    _run(store, ["bob's turn"], SessionKey("t", "bob", None))
    assert (_count(engine, MemoryTurnRow), _count(engine, MemorySketchRow)) == (3, 1)
    erase_user(engine, vault, "t", "u1")
    assert store.turns(KEY, 10) == () and store.refused(KEY) == ()
    assert (_count(engine, MemoryTurnRow), _count(engine, MemorySketchRow)) == (1, 0)
    assert [t.text for t in store.turns(SessionKey("t", "bob", None), 5)] == ["bob's turn"]


def test_without_user_or_vault_no_turn_reaches_the_database(engine: Engine) -> None:
    anonymous = SessionKey("t", None, "s1")
    with_vault = DbMemoryStore(engine, Vault(engine, os.urandom(32)))
    with_vault.append_turn(anonymous, Turn("anonymous text", NOW, Action.ALLOW))
    with_vault.add_refused(anonymous, Sketch.of("anonymous refused"))
    no_vault = DbMemoryStore(engine)
    no_vault.append_turn(KEY, Turn("kept in this process only", NOW, Action.ALLOW))
    no_vault.add_refused(KEY, Sketch.of("refused prompt text"))
    assert [t.text for t in with_vault.turns(anonymous, 5)] == ["anonymous text"]
    assert [t.text for t in no_vault.turns(KEY, 5)] == ["kept in this process only"]
    assert len(no_vault.refused(KEY)) == 1 and len(with_vault.refused(anonymous)) == 1
    assert (_count(engine, MemoryTurnRow), _count(engine, MemorySketchRow)) == (0, 1)


def test_purge_before_a_cutoff(engine: Engine) -> None:
    store = DbMemoryStore(engine, Vault(engine, os.urandom(32)))
    store.append_turn(KEY, Turn("old", NOW, Action.ALLOW))
    store.append_turn(KEY, Turn("new", NOW + timedelta(days=30), Action.ALLOW))
    assert purge_memory_before(engine, "2025-09-15T00:00:00.000000Z") == 1
    assert [t.text for t in store.turns(KEY, 5)] == ["new"]


def test_a_tampered_turn_fails_closed(engine: Engine) -> None:
    from sqlalchemy import update

    from hegui.errors import StorageError

    store = DbMemoryStore(engine, Vault(engine, os.urandom(32)))
    store.append_turn(KEY, Turn("first", NOW, Action.ALLOW))
    store.append_turn(KEY, Turn("second", NOW, Action.ALLOW))
    with engine.begin() as conn:
        first = conn.execute(select(MemoryTurnRow.ciphertext).order_by(MemoryTurnRow.id)).scalars().first()
        conn.execute(update(MemoryTurnRow).values(ciphertext=first))  # both rows now hold turn 1's bytes
    assert [t.text for t in store.turns(KEY, 5)] == ["first", "first"]  # same user, so it still opens
    other = SessionKey("t", "u2", "s1")
    store.append_turn(other, Turn("u2 turn", NOW, Action.ALLOW))
    with engine.begin() as conn:
        conn.execute(update(MemoryTurnRow).where(MemoryTurnRow.user_id == "u2").values(ciphertext=first))
    with pytest.raises(StorageError, match="does not verify"):
        store.turns(other, 5)


@pytest.mark.parametrize(("turns", "refused"), [(0, 1), (1, 0)])
def test_bounds_must_be_positive(engine: Engine, turns: int, refused: int) -> None:
    with pytest.raises(ValueError, match="at least one"):
        DbMemoryStore(engine, max_turns=turns, max_refused=refused)
