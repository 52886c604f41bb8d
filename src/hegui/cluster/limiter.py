"""`RateLimiter`: a request's quotas (key, tenant, end user) checked and charged in one step.

`admit` builds the charges the quotas ask for, asks the counters (`Windows`) to admit them all or
none, and returns a `Ticket` or raises `RateLimited` naming the limit and when to retry. The ticket
follows the request: `Ticket.tokens` moves the token counters to the request's running total (an
estimate while a stream runs, the upstream's own usage at the end), `Ticket.close` frees its stream
slots. Holders are named in the counters by id (keys) or by a hash (tenants, end users), never by a
user id in clear.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from hegui.cluster.config import LimitsPolicy, Quota, Scope
from hegui.cluster.windows import Admission, Charge, Kind, Windows
from hegui.errors import RateLimited

PREFIX = "hegui:rl"

_PER = {
    Kind.REQUESTS: "requests per minute",
    Kind.TOKENS: "tokens per minute",
    Kind.STREAMS: "concurrent streams",
}


@dataclass(frozen=True, slots=True)
class Holder:
    """Whose quotas a request uses."""

    key_id: int
    tenant: str
    user: str | None


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x00".join(parts).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def counter_names(holder: Holder) -> dict[Scope, str]:
    """The counters' names, all with the tenant's hash tag (``{…}``): one request's counters are
    checked and charged by one Lua script, which a Redis Cluster runs only when all its keys are in
    one hash slot; a key and an end user belong to one tenant, so the tenant is what they share. On
    one server the braces are only characters."""
    tag = "{" + _digest(holder.tenant) + "}"
    names = {
        Scope.KEY: f"{PREFIX}:{tag}:key:{holder.key_id}",
        Scope.TENANT: f"{PREFIX}:{tag}:tenant",
    }
    if holder.user is not None:
        names[Scope.USER] = f"{PREFIX}:{tag}:user:{_digest(holder.tenant, holder.user)}"
    return names


@dataclass
class Ticket:
    """One admitted request's share of the counters."""

    windows: Windows
    lease: str
    token_counters: list[str] = field(default_factory=list)
    stream_counters: list[str] = field(default_factory=list)
    #: Tokens charged so far (the prompt estimate at admission).
    charged: int = 0
    closed: bool = False

    @property
    def counts_tokens(self) -> bool:
        return bool(self.token_counters)

    async def tokens(self, total: int) -> int:
        """Bring the token counters to ``total`` for this request (a correction may be negative);
        returns the amount added."""
        delta = total - self.charged
        if delta and self.token_counters:
            for counter in self.token_counters:
                await self.windows.add(counter, delta)
        self.charged = total
        return delta

    async def renew(self) -> None:
        await self.windows.renew(self.stream_counters, self.lease)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.windows.release(self.stream_counters, self.lease)


class RateLimiter:
    """The policy's quotas, with a key's own quota (``key_quota``) in place of ``[limits.key]``."""

    def __init__(
        self,
        policy: LimitsPolicy,
        windows: Windows,
        key_quota: Callable[[int], Quota | None] = lambda _key_id: None,
    ) -> None:
        self.policy = policy
        self.windows = windows
        self.key_quota = key_quota

    def quotas(self, holder: Holder) -> dict[Scope, Quota]:
        own = self.key_quota(holder.key_id)
        found = {Scope.KEY: own if own is not None else self.policy.key, Scope.TENANT: self.policy.tenant}
        if holder.user is not None:
            found[Scope.USER] = self.policy.user
        return found

    def charges(self, holder: Holder, *, stream: bool, prompt_tokens: int) -> list[Charge]:
        names = counter_names(holder)
        out: list[Charge] = []
        for scope, quota in self.quotas(holder).items():
            base = names[scope]
            if quota.requests_per_minute:
                out.append(Charge(f"{base}:requests", scope, Kind.REQUESTS, quota.requests_per_minute, 1))
            if quota.tokens_per_minute:
                out.append(
                    Charge(f"{base}:tokens", scope, Kind.TOKENS, quota.tokens_per_minute, prompt_tokens)
                )
            if stream and quota.concurrent_streams:
                out.append(Charge(f"{base}:streams", scope, Kind.STREAMS, quota.concurrent_streams, 1))
        return out

    def applies(self, holder: Holder) -> bool:
        """Whether any limit may apply to this key's requests (the gate's fast path when none does)."""
        return not self.policy.unlimited or self.key_quota(holder.key_id) is not None

    def needs_body(self, holder: Holder) -> bool:
        """Whether admission needs the request's body: the end user is in it, and so are the stream
        flag and the prompt (only tokens and streams limits read those)."""
        if not self.policy.user.unlimited:
            return True
        return any(q.tokens_per_minute or q.concurrent_streams for q in self.quotas(holder).values())

    async def admit(self, holder: Holder, *, stream: bool, prompt_tokens: int) -> Ticket:
        """A ticket for the request, or RateLimited (nothing charged then)."""
        charges = self.charges(holder, stream=stream, prompt_tokens=prompt_tokens)
        lease = uuid.uuid4().hex
        if not charges:
            return Ticket(self.windows, lease)
        admission = await self.windows.admit(charges, lease)
        if not admission.admitted:
            raise refused(admission)
        ticket = Ticket(self.windows, lease, charged=prompt_tokens)
        ticket.token_counters = [c.counter for c in charges if c.kind == Kind.TOKENS]
        ticket.stream_counters = [c.counter for c in charges if c.kind == Kind.STREAMS]
        if not ticket.token_counters:
            ticket.charged = 0
        return ticket


def refused(admission: Admission) -> RateLimited:
    charge = admission.refused
    assert charge is not None  # a refusal always names its limit
    kind = "tokens" if charge.kind == Kind.TOKENS else "requests"
    message = (
        f"Rate limit reached for this {charge.scope.value} on {_PER[charge.kind]}: limit {charge.limit}, "
        f"used {admission.used}. Please try again in {admission.retry_after}s."
    )
    return RateLimited(
        message,
        kind=kind,
        retry_after=admission.retry_after,
        scope=charge.scope.value,
        limit=charge.kind.value,
    )
