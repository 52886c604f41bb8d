"""What /readyz asks before it says the gateway may take traffic: a list of named probes on the state.

A load balancer or Kubernetes sends traffic only to a replica whose /readyz answers 200, so each thing a
request cannot be served without has a probe here: the database (every decision is recorded before its
answer is released) and, when shared state is configured, Redis. A probe is a name and an async callable
that raises when its dependency does not answer; /readyz runs them all, each under a deadline, and names
the ones that failed. Other parts add theirs by appending to ``GatewayState.readiness`` (for example the
shared-state room: ``ReadinessProbe("redis", redis_state.ping)``); nothing else needs to change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, text

#: A probe that does not answer in this time counts as failed: a stalled database is not a ready one.
PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ReadinessProbe:
    """``check`` returns when the dependency answers and raises when it does not."""

    name: str
    check: Callable[[], Awaitable[object]]


def database_probe(engine: Engine) -> ReadinessProbe:
    """``SELECT 1`` on a pooled connection, in a thread: a slow database must not stall the event loop."""

    def ping() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def check() -> None:
        await asyncio.to_thread(ping)

    return ReadinessProbe("database", check)


async def failed_probes(
    probes: Sequence[ReadinessProbe], seconds: float = PROBE_TIMEOUT_SECONDS
) -> list[str]:
    """One line per probe that raised or timed out (its name and the error's class), none when all answer.
    Every exception counts as a failure: readiness is exactly this answer, so nothing is swallowed."""

    async def run(probe: ReadinessProbe) -> str | None:
        try:
            async with asyncio.timeout(seconds):
                await probe.check()
        except TimeoutError:
            return f"{probe.name}: no answer within {seconds:g}s"
        except Exception as exc:
            return f"{probe.name}: {exc.__class__.__name__}"
        return None

    results = await asyncio.gather(*(run(p) for p in probes))
    return [r for r in results if r is not None]
