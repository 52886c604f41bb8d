"""The rate-limit counters: the sliding-window arithmetic, then the same behaviour in process memory
and on Redis (one Lua call per admission)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hegui.cluster.config import Scope
from hegui.cluster.windows import Charge, Kind, LocalWindows, Usage, Windows, retry_after, weighted


# One request's counters share a hash tag, as the limiter's names do (`counter_names`): on a Redis
# Cluster the admission script runs only on keys of one slot.
def requests(limit: int, counter: str = "{h}:req") -> Charge:
    return Charge(counter, Scope.KEY, Kind.REQUESTS, limit, 1)


def tokens(limit: int, cost: int, counter: str = "{h}:tok") -> Charge:
    return Charge(counter, Scope.KEY, Kind.TOKENS, limit, cost)


def streams(limit: int, counter: str = "{h}:str") -> Charge:
    return Charge(counter, Scope.KEY, Kind.STREAMS, limit, 1)


@pytest.mark.parametrize(
    ("usage", "elapsed", "expected"),
    [
        (Usage(0, 5), 0.5, 5.0),
        (Usage(10, 0), 0.25, 7.5),
        (Usage(10, 4), 0.9, 5.0),
    ],
)
def test_weighted_slides_out_the_previous_window(usage: Usage, elapsed: float, expected: float) -> None:
    assert weighted(usage, elapsed) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("usage", "elapsed", "limit", "expected"),
    [
        # 10 last minute, 0 now, limit 10 at a quarter: the previous window must slide out to 9 → 1/10.
        (Usage(10, 0), 0.0, 10, 6),
        # This window is full (10 of 10) half-way: 30 s to its end, then 1/10 of the next → 36 s.
        (Usage(0, 10), 0.5, 10, 36),
        # Nothing before, nothing now: the next window.
        (Usage(0, 0), 0.5, 0, 30),
    ],
)
def test_retry_after(usage: Usage, elapsed: float, limit: int, expected: int) -> None:
    assert retry_after(usage, elapsed, limit, 1, 60.0) == expected


class Clock:
    def __init__(self, now: float = 6000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_local_window_slides_with_the_clock() -> None:
    clock = Clock()
    w = LocalWindows(clock=clock)
    for _ in range(3):
        assert asyncio.run(w.admit([requests(3)], "x")).admitted
    refused = asyncio.run(w.admit([requests(3)], "x"))
    assert (
        not refused.admitted and refused.used == 3 and refused.retry_after == 80
    )  # 60 s, then a third of the next
    clock.now += 60  # next window: the 3 are the previous window, fully inside the sliding minute
    assert not asyncio.run(w.admit([requests(3)], "x")).admitted
    clock.now += 30  # half of them slid out: 1.5 used, one more fits
    assert asyncio.run(w.admit([requests(3)], "x")).admitted


def test_stream_leases_expire() -> None:
    clock = Clock()
    w = LocalWindows(clock=clock, lease_seconds=100)
    assert asyncio.run(w.admit([streams(1)], "a")).admitted
    assert not asyncio.run(w.admit([streams(1)], "b")).admitted
    clock.now += 101  # the holder of "a" died without releasing it
    assert asyncio.run(w.admit([streams(1)], "b")).admitted


def test_counters_of_holders_gone_quiet_are_dropped() -> None:
    clock = Clock()
    w = LocalWindows(clock=clock, lease_seconds=10)
    w.SWEEP_EVERY = 10
    for user in range(9):
        assert w.admit_now([requests(5, f"u{user}"), streams(5, f"s{user}")], "x").admitted
    assert len(w) == 18
    clock.now += 121  # two windows later; the leases ran out long ago
    assert w.admit_now([requests(5, "fresh")], "y").admitted  # the tenth admission sweeps
    assert len(w) == 1


Body = Callable[[Windows], Awaitable[None]]


@pytest.fixture(params=["local", "server", "cluster"])
def on_windows(request: pytest.FixtureRequest, fresh_redis: Callable[[str], str]) -> Callable[[Body], None]:
    """Runs a test body against fresh counters, in process memory, on one Redis or on a Redis Cluster
    (made and closed on the body's own event loop)."""

    def run(body: Body) -> None:
        async def go() -> None:
            if request.param == "local":
                await body(LocalWindows())
                return
            from hegui.cluster.redis_state import RedisState

            shared = RedisState(fresh_redis(request.param))
            try:
                await body(shared.windows(600))
            finally:
                await shared.aclose()

        asyncio.run(go())

    return run


def test_admission_is_all_or_nothing(on_windows: Callable[[Body], None]) -> None:
    async def go(windows: Windows) -> None:
        a, b = "{t}:a", "{t}:b"
        assert (await windows.admit([requests(5, a), requests(1, b)], "1")).admitted
        refused = await windows.admit([requests(5, a), requests(1, b)], "2")
        assert not refused.admitted
        assert refused.refused is not None and refused.refused.counter == b
        # a was not charged by the refused request: 4 more fit, not 3.
        for i in range(4):
            assert (await windows.admit([requests(5, a)], str(i))).admitted
        assert not (await windows.admit([requests(5, a)], "x")).admitted

    on_windows(go)


def test_tokens_admit_until_used_up_and_take_corrections(on_windows: Callable[[Body], None]) -> None:
    async def go(windows: Windows) -> None:
        # An estimate larger than the limit is still served once: the holder had used nothing.
        assert (await windows.admit([tokens(100, 150)], "1")).admitted
        refused = await windows.admit([tokens(100, 1)], "2")
        assert not refused.admitted and refused.used >= 100 and refused.retry_after >= 1
        await windows.add("{h}:tok", -120)  # the upstream said 30 tokens, not 150
        assert (await windows.admit([tokens(100, 10)], "3")).admitted
        await windows.add("{h}:tok", -1000)  # never below zero
        assert (await windows.admit([tokens(5, 5)], "4")).admitted
        assert not (await windows.admit([tokens(5, 1)], "5")).admitted

    on_windows(go)


def test_streams_are_released(on_windows: Callable[[Body], None]) -> None:
    async def go(windows: Windows) -> None:
        assert (await windows.admit([streams(2)], "a")).admitted
        assert (await windows.admit([streams(2)], "b")).admitted
        refused = await windows.admit([streams(2)], "c")
        assert not refused.admitted and refused.used == 2 and refused.retry_after == 1
        await windows.renew(["{h}:str"], "a")
        await windows.release(["{h}:str"], "a")
        assert (await windows.admit([streams(2)], "c")).admitted

    on_windows(go)


def test_corrections_ride_on_the_next_admission_even_after_redis_forgot_the_scripts(
    redis_url: str, redis_client: Any
) -> None:
    from hegui.cluster.redis_state import RedisState

    async def go() -> None:
        shared = RedisState(redis_url)
        windows = shared.windows(600)
        assert (await windows.admit([tokens(10, 10)], "1")).admitted
        await windows.add("{h}:tok", -10)
        redis_client.script_flush()  # as after a Redis restart (on every primary of a cluster)
        assert (await windows.admit([tokens(10, 10)], "2")).admitted  # the correction went first
        await windows.add("{h}:tok", -10)
        await shared.aclose()  # flushes what is queued
        names = list(redis_client.scan_iter(match="{h}:tok:*"))
        assert [int(redis_client.get(k) or 0) for k in names] == [0]

    asyncio.run(go())


def test_corrections_of_other_holders_are_sent_with_an_admission(redis_url: str, redis_client: Any) -> None:
    """Queued corrections of the admission's own counters and of another tenant's (another slot on a
    cluster) are all applied by the next admission, and the admission reads its own corrected."""
    from hegui.cluster.redis_state import RedisState

    async def go() -> None:
        shared = RedisState(redis_url)
        windows = shared.windows(600)
        assert (await windows.admit([tokens(10, 10, "{a}:tok")], "1")).admitted
        assert (await windows.admit([tokens(10, 10, "{b}:tok")], "2")).admitted
        assert not (await windows.admit([tokens(10, 1, "{a}:tok")], "3")).admitted
        await windows.add("{a}:tok", -10)
        await windows.add("{b}:tok", -4)
        assert (await windows.admit([tokens(10, 3, "{a}:tok")], "4")).admitted  # saw its -10 first
        counts = {
            name.decode().split(":")[0]: int(redis_client.get(name) or 0)
            for name in redis_client.scan_iter(match="{?}:tok:*")
        }
        assert counts == {"{a}": 10 - 10 + 3, "{b}": 10 - 4}  # both corrections applied, once
        assert windows.fallbacks == 0  # type: ignore[attr-defined]
        await shared.aclose()

    asyncio.run(go())
