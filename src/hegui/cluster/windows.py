"""Rate-limit counters: sliding-window counters for requests and tokens, leases for open streams.

Why a sliding-window *counter* (two fixed one-minute windows, the previous one weighted by how much of
it still overlaps the last minute) rather than the alternatives:

- a fixed window (INCR + EXPIRE) lets twice the limit through around each window boundary;
- a sliding log (a sorted set of every request) is exact but holds one entry per request and cannot
  count tokens, which arrive as amounts and are corrected after the fact (a negative amount);
- GCRA and token buckets space requests out evenly, and a correction has no natural place in them.

The counter is two integers per holder and limit, takes any amount (tokens, corrections), and is off
by at most the share of the previous minute's traffic that was not evenly spread. On Redis, one Lua
script checks every limit of a request and charges them all or none, with Redis's own clock, so
replicas whose clocks disagree still count the same minute. Streams hold a lease in a sorted set,
scored by its expiry: a replica killed mid-stream frees its slots when their leases run out.

`LocalWindows` does the same in process memory (one process, or the fallback while Redis fails).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from hegui.cluster.config import Scope


class Kind(StrEnum):
    """What a limit counts; the value is OpenAI's error ``type`` for it."""

    REQUESTS = "requests"
    TOKENS = "tokens"
    STREAMS = "streams"


@dataclass(frozen=True, slots=True)
class Charge:
    """One limit a request is checked against, and what it adds when admitted."""

    counter: str
    scope: Scope
    kind: Kind
    limit: int
    #: Added on admission: 1 request, the estimated prompt tokens, or one stream lease.
    cost: int

    @property
    def need(self) -> int:
        """What must still fit under the limit: a whole request, or any token at all (a request whose
        own estimate is above a tokens limit is still served once the holder has used nothing)."""
        return 1 if self.kind == Kind.TOKENS else self.cost


@dataclass(frozen=True, slots=True)
class Usage:
    """A counter as the check saw it: previous and current window, or open streams in ``current``."""

    previous: float
    current: float


@dataclass(frozen=True, slots=True)
class Admission:
    admitted: bool
    #: The first limit that refused, its usage, and when to try again (whole seconds, ≥ 1).
    refused: Charge | None = None
    used: int = 0
    retry_after: int = 0


def weighted(usage: Usage, elapsed: float) -> float:
    """The sliding minute's estimate: the previous window's share still inside it, plus this one's."""
    return usage.previous * (1.0 - elapsed) + usage.current


def retry_after(usage: Usage, elapsed: float, limit: int, need: int, window: float) -> int:
    """Seconds until ``need`` more fits under ``limit``, if nothing else is charged meanwhile."""
    if usage.current + need <= limit and usage.previous > 0:
        # Within this window: wait until enough of the previous window has slid out.
        at = 1.0 - (limit - usage.current - need) / usage.previous
        wait = max(0.0, at - elapsed) * window
    elif usage.current == 0:
        wait = (1.0 - elapsed) * window
    else:
        # This window is full: in the next one it becomes the previous window and slides out.
        at = min(1.0, max(0.0, 1.0 - (limit - need) / usage.current))
        wait = (1.0 - elapsed) * window + at * window
    return max(1, math.ceil(wait))


def refusal(charge: Charge, usage: Usage, elapsed: float, window: float) -> Admission:
    if charge.kind == Kind.STREAMS:
        return Admission(False, charge, int(usage.current), 1)
    used = math.ceil(weighted(usage, elapsed))
    return Admission(False, charge, used, retry_after(usage, elapsed, charge.limit, charge.need, window))


class Windows(Protocol):
    """Counters several requests share. Admission is all-or-nothing over a request's charges."""

    window: float

    async def admit(self, charges: Sequence[Charge], lease: str) -> Admission: ...

    async def add(self, counter: str, amount: int) -> None:
        """Add (or, negative, take back) tokens in the current window; never below zero."""

    async def renew(self, counters: Sequence[str], lease: str) -> None:
        """Extend a stream's leases: it is still open."""

    async def release(self, counters: Sequence[str], lease: str) -> None:
        """A stream ended: free its slots."""


class LocalWindows:
    """`Windows` in process memory. Thread-safe; the clock is injectable for tests."""

    def __init__(self, *, window: float = 60.0, lease_seconds: float = 600.0, clock: object = None) -> None:
        self.window = window
        self.lease_seconds = lease_seconds
        self._clock = clock if callable(clock) else time.time
        self._lock = threading.Lock()
        self._counts: dict[str, dict[int, int]] = {}
        self._leases: dict[str, dict[str, float]] = {}
        self._admissions = 0

    #: Every this many admissions, counters nobody used for two windows are dropped, so memory stays
    #: flat however many end users come and go.
    SWEEP_EVERY = 4096

    def _sweep(self, index: int, now: float) -> None:
        for counter in [c for c, counts in self._counts.items() if all(i < index - 1 for i in counts)]:
            del self._counts[counter]
        for counter in [c for c, leases in self._leases.items() if all(u <= now for u in leases.values())]:
            del self._leases[counter]

    def __len__(self) -> int:
        """How many counters are held (for tests of the sweep)."""
        return len(self._counts) + len(self._leases)

    def _now(self) -> tuple[float, int, float]:
        now = float(self._clock())
        index = int(now // self.window)
        return now, index, (now - index * self.window) / self.window

    def _usage(self, counter: str, index: int, now: float, kind: Kind) -> Usage:
        if kind == Kind.STREAMS:
            leases = self._leases.setdefault(counter, {})
            for member in [m for m, until in leases.items() if until <= now]:
                del leases[member]
            return Usage(0, len(leases))
        counts = self._counts.get(counter, {})
        return Usage(counts.get(index - 1, 0), counts.get(index, 0))

    async def admit(self, charges: Sequence[Charge], lease: str) -> Admission:
        return self.admit_now(charges, lease)

    def admit_now(self, charges: Sequence[Charge], lease: str) -> Admission:
        with self._lock:
            now, index, elapsed = self._now()
            self._admissions += 1
            if self._admissions % self.SWEEP_EVERY == 0:
                self._sweep(index, now)
            for charge in charges:
                usage = self._usage(charge.counter, index, now, charge.kind)
                if (
                    weighted(usage, elapsed if charge.kind != Kind.STREAMS else 1.0) + charge.need
                    > charge.limit
                ):
                    return refusal(charge, usage, elapsed, self.window)
            for charge in charges:
                if charge.kind == Kind.STREAMS:
                    self._leases[charge.counter][lease] = now + self.lease_seconds
                else:
                    self._bump(charge.counter, index, charge.cost)
            return Admission(True)

    def _bump(self, counter: str, index: int, amount: int) -> None:
        counts = self._counts.setdefault(counter, {})
        counts[index] = max(0, counts.get(index, 0) + amount)
        for old in [i for i in counts if i < index - 1]:
            del counts[old]

    async def add(self, counter: str, amount: int) -> None:
        with self._lock:
            _, index, _ = self._now()
            self._bump(counter, index, amount)

    async def renew(self, counters: Sequence[str], lease: str) -> None:
        with self._lock:
            now = float(self._clock())
            for counter in counters:
                leases = self._leases.get(counter)
                if leases is not None and lease in leases:
                    leases[lease] = now + self.lease_seconds

    async def release(self, counters: Sequence[str], lease: str) -> None:
        with self._lock:
            for counter in counters:
                self._leases.get(counter, {}).pop(lease, None)
