"""The in-flight count that a graceful shutdown waits on before it flushes the audit writer."""

from __future__ import annotations

import asyncio

from hegui.gateway.inflight import InFlight


def test_drained_waits_for_the_last_request_and_no_longer() -> None:
    async def scenario() -> tuple[bool, bool, bool, int]:
        inflight = InFlight()
        idle = await inflight.drained(0.01)
        inflight.enter()
        inflight.enter()
        stuck = await inflight.drained(0.05)  # nobody leaves: bounded, and says so
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, inflight.leave)
        loop.call_later(0.04, inflight.leave)
        left = await inflight.drained(5)
        return idle, stuck, left, inflight.count

    assert asyncio.run(scenario()) == (True, False, True, 0)


class Told:
    """A `Traffic` that records what it was told."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def busy(self) -> None:
        self.said.append("busy")

    def quiet(self) -> None:
        self.said.append("quiet")


def test_traffic_hears_busy_at_the_first_request_and_quiet_when_the_last_leaves() -> None:
    told = Told()
    inflight = InFlight(told)
    inflight.enter()
    inflight.enter()  # a second request changes nothing
    inflight.leave()
    assert told.said == ["busy"]
    inflight.leave()
    inflight.enter()
    inflight.leave()
    assert told.said == ["busy", "quiet", "busy", "quiet"]
