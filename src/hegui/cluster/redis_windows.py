"""`RedisWindows`: the rate-limit counters of `hegui.cluster.windows` on Redis, shared by replicas.

One Lua script per request checks every limit and charges them all or none (a request refused by
its tenant's limit does not use up its key's), with Redis's clock. Keys: ``<counter>:<window>`` (an
integer that expires after two windows) and ``<counter>`` (a sorted set of stream leases). The script
touches keys it derives from the ones it is given, so on a Redis Cluster every counter of one call
must be in one hash slot: the limiter's names carry the tenant as a hash tag
(``hegui:rl:{<tenant>}:…``, `hegui.cluster.limiter.counter_names`), and a name derived by appending
to a tagged name keeps its tag, so its slot.

Token corrections (`add`) are not sent one by one: they wait, summed per counter, for the next
admission, whose round trip carries them (one pipeline), or for `FLUSH_SECONDS`, whichever comes
first. A request with a tokens limit so costs one round trip to Redis, not two. redis-py's cluster
pipeline refuses scripts, so on a cluster the corrections of counters in the admission's slot ride
in the admission's own script (`_ADMIT_AFTER_ADDS`) and the others go at the same time, each to its
counter's node: one round trip there too.

While Redis fails, the counters fall back to this process's own (`LocalWindows`), and say so in the
log: each replica then enforces the whole limit by itself, looser by the number of replicas, rather
than refusing every request because a cache is down. Readiness reports Redis (`RedisState.ping`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from redis.crc import key_slot

from hegui.cluster.windows import Admission, Charge, Kind, LocalWindows, Usage, refusal

if TYPE_CHECKING:
    from hegui.cluster.redis_state import RedisState

log = logging.getLogger(__name__)

#: How long a token correction may wait for an admission to carry it.
FLUSH_SECONDS = 0.05

_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local W = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local member = ARGV[3]
local win = math.floor(now / W)
local elapsed = (now - win * W) / W
local out = {0, tostring(elapsed)}
local refused = 0
for i = 1, #KEYS do
  local kind = ARGV[1 + 3 * i]
  local limit = tonumber(ARGV[2 + 3 * i])
  local cost = tonumber(ARGV[3 + 3 * i])
  local prev, curr, used = 0, 0, 0
  if kind == 'streams' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    curr = redis.call('ZCARD', KEYS[i])
    used = curr
  else
    prev = tonumber(redis.call('GET', KEYS[i] .. ':' .. (win - 1)) or '0')
    curr = tonumber(redis.call('GET', KEYS[i] .. ':' .. win) or '0')
    used = prev * (1 - elapsed) + curr
    if kind == 'tokens' then cost = 1 end
  end
  if refused == 0 and used + cost > limit then refused = i end
  out[#out + 1] = tostring(prev)
  out[#out + 1] = tostring(curr)
end
if refused == 0 then
  for i = 1, #KEYS do
    local kind = ARGV[1 + 3 * i]
    local cost = tonumber(ARGV[3 + 3 * i])
    if kind == 'streams' then
      redis.call('ZADD', KEYS[i], now + lease, member)
      redis.call('EXPIRE', KEYS[i], math.ceil(lease * 2))
    else
      local k = KEYS[i] .. ':' .. win
      redis.call('INCRBY', k, cost)
      redis.call('EXPIRE', k, math.ceil(W * 2) + 1)
    end
  end
end
out[1] = refused
return out
"""

_ADD = """
local t = redis.call('TIME')
local W = tonumber(ARGV[1])
local win = math.floor((tonumber(t[1]) + tonumber(t[2]) / 1000000) / W)
local k = KEYS[1] .. ':' .. win
local v = redis.call('INCRBY', k, ARGV[2])
if v < 0 then redis.call('SET', k, 0) end
redis.call('EXPIRE', k, math.ceil(W * 2) + 1)
return v
"""

#: `_ADMIT` after the corrections of counters in its slot (a cluster's admission, `_admit_in_cluster`):
#: KEYS are the admission's N counters then the corrected ones; ARGV is `_ADMIT`'s, then one amount per
#: corrected counter, then N.
_ADMIT_AFTER_ADDS = """
local N = tonumber(ARGV[#ARGV])
local t0 = redis.call('TIME')
local W0 = tonumber(ARGV[1])
local win0 = math.floor((tonumber(t0[1]) + tonumber(t0[2]) / 1000000) / W0)
for j = N + 1, #KEYS do
  local k = KEYS[j] .. ':' .. win0
  local v = redis.call('INCRBY', k, ARGV[3 + 3 * N + (j - N)])
  if v < 0 then redis.call('SET', k, 0) end
  redis.call('EXPIRE', k, math.ceil(W0 * 2) + 1)
end
""" + _ADMIT.replace("#KEYS", "N")

