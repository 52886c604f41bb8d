"""The sanction store: the same behaviour in process memory and in the database (SQLite, PostgreSQL).

Every behavioural test takes the ``store`` fixture, which yields an `InMemorySanctionStore` and a
`DbSanctionStore` on each database of the ``engine`` fixture; the database-only tests follow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select

from hegui.guard.sanctions import (
    InMemorySanctionStore,
    Sanction,
    SanctionLadder,
    SanctionPolicy,
    SanctionStep,
    SanctionStore,
    Violation,
)
from hegui.guard.types import Action
from hegui.records.sanctions_store import DbSanctionStore
from hegui.records.tables_sanctions import SanctionStepRow, SanctionViolationRow

T0 = datetime(2025, 9, 1, 12, tzinfo=UTC)
POLICY = SanctionPolicy(warn_after=1, restrict_after=2, suspend_after=3, terminate_after=5, suspend_days=7)


@pytest.fixture(params=["memory", "database"])
def store(request: pytest.FixtureRequest, engine: Engine) -> SanctionStore:
    if request.param == "memory":
        if engine.dialect.name != "sqlite":
            pytest.skip("the in-memory store needs no database: it runs once, beside SQLite")
        return InMemorySanctionStore()
    return DbSanctionStore(engine)


def _violate(
    ladder: SanctionLadder,
    store: SanctionStore,
    at: datetime,
    action: Action = Action.REFUSE,
    user: str = "alice",
) -> str:
    step = ladder.record(
        store, Violation("t", user, at, action, ("A.1h",), request_id=f"r{at:%j%H}", session="s1")
    )
    return step.level.value if step else "-"


@pytest.mark.parametrize(
    ("policy", "hours", "expected"),
    [
        (POLICY, [0, 1, 2, 3, 4, 5], ["warn", "restrict", "suspend", "-", "terminate", "-"]),
        (
            SanctionPolicy(warn_after=2, restrict_after=4, suspend_after=6, terminate_after=8),
            [0, 1, 2, 3],
            ["-", "warn", "-", "restrict"],
        ),
        (
            SanctionPolicy(warn_after=1, restrict_after=2, suspend_after=3, terminate_after=4, window_days=1),
            [0, 24 * 7, 24 * 14],
            ["warn", "-", "-"],
        ),
    ],
)
def test_ladder_follows_policy_thresholds(
    store: SanctionStore, policy: SanctionPolicy, hours: list[int], expected: list[str]
) -> None:
    ladder = SanctionLadder(policy)
    assert [_violate(ladder, store, T0 + timedelta(hours=h)) for h in hours] == expected


def test_steps_round_trip_in_order(store: SanctionStore) -> None:
    ladder = SanctionLadder(POLICY)
    for h in range(5):
        _violate(ladder, store, T0 + timedelta(hours=h, microseconds=h * 7))
    steps = store.steps("t", "alice")
    assert [(s.previous, s.level, s.violations) for s in steps] == [
        (Sanction.NONE, Sanction.WARN, 1),
        (Sanction.WARN, Sanction.RESTRICT, 2),
        (Sanction.RESTRICT, Sanction.SUSPEND, 3),
        (Sanction.SUSPEND, Sanction.TERMINATE, 5),
    ]
    assert steps[2].until == T0 + timedelta(hours=2, days=7, microseconds=14)
    assert steps[0].at == T0 and steps[0].at.tzinfo is not None
    assert [s.request_id for s in steps] == ["r24412", "r24413", "r24414", "r24416"]
    assert store.last_step("t", "alice") == steps[-1]
    assert all(isinstance(s, SanctionStep) and s.decided_by == "ladder" for s in steps)


def test_count_respects_since(store: SanctionStore) -> None:
    for d in (0, 1, 2, 10):
        store.add_violation(Violation("t", "alice", T0 + timedelta(days=d), Action.REFUSE))
    assert store.count_violations("t", "alice", None) == 4
    assert store.count_violations("t", "alice", T0 + timedelta(days=1)) == 3
    # `since` is inclusive, and an aware time in another zone is the same instant
    beijing = (T0 + timedelta(days=2)).astimezone(timezone(timedelta(hours=8)))
    assert store.count_violations("t", "alice", beijing) == 2
    assert store.count_violations("t", "alice", T0 + timedelta(days=11)) == 0


def test_suspension_ends_and_a_further_violation_suspends_again(store: SanctionStore) -> None:
    ladder = SanctionLadder(POLICY)
    for h in range(3):
        _violate(ladder, store, T0 + timedelta(hours=h))
    assert not ladder.standing(store, "t", "alice", T0 + timedelta(days=1)).may_use
    later = T0 + timedelta(days=8)
    standing = ladder.standing(store, "t", "alice", later)
    assert (standing.level, standing.may_use, standing.until) == (Sanction.RESTRICT, True, None)
    assert _violate(ladder, store, later) == "suspend"


def test_block_user_finding_suspends_at_once(store: SanctionStore) -> None:
    ladder = SanctionLadder(POLICY)
    assert _violate(ladder, store, T0, Action.BLOCK_USER) == "suspend"
    assert store.steps("t", "alice")[0].reason == "a finding asked to block the user"


def test_manual_lift_is_recorded(store: SanctionStore) -> None:
    ladder = SanctionLadder(POLICY)
    for h in range(3):
        _violate(ladder, store, T0 + timedelta(hours=h))
    step = ladder.lift(store, "t", "alice", to=Sanction.NONE, by="staff:李", reason="申诉成立", now=T0)
    assert (step.previous, step.level, step.decided_by) == (Sanction.SUSPEND, Sanction.NONE, "staff:李")
    assert store.last_step("t", "alice") == step
    assert store.steps("t", "alice")[-1].reason == "申诉成立"
    assert ladder.standing(store, "t", "alice", T0).level == Sanction.NONE
    # a lift does not reset the count: the next violation climbs from the lifted level at once
    assert _violate(ladder, store, T0 + timedelta(hours=4)) == "suspend"
    assert store.count_violations("t", "alice", None) == 4


def test_users_and_tenants_are_separate(store: SanctionStore) -> None:
    ladder = SanctionLadder(POLICY)
    ladder.record(store, Violation("t", "alice", T0, Action.REFUSE))
    ladder.record(store, Violation("t2", "alice", T0, Action.REFUSE))
    assert ladder.standing(store, "t", "bob", T0).level == Sanction.NONE
    assert store.last_step("t", "bob") is None and store.steps("t", "bob") == ()
    assert ladder.standing(store, "t2", "alice", T0).violations == 1
    assert isinstance(store, SanctionStore)


def test_concurrent_violations_are_all_counted(store: SanctionStore) -> None:
    def work(i: int) -> None:
        for j in range(10):
            store.add_violation(Violation("t", "carol", T0 + timedelta(seconds=i * 10 + j), Action.REFUSE))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count_violations("t", "carol", None) == 40


# --- the database store only ------------------------------------------------------------------------


def test_database_store_survives_a_new_engine(tmp_path: object) -> None:
    from pathlib import Path

    from hegui.records.db import make_engine, migrate

    url = f"sqlite:///{Path(str(tmp_path)) / 'h.db'}"
    first = make_engine(url)
    migrate(first)
    ladder = SanctionLadder(POLICY)
    for h in range(3):
        _violate(ladder, DbSanctionStore(first), T0 + timedelta(hours=h))
    first.dispose()
    second = make_engine(url)
    standing = ladder.standing(DbSanctionStore(second), "t", "alice", T0 + timedelta(days=1))
    assert (standing.level, standing.until, standing.violations) == (
        Sanction.SUSPEND,
        T0 + timedelta(hours=2, days=7),
        3,
    )
    second.dispose()


NAIVE: list[Callable[[DbSanctionStore], object]] = [
    lambda s: s.add_violation(Violation("t", "u", datetime(2025, 1, 1), Action.REFUSE)),
    lambda s: s.count_violations("t", "u", datetime(2025, 1, 1)),
    lambda s: s.add_step(SanctionStep("t", "u", datetime(2025, 1, 1), Sanction.NONE, Sanction.WARN, 1, "r")),
]


@pytest.mark.parametrize("call", NAIVE)
def test_naive_times_are_refused(engine: Engine, call: Callable[[DbSanctionStore], object]) -> None:
    with pytest.raises(ValueError, match="time zone"):
        call(DbSanctionStore(engine))


def test_rows_hold_categories_and_reasons_not_text(engine: Engine) -> None:
    store = DbSanctionStore(engine)
    SanctionLadder(POLICY).record(
        store, Violation("t", "alice", T0, Action.REFUSE, ("A.1h", "A.4f"), "req-1", "sess-1")
    )
    with engine.connect() as conn:
        v = conn.execute(select(SanctionViolationRow)).one()
        s = conn.execute(select(SanctionStepRow)).one()
    assert (v.at, v.action, v.categories, v.request_id, v.session) == (
        "2025-09-01T12:00:00.000000Z",
        "refuse",
        '["A.1h", "A.4f"]',
        "req-1",
        "sess-1",
    )
    assert (s.previous, s.level, s.violations, s.decided_by, s.until) == ("none", "warn", 1, "ladder", None)


def test_a_step_without_author_or_reason_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="who decided"):
        DbSanctionStore(engine).add_step(SanctionStep("t", "u", T0, Sanction.NONE, Sanction.WARN, 1, " "))
