"""The ``[limits]`` policy table: requests, tokens and concurrent streams per key, tenant and end user.

Validated with the rest of the policy file. A zero is "no limit", so the default policy limits
nothing and a gateway without a ``[limits]`` table behaves as before. Per-key limits stored with the
key (``hegui keys limit``) replace the ``[limits.key]`` defaults for that key.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Scope(StrEnum):
    """Whose traffic a limit counts."""

    KEY = "key"
    TENANT = "tenant"
    USER = "user"


class Quota(BaseModel):
    """The limits of one holder (a key, a tenant or an end user); 0 means unlimited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_minute: int = Field(0, ge=0, description="Model requests per minute (0: unlimited).")
    tokens_per_minute: int = Field(
        0,
        ge=0,
        description="Prompt plus completion tokens per minute, from the upstream's usage; a stream is "
        "charged an estimate as it goes and corrected to the upstream's usage at its end (0: unlimited).",
    )
    concurrent_streams: int = Field(0, ge=0, description="Streams open at once (0: unlimited).")

    @property
    def unlimited(self) -> bool:
        return not (self.requests_per_minute or self.tokens_per_minute or self.concurrent_streams)


class LimitsPolicy(BaseModel):
    """Default quotas per API key, per tenant and per end user (the ``user`` field or ``X-Hegui-User``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Quota = Field(
        default_factory=Quota, description="Every API key's quota, unless the key has its own."
    )
    tenant: Quota = Field(default_factory=Quota, description="Every tenant's quota (all its keys together).")
    user: Quota = Field(
        default_factory=Quota, description="Every end user's quota, within their tenant (all keys together)."
    )
    stream_lease_seconds: int = Field(
        600,
        ge=10,
        description="A stream counts against concurrent_streams until it ends, or at most this long after "
        "its last sign of life (so a replica killed mid-stream does not hold the slot for ever).",
    )

    def quota(self, scope: Scope) -> Quota:
        return {Scope.KEY: self.key, Scope.TENANT: self.tenant, Scope.USER: self.user}[scope]

    @property
    def unlimited(self) -> bool:
        """No default limit at all (per-key limits may still apply)."""
        return self.key.unlimited and self.tenant.unlimited and self.user.unlimited