_RENEW = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', until_, ARGV[2]) end
return #KEYS
"""


class RedisWindows:
    """`Windows` on Redis, falling back to process memory while Redis fails."""

    def __init__(self, shared: RedisState, *, window: float = 60.0, lease_seconds: float = 600.0) -> None:
        self.shared = shared
        self.window = window
        self.lease_seconds = lease_seconds
        self.local = LocalWindows(window=window, lease_seconds=lease_seconds)
        self.fallbacks = 0
        self._admit = shared.aio.register_script(_ADMIT)
        self._add = shared.aio.register_script(_ADD)
        self._renew = shared.aio.register_script(_RENEW)
        self._admit_after_adds = shared.aio.register_script(_ADMIT_AFTER_ADDS)
        self._warned = 0.0
        #: Token corrections not yet sent, summed per counter.
        self._pending: dict[str, int] = {}
        self._flusher: asyncio.Task[None] | None = None

    def _fell_back(self, exc: Exception) -> None:
        self.fallbacks += 1
        now = time.monotonic()
        if now - self._warned > 10:  # a Redis outage must not flood the log: once per 10 s
            self._warned = now
            log.error("rate-limit counters on Redis failed (%r); counting in this process meanwhile", exc)

    async def admit(self, charges: Sequence[Charge], lease: str) -> Admission:
        if not charges:
            return Admission(True)
        args: list[Any] = [self.window, self.lease_seconds, lease]
        for c in charges:
            args += [c.kind.value, c.limit, c.cost]
        pending = self._take_pending()
        keys = [c.counter for c in charges]
        try:
            if pending and self.shared.cluster:
                raw = await self._admit_in_cluster(pending, keys, args)
            elif pending:
                raw = (await self._pipelined(pending, (self._admit.sha, keys, args)))[-1]
            else:
                raw = await self._admit(keys=keys, args=args)
        except self.shared.failures as exc:
            self._fell_back(exc)
            for counter, amount in pending.items():
                await self.local.add(counter, amount)
            return await self.local.admit(charges, lease)
        refused, elapsed = int(raw[0]), float(raw[1])
        if refused == 0:
            return Admission(True)
        charge = charges[refused - 1]
        usage = Usage(float(raw[2 * refused]), float(raw[2 * refused + 1]))
        return refusal(charge, usage, elapsed, self.window)

    def _take_pending(self) -> dict[str, int]:
        pending, self._pending = self._pending, {}
        return {c: a for c, a in pending.items() if a}

    async def _pipelined(
        self, pending: dict[str, int], then: tuple[str, list[str], list[Any]] | None
    ) -> list[Any]:
        """The queued corrections (and ``then``, an EVALSHA) in one round trip. redis-py's own script
        support in pipelines asks Redis whether the scripts exist first (a second round trip), so the
        SHAs are sent as they are, and loaded once when Redis does not know them (after its restart)."""
        calls = [(self._add.sha, [counter], [self.window, amount]) for counter, amount in pending.items()]
        if self.shared.cluster:
            return await self._in_cluster(calls, then)
        if then is not None:
            calls.append(then)
        for attempt in (1, 2):
            try:
                async with self.shared.aio.pipeline(transaction=False) as pipe:
                    for sha, keys, args in calls:
                        pipe.evalsha(sha, len(keys), *keys, *args)
                    return list(await pipe.execute())
            except self.shared.no_script:
                if attempt == 2:
                    raise
                for script in (self._admit, self._add):
                    await self.shared.aio.script_load(script.script)
        raise AssertionError("unreachable")

    async def _in_cluster(
        self,
        corrections: list[tuple[str, list[str], list[Any]]],
        then: tuple[str, list[str], list[Any]] | None,
    ) -> list[Any]:
        """`_pipelined` on a cluster: the corrections at once (each to its own node; the scripts load
        themselves where a node does not know them), then ``then``."""
        out: list[Any] = list(
            await asyncio.gather(*(self._add(keys=keys, args=args) for _sha, keys, args in corrections))
        )
        if then is not None:
            _sha, keys, args = then
            out.append(await self._admit(keys=keys, args=args))
        return out

    async def _admit_in_cluster(self, pending: dict[str, int], keys: list[str], args: list[Any]) -> Any:
        """The admission with the queued corrections, in one round trip on a cluster: the corrections
        of counters in the admission's slot (its own, mostly) ride in the admission's script, before
        it reads them; the others go at the same time, each to its own node (other slots, other
        counters: their order against the admission does not matter)."""
        slot = key_slot(keys[0].encode())
        inside = {c: a for c, a in pending.items() if key_slot(c.encode()) == slot}
        calls: list[Awaitable[Any]] = [
            self._add(keys=[counter], args=[self.window, amount])
            for counter, amount in pending.items()
            if counter not in inside
        ]
        if inside:
            admission = self._admit_after_adds(
                keys=[*keys, *inside], args=[*args, *inside.values(), len(keys)]
            )
        else:
            admission = self._admit(keys=keys, args=args)
        results = await asyncio.gather(admission, *calls)
        return results[0]

    async def add(self, counter: str, amount: int) -> None:
        """Queue a correction; the next admission or `FLUSH_SECONDS` sends it."""
        if amount == 0:
            return
        self._pending[counter] = self._pending.get(counter, 0) + amount
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        """Send the queued corrections now."""
        pending = self._take_pending()
        if not pending:
            return
        try:
            await self._pipelined(pending, None)
        except self.shared.failures as exc:
            self._fell_back(exc)
            for counter, amount in pending.items():
                await self.local.add(counter, amount)

    async def aclose(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    async def renew(self, counters: Sequence[str], lease: str) -> None:
        if not counters:
            return
        try:
            await self._renew(keys=list(counters), args=[math.ceil(self.lease_seconds), lease])
        except self.shared.failures as exc:
            self._fell_back(exc)
            await self.local.renew(counters, lease)

    async def release(self, counters: Sequence[str], lease: str) -> None:
        if not counters:
            return
        await self.local.release(counters, lease)  # in case it was admitted while Redis failed
        try:
            async with self.shared.aio.pipeline(transaction=False) as pipe:
                for counter in counters:
                    pipe.zrem(counter, lease)
                await pipe.execute()
        except self.shared.failures as exc:
            self._fell_back(exc)


__all__ = ["Kind", "RedisWindows"]
