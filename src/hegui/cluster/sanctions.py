"""`CachedSanctionStore`: the end user's sanction standing read once, not on every request.

Every request of an identified end user asks the sanction ladder for the user's standing: two
database reads (the last step, the violation times). This store answers them from process memory and
goes to the database on a miss. It is only as good as what it hears: a step or violation recorded on
*this* replica updates it directly, one recorded on another replica arrives as a ``sanction-changed``
event, and after any gap in the event subscription (`RedisState.generation`) everything is read anew.
While the subscription is down, nothing is cached (fail closed: a stale "may use" would serve a
suspended user). Entries also expire after ``ttl`` seconds, bounding the damage of a lost publish.

Without Redis there is no way to hear other replicas, so the gateway does not use this store then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hegui.cluster.events import Event, EventKind
from hegui.cluster.redis_state import Shared
from hegui.guard.sanctions import SanctionStep, SanctionStore, Violation


@dataclass(frozen=True, slots=True)
class _Entry:
    generation: int
    expires: float
    last: SanctionStep | None
    #: Violation times since ``since`` (None: all), oldest first.
    since: datetime | None
    times: tuple[datetime, ...]


class CachedSanctionStore:
    """A `SanctionStore` that caches the last step and the violation times of each user."""

    def __init__(
        self,
        inner: SanctionStore,
        shared: Shared,
        *,
        window_days: int = 30,
        ttl: float = 30.0,
        max_users: int = 100_000,
    ) -> None:
        self.inner = inner
        self.shared = shared
        #: The ladder's counting window: violations older than it are not cached (0: all are).
        self.window_days = window_days
        self.ttl = ttl
        self.max_users = max_users
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], _Entry] = {}
        #: Changes on every forgetting: a read that overlapped a change does not fill the cache.
        self._epoch = 0
        shared.subscribe(EventKind.SANCTION_CHANGED, self._changed)
        shared.subscribe(EventKind.RESYNC, lambda _event: self.clear())

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._cache.clear()

    def _forget(self, tenant: str, user: str) -> None:
        with self._lock:
            self._epoch += 1
            self._cache.pop((tenant, user), None)

    def _changed(self, event: Event) -> None:
        self._forget(event.data.get("tenant", ""), event.data.get("user", ""))

    def _forget_and_tell(self, tenant: str, user: str) -> None:
        self._forget(tenant, user)
        self.shared.publish(Event(EventKind.SANCTION_CHANGED, data={"tenant": tenant, "user": user}))

    def _fresh(self, tenant: str, user: str) -> _Entry | None:
        if not self.shared.connected:
            return None
        with self._lock:
            entry = self._cache.get((tenant, user))
        if entry is None or entry.generation != self.shared.generation or entry.expires <= time.monotonic():
            return None
        return entry

    def _load(self, tenant: str, user: str, since: datetime | None) -> _Entry:
        generation, connected = self.shared.generation, self.shared.connected
        with self._lock:
            epoch = self._epoch
        entry = _Entry(
            generation,
            time.monotonic() + self.ttl,
            self.inner.last_step(tenant, user),
            since,
            tuple(self.inner.violation_times(tenant, user, since)),
        )
        if connected and generation == self.shared.generation:
            with self._lock:
                if epoch != self._epoch:
                    return entry
                if len(self._cache) >= self.max_users:
                    self._cache.clear()
                self._cache[(tenant, user)] = entry
        return entry

    # -- writes: to the database, then forget and tell --------------------------------------------------

    def add_violation(self, violation: Violation) -> None:
        self.inner.add_violation(violation)
        self._forget_and_tell(violation.tenant, violation.user)

    def add_step(self, step: SanctionStep) -> None:
        self.inner.add_step(step)
        self._forget_and_tell(step.tenant, step.user)

    # -- reads --------------------------------------------------------------------------------------------

    def last_step(self, tenant: str, user: str) -> SanctionStep | None:
        if not self.shared.connected:
            return self.inner.last_step(tenant, user)
        entry = self._fresh(tenant, user) or self._load(tenant, user, self._window_start())
        return entry.last

    def _window_start(self) -> datetime | None:
        return datetime.now(UTC) - timedelta(days=self.window_days) if self.window_days else None

    def violation_times(self, tenant: str, user: str, since: datetime | None) -> Sequence[datetime]:
        if not self.shared.connected:
            return self.inner.violation_times(tenant, user, since)
        entry = self._fresh(tenant, user)
        usable = entry is not None and (entry.since is None or (since is not None and since >= entry.since))
        if entry is None or not usable:
            entry = self._load(tenant, user, since)
        return [t for t in entry.times if since is None or t >= since]

    def count_violations(self, tenant: str, user: str, since: datetime | None) -> int:
        return len(self.violation_times(tenant, user, since))

    def steps(self, tenant: str, user: str) -> Sequence[SanctionStep]:
        return self.inner.steps(tenant, user)
