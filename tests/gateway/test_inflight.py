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
