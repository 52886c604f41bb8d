"""The sanction ladder: thresholds from policy, every step recorded, suspensions that end, manual lifts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from hegui.guard import Action
from hegui.guard.sanctions import (
    InMemorySanctionStore,
    Sanction,
    SanctionLadder,
    SanctionPolicy,
    SanctionStore,
    Violation,
)

T0 = datetime(2025, 9, 1, 12, tzinfo=UTC)
POLICY = SanctionPolicy(warn_after=1, restrict_after=2, suspend_after=3, terminate_after=5, suspend_days=7)


def _violate(
    ladder: SanctionLadder, store: SanctionStore, at: datetime, action: Action = Action.REFUSE
) -> str:
    step = ladder.record(store, Violation("t", "alice", at, action, ("A.1h",), request_id=f"r{at:%j%H}"))
    return step.level.value if step else "-"


@pytest.mark.parametrize(
    ("policy", "hours", "expected"),
    [
        # one violation an hour: each threshold moves one rung, terminate is final
        (POLICY, [0, 1, 2, 3, 4, 5], ["warn", "restrict", "suspend", "-", "terminate", "-"]),
        # thresholds from policy: a lenient one
        (
            SanctionPolicy(warn_after=2, restrict_after=4, suspend_after=6, terminate_after=8),
            [0, 1, 2, 3],
            ["-", "warn", "-", "restrict"],
        ),
        # a 1-day window: violations a week apart never add up
        (
            SanctionPolicy(warn_after=1, restrict_after=2, suspend_after=3, terminate_after=4, window_days=1),
            [0, 24 * 7, 24 * 14],
            ["warn", "-", "-"],
        ),
    ],
)
def test_ladder_follows_policy_thresholds(
    policy: SanctionPolicy, hours: list[int], expected: list[str]
) -> None:
    ladder, store = SanctionLadder(policy), InMemorySanctionStore()
    assert [_violate(ladder, store, T0 + timedelta(hours=h)) for h in hours] == expected


def test_every_step_is_recorded_with_its_reason() -> None:
    ladder, store = SanctionLadder(POLICY), InMemorySanctionStore()
    for h in range(5):
        _violate(ladder, store, T0 + timedelta(hours=h))
    steps = store.steps("t", "alice")
    assert [(s.previous, s.level, s.violations) for s in steps] == [
        (Sanction.NONE, Sanction.WARN, 1),
        (Sanction.WARN, Sanction.RESTRICT, 2),
        (Sanction.RESTRICT, Sanction.SUSPEND, 3),
        (Sanction.SUSPEND, Sanction.TERMINATE, 5),
    ]
    assert steps[2].until == T0 + timedelta(hours=2, days=7)
    assert all(s.decided_by == "ladder" and "incident" in s.reason and s.request_id for s in steps)


def test_suspension_ends_and_a_further_violation_suspends_again() -> None:
    ladder, store = SanctionLadder(POLICY), InMemorySanctionStore()
    for h in range(3):
        _violate(ladder, store, T0 + timedelta(hours=h))
    assert not ladder.standing(store, "t", "alice", T0 + timedelta(days=1)).may_use
    later = T0 + timedelta(days=8)
    standing = ladder.standing(store, "t", "alice", later)
    assert (standing.level, standing.may_use) == (Sanction.RESTRICT, True)
    assert _violate(ladder, store, later) == "suspend"


def test_block_user_finding_suspends_at_once() -> None:
    ladder, store = SanctionLadder(POLICY), InMemorySanctionStore()
    assert _violate(ladder, store, T0, Action.BLOCK_USER) == "suspend"
    assert store.steps("t", "alice")[0].reason == "a finding asked to block the user"


def test_manual_lift_is_recorded_and_needs_a_reason() -> None:
    ladder, store = SanctionLadder(POLICY), InMemorySanctionStore()
    for h in range(3):
        _violate(ladder, store, T0 + timedelta(hours=h))
    with pytest.raises(ValueError, match="who decided"):
        ladder.lift(store, "t", "alice", to=Sanction.WARN, by="", reason="appeal", now=T0)
    step = ladder.lift(store, "t", "alice", to=Sanction.WARN, by="staff:li", reason="appeal upheld", now=T0)
    assert (step.previous, step.level, step.decided_by) == (Sanction.SUSPEND, Sanction.WARN, "staff:li")
    assert ladder.standing(store, "t", "alice", T0).level == Sanction.WARN


def test_users_and_tenants_are_separate() -> None:
    ladder, store = SanctionLadder(POLICY), InMemorySanctionStore()
    ladder.record(store, Violation("t", "alice", T0, Action.REFUSE))
    ladder.record(store, Violation("t2", "alice", T0, Action.REFUSE))
    assert ladder.standing(store, "t", "bob", T0).level == Sanction.NONE
    assert ladder.standing(store, "t2", "alice", T0).violations == 1
    assert isinstance(store, SanctionStore)


@pytest.mark.parametrize(
    "fields",
    [
        {"warn_after": 3, "restrict_after": 2},
        {"suspend_after": 10, "terminate_after": 10},
        {"warn_after": 0},
        {"unknown": 1},
    ],
)
def test_invalid_policies_are_refused(fields: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        SanctionPolicy(**fields)  # type: ignore[arg-type]


def test_thresholds_come_from_the_policy_file() -> None:
    from hegui.errors import ConfigError
    from hegui.policy import parse_policy

    head = '[[upstreams]]\nname = "d"\ntype = "demo"\nmodels = ["m"]\n'
    policy = parse_policy(
        head + "[sanctions]\nwarn_after = 2\nrestrict_after = 4\nsuspend_after = 6\n", "t.toml"
    )
    assert SanctionLadder(policy.sanctions).level_for(4) == Sanction.RESTRICT
    with pytest.raises(ConfigError) as err:
        parse_policy(head + "[sanctions]\nwarn_after = 5\n", "t.toml")
    assert err.value.key == "sanctions"
