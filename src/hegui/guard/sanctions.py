"""The sanction ladder of the Interim Measures art. 14: warn → restrict → suspend → terminate.

`SanctionLadder` is pure: given the policy's thresholds, the user's violations in the window and the
last recorded step, it decides the next step. Storage is a small protocol, `SanctionStore`, that the
records room implements on the database; `InMemorySanctionStore` serves tests and a single process.
Every change of level is a `SanctionStep` written to the store (art. 14 asks for records). The ladder
never lowers a level by itself: only a recorded, attributed `lift` does. Nothing here sends a notice
or talks to a database.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hegui.guard.types import Action

_RANK = {"none": 0, "warn": 1, "restrict": 2, "suspend": 3, "terminate": 4}


class Sanction(StrEnum):
    """A rung of the ladder, ordered."""

    NONE = "none"
    WARN = "warn"
    RESTRICT = "restrict"
    SUSPEND = "suspend"
    TERMINATE = "terminate"

    @property
    def rank(self) -> int:
        return _RANK[self.value]

    def __str__(self) -> str:
        return self.value


class SanctionPolicy(BaseModel):
    """Thresholds: the number of violations within ``window_days`` at which each rung applies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    warn_after: int = Field(1, ge=1, description="Incidents in the window before a warning.")
    restrict_after: int = Field(3, ge=1, description="Incidents in the window before restriction.")
    suspend_after: int = Field(5, ge=1, description="Incidents in the window before suspension.")
    terminate_after: int = Field(10, ge=1, description="Incidents in the window before termination.")
    window_days: int = Field(30, ge=0, description="Only incidents this recent count; 0 counts all.")
    incident_minutes: int = Field(
        10,
        ge=0,
        description="Violations within this many minutes of an incident's first violation belong to that "
        "incident, so a burst of refused prompts counts once; 0 counts every violation as an incident.",
    )
    appeal_channel: str = Field(
        "",
        description="Where a user appeals a sanction (a URL, an e-mail address, a phone number), named in the "
        "restrict, suspend and terminate notices; empty: 'the complaints channel'.",
    )
    suspend_days: int = Field(7, ge=1, description="How long a suspension lasts before it drops to restrict.")
    block_user_suspends: bool = Field(
        True, description="A finding whose action is block_user suspends at once, whatever the count."
    )

    @model_validator(mode="after")
    def _increasing(self) -> SanctionPolicy:
        steps = [self.warn_after, self.restrict_after, self.suspend_after, self.terminate_after]
        if steps != sorted(steps) or len(set(steps)) != len(steps):
            raise ValueError(
                "sanction thresholds must increase: warn_after < restrict_after < suspend_after < terminate_after"
            )
        return self


@dataclass(frozen=True, slots=True)
class Violation:
    """One refused request of one end user: what the ladder counts. Never holds the text."""

    tenant: str
    user: str
    at: datetime
    action: Action
    categories: tuple[str, ...] = ()
    request_id: str | None = None
    session: str | None = None


@dataclass(frozen=True, slots=True)
class SanctionStep:
    """A recorded change of a user's level, with its reason and who or what decided it."""

    tenant: str
    user: str
    at: datetime
    previous: Sanction
    level: Sanction
    violations: int
    reason: str
    decided_by: str = "ladder"
    request_id: str | None = None
    #: End of a suspension; None for every other level.
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Standing:
    """A user's effective level now (a suspension that has run out counts as restrict)."""

    level: Sanction
    until: datetime | None
    violations: int

    @property
    def may_use(self) -> bool:
        return self.level.rank < Sanction.SUSPEND.rank


@runtime_checkable
class SanctionStore(Protocol):
    """Where violations and steps are kept. Implementations must be safe to call from several threads."""

    def add_violation(self, violation: Violation) -> None: ...

    def count_violations(self, tenant: str, user: str, since: datetime | None) -> int: ...

    def violation_times(self, tenant: str, user: str, since: datetime | None) -> Sequence[datetime]:
        """When each violation since ``since`` happened, oldest first (for counting incidents)."""

    def add_step(self, step: SanctionStep) -> None: ...

    def last_step(self, tenant: str, user: str) -> SanctionStep | None: ...

    def steps(self, tenant: str, user: str) -> Sequence[SanctionStep]: ...


