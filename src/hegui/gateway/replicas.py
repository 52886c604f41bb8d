"""How a gateway joins its replicas: the shared state, and what listens to it.

`SharedParts.build` is called once by `GatewayState.build`. Without ``HEGUI_REDIS_URL`` it returns the
stores the policy names, unchanged, and counters in process memory. With it:

- the ``memory`` session store becomes `RedisMemoryStore` (shared; ``database`` stays the database);
- the database sanction store is wrapped in `CachedSanctionStore`;
- the key store tells the others when a key is revoked, and forgets its cache when told;
- a lexicon reload on one replica (console) reloads the lexicons of every replica;
- a policy reload on one replica makes every replica read its own copy of the policy file
  (`hegui.gateway.policy_reload`; subscribed by `GatewayState.build`);
- an end user erased on one replica (crypto-shredding) makes every replica drop the user's cached data
  key, so none can read the user's remembered turns any more;
- rate-limit counters live in Redis.

The gateway's readiness calls ``state.shared.ping()`` (raises StorageError when Redis does not answer).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from hegui.cluster.events import Event, EventKind
from hegui.cluster.limiter import RateLimiter
from hegui.cluster.redis_state import RedisState, Shared, shared_state
from hegui.errors import HeguiError
from hegui.guard.memory import MemoryStore
from hegui.guard.pipeline import Pipeline
from hegui.guard.sanctions import SanctionStore
from hegui.guard.types import Stage
from hegui.policy import Policy
from hegui.records.key_limits import KeyLimits
from hegui.records.keys import KeyStore
from hegui.records.memory_store import memory_store_for
from hegui.records.sanctions_store import DbSanctionStore, sanction_store_for
from hegui.records.vault import Vault
from hegui.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class SharedParts:
    shared: Shared
    keys: KeyStore
    memory: MemoryStore
    sanctions: SanctionStore
    key_limits: KeyLimits
    limiter: RateLimiter

    @classmethod
    def build(
        cls, settings: Settings, policy: Policy, engine: Engine, vault: Vault, master: bytes
    ) -> SharedParts:
        shared = shared_state(settings.redis_url)
        keys = KeyStore(engine, on_change=lambda: shared.publish(Event(EventKind.KEY_CHANGED)))
        key_limits = KeyLimits(engine)
        memory = memory_store_for(policy.records, engine, vault)
        sanctions = sanction_store_for(policy.records, engine)
        if isinstance(shared, RedisState):
            from hegui.cluster.memory import RedisMemoryStore
            from hegui.cluster.sanctions import CachedSanctionStore

            if policy.records.memory_store == "memory":
                memory = RedisMemoryStore(
                    shared.sync,
                    vault,
                    hmac.new(master, b"hegui-session-memory", hashlib.sha256).digest(),
                    errors=shared.errors,
                    max_turns=policy.records.memory_turns,
                    ttl_seconds=settings.redis_memory_seconds,
                )
            if isinstance(sanctions, DbSanctionStore):
                sanctions = CachedSanctionStore(sanctions, shared, window_days=policy.sanctions.window_days)
        if isinstance(shared, RedisState):
            vault.on_forget = lambda tenant, user: shared.publish(
                Event(EventKind.USER_ERASED, data={"tenant": tenant, "user": user})
            )
            shared.subscribe(
                EventKind.USER_ERASED,
                lambda event: vault.drop_cached(event.data.get("tenant", ""), event.data.get("user", "")),
            )
            shared.subscribe(EventKind.RESYNC, lambda _event: vault.drop_all_cached())
        for kind in (EventKind.KEY_CHANGED, EventKind.RESYNC):
            shared.subscribe(kind, lambda _event: keys.forget())
            shared.subscribe(kind, lambda _event: key_limits.expire())
        limiter = RateLimiter(
            policy.limits, shared.windows(policy.limits.stream_lease_seconds), key_limits.quota
        )
        return cls(shared, keys, memory, sanctions, key_limits, limiter)

    def listen_for_reloads(self, pipeline: Callable[[], Pipeline]) -> None:
        """Reload this replica's lexicons when another replica reloaded its own: those of the pipeline
        in service when the event comes (a policy reload may have replaced the one of the start)."""
        self.shared.subscribe(EventKind.LEXICON_RELOAD, lambda _event: reload_lexicons(pipeline()))


def lexicon_checks(pipeline: Pipeline) -> list[Any]:
    """The pipeline's checks that hold a reloadable lexicon (duck-typed, as the console finds them)."""
    seen: dict[str, Any] = {}
    for stage in (Stage.INPUT, Stage.OUTPUT):
        for check in pipeline.checks_for(stage):
            for candidate in (check, getattr(check, "inner", None)):
                lex = getattr(candidate, "lexicon", None)
                if lex is not None and hasattr(lex, "reload"):
                    seen.setdefault(getattr(candidate, "name", check.name), candidate)
    return list(seen.values())


def reload_lexicons(pipeline: Pipeline) -> None:
    """Read every lexicon check's files again; a file that fails to load leaves its check as it was."""
    for check in lexicon_checks(pipeline):
        try:
            changed = check.lexicon.reload()
        except (HeguiError, OSError, ValueError) as exc:
            log.error("lexicon %s not reloaded on the other replica's word: %s", check.name, exc)
            continue
        log.info(
            "lexicon %s reloaded on another replica's word (%s)",
            check.name,
            "changed" if changed else "unchanged",
        )