class SanctionLadder:
    """Pure decisions plus two small helpers that read and write through a `SanctionStore`."""

    def __init__(self, policy: SanctionPolicy | None = None) -> None:
        self.policy = policy or SanctionPolicy()

    def level_for(self, violations: int) -> Sanction:
        p = self.policy
        for threshold, level in (
            (p.terminate_after, Sanction.TERMINATE),
            (p.suspend_after, Sanction.SUSPEND),
            (p.restrict_after, Sanction.RESTRICT),
            (p.warn_after, Sanction.WARN),
        ):
            if violations >= threshold:
                return level
        return Sanction.NONE

    def effective(self, last: SanctionStep | None, now: datetime) -> Sanction:
        if last is None:
            return Sanction.NONE
        if last.level == Sanction.SUSPEND and last.until is not None and now >= last.until:
            return Sanction.RESTRICT
        return last.level

    def decide(self, last: SanctionStep | None, violation: Violation, violations: int) -> SanctionStep | None:
        """The step this violation causes (``violations`` already counts it), or None when none."""
        now = violation.at
        current = self.effective(last, now)
        target = self.level_for(violations)
        reason = f"{violations} incident(s) in the window"
        blocking = self.policy.block_user_suspends and violation.action == Action.BLOCK_USER
        if blocking and target.rank < Sanction.SUSPEND.rank:
            target, reason = Sanction.SUSPEND, "a finding asked to block the user"
        # An ended suspension counts as restrict, so a further violation suspends again.
        if current == Sanction.TERMINATE or target.rank <= current.rank:
            return None
        until = now + timedelta(days=self.policy.suspend_days) if target == Sanction.SUSPEND else None
        return SanctionStep(
            violation.tenant,
            violation.user,
            now,
            current,
            target,
            violations,
            reason,
            request_id=violation.request_id,
            until=until,
        )

    def _since(self, now: datetime) -> datetime | None:
        return now - timedelta(days=self.policy.window_days) if self.policy.window_days else None

    def incidents(self, times: Sequence[datetime]) -> int:
        """How many incidents these violation times make: a violation within ``incident_minutes`` of the
        first violation of the current incident joins it; a later one starts the next incident."""
        gap = timedelta(minutes=self.policy.incident_minutes)
        count, start = 0, None
        for at in sorted(times):
            if start is None or at - start >= gap or not gap:
                count, start = count + 1, at
        return count

    def count(self, store: SanctionStore, tenant: str, user: str, now: datetime) -> int:
        """The incidents in the window, the number the thresholds are compared with."""
        return self.incidents(store.violation_times(tenant, user, self._since(now)))

    def record(self, store: SanctionStore, violation: Violation) -> SanctionStep | None:
        """Store the violation, decide, store the step (if any) and return it."""
        store.add_violation(violation)
        count = self.count(store, violation.tenant, violation.user, violation.at)
        step = self.decide(store.last_step(violation.tenant, violation.user), violation, count)
        if step is not None:
            store.add_step(step)
        return step

    def standing(self, store: SanctionStore, tenant: str, user: str, now: datetime) -> Standing:
        last = store.last_step(tenant, user)
        level = self.effective(last, now)
        until = last.until if last is not None and level == Sanction.SUSPEND else None
        return Standing(level, until, self.count(store, tenant, user, now))

    def lift(
        self,
        store: SanctionStore,
        tenant: str,
        user: str,
        *,
        to: Sanction,
        by: str,
        reason: str,
        now: datetime,
    ) -> SanctionStep:
        """A person lowers (or sets) a user's level, for example after an appeal; recorded like any step."""
        if not by.strip() or not reason.strip():
            raise ValueError("a manual sanction change needs who decided it and why")
        previous = self.effective(store.last_step(tenant, user), now)
        step = SanctionStep(
            tenant,
            user,
            now,
            previous,
            to,
            self.count(store, tenant, user, now),
            reason,
            decided_by=by,
            until=now + timedelta(days=self.policy.suspend_days) if to == Sanction.SUSPEND else None,
        )
        store.add_step(step)
        return step


class InMemorySanctionStore:
    """A `SanctionStore` in a dict, for tests and a single process; forgets everything on exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._violations: dict[tuple[str, str], list[Violation]] = {}
        self._steps: dict[tuple[str, str], list[SanctionStep]] = {}

    def add_violation(self, violation: Violation) -> None:
        with self._lock:
            self._violations.setdefault((violation.tenant, violation.user), []).append(violation)

    def count_violations(self, tenant: str, user: str, since: datetime | None) -> int:
        return len(self.violation_times(tenant, user, since))

    def violation_times(self, tenant: str, user: str, since: datetime | None) -> Sequence[datetime]:
        with self._lock:
            found = self._violations.get((tenant, user), [])
            return sorted(v.at for v in found if since is None or v.at >= since)

    def add_step(self, step: SanctionStep) -> None:
        with self._lock:
            self._steps.setdefault((step.tenant, step.user), []).append(step)

    def last_step(self, tenant: str, user: str) -> SanctionStep | None:
        with self._lock:
            steps = self._steps.get((tenant, user))
            return steps[-1] if steps else None

    def steps(self, tenant: str, user: str) -> Sequence[SanctionStep]:
        with self._lock:
            return tuple(self._steps.get((tenant, user), ()))
