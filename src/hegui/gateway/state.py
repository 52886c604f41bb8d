"""Everything a running gateway holds, built once by the app factory from Settings and Policy.

The parts built from the guard part of the policy (`GuardParts`: policy, pipeline, labeller, refusals,
ladder) may be replaced while the gateway runs (`swap`, by `hegui.gateway.policy_reload`); a request
works on `pinned`, a copy taken when it began, so it keeps the parts it started with to its end.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from hegui.cluster.events import EventKind
from hegui.cluster.redis_state import Shared
from hegui.gateway.labelling import Labeller
from hegui.gateway.metrics import Metrics
from hegui.gateway.offload import CheckWorkers, database_pool_size
from hegui.gateway.policy_reload import GuardParts, PolicyReloader, guard_parts
from hegui.gateway.readiness import ReadinessProbe, database_probe
from hegui.gateway.replicas import SharedParts
from hegui.gateway.upstream import UpstreamRouter
from hegui.guard.egress import EgressGuard
from hegui.guard.memory import MemoryStore
from hegui.guard.pipeline import Pipeline
from hegui.guard.refusals import RefusalCatalog
from hegui.guard.sanctions import SanctionLadder, SanctionStore
from hegui.policy import Policy, load_policy
from hegui.records.audit import AuditLog, content_hasher, with_audit_keys
from hegui.records.audit_setup import audit_protection, checkpoint_gap, require_writer_key
from hegui.records.db import make_engine, migrate
from hegui.records.keep import KeepWorker
from hegui.records.keys import KeyStore
from hegui.records.secrets import audit_content_key
from hegui.records.vault import Vault, master_key
from hegui.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who holds the API key of a request."""

    key_id: int
    key_prefix: str
    tenant: str
    role: str
    channel: str


@dataclass
class GatewayState:
    settings: Settings
    policy: Policy
    pipeline: Pipeline
    engine: Engine
    audit: AuditLog
    keys: KeyStore
    router: UpstreamRouter
    metrics: Metrics
    content_hash: Callable[[str], str]
    labeller: Labeller
    refusals: RefusalCatalog
    ladder: SanctionLadder
    sanctions: SanctionStore
    memory: MemoryStore
    vault: Vault
    egress: EgressGuard
    #: Where a request's blocking checks run (hegui.gateway.offload).
    workers: CheckWorkers
    #: Carries out the keep journal after the responses (hegui.records.keep).
    keeper: KeepWorker
    #: What the replicas share (Redis, or this process alone), the rate limiter and per-key quotas
    #: (hegui.gateway.replicas). Readiness: ``await state.replicas.shared.ping()``.
    replicas: SharedParts
    #: What /readyz asks (hegui.gateway.readiness): the database from the start; shared state (Redis)
    #: appends its own probe where it is built.
    readiness: list[ReadinessProbe] = field(default_factory=list)
    #: Reloads the policy file in place (admin API, SIGHUP, another replica's event); set by `build`.
    reloader: PolicyReloader | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        policy: Policy | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> GatewayState:
        policy = policy or load_policy(settings.policy_file)
        metrics = Metrics()
        guard = guard_parts(policy, observer=metrics.observe_check)
        # Everything the configuration can get wrong is checked before the database is touched, so a bad
        # policy or a missing upstream key never leaves a half-migrated database behind.
        router = UpstreamRouter(policy, transports)
        protection = audit_protection(settings)
        for warning in protection.warnings:
            log.warning("%s", warning)
        engine = with_audit_keys(
            make_engine(settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous),
            protection.keys,
        )
        migrate(engine)
        require_writer_key(engine, protection.keys)
        audit = AuditLog(engine, batch_max=settings.audit_batch_max, observer=protection.checkpointer)
        key = audit_content_key(settings.audit_content_key, settings.data_dir)
        master = master_key(settings)
        vault = Vault(engine, master)
        if protection.checkpointer is not None:
            protection.checkpointer.start()
            if gap := checkpoint_gap(engine, protection.checkpointer):
                log.warning("%s", gap)
        parts = SharedParts.build(settings, policy, engine, vault, master)
        audit.start()
        # Started at once: it also keeps what a crashed process left in the journal.
        keeper = KeepWorker(engine, vault, policy.records, on_failure=metrics.records_failures.inc)
        keeper.start()
        state = cls(
            settings,
            policy,
            guard.pipeline,
            engine,
            audit,
            parts.keys,
            router,
            metrics,
            content_hasher(key),
            guard.labeller,
            guard.refusals,
            guard.ladder,
            parts.sanctions,
            parts.memory,
            vault,
            EgressGuard(
                policy.egress,
                policy.provider.region,
                hmac.new(master, b"egress-person", hashlib.sha256).digest(),
            ),
            CheckWorkers(settings.check_workers or database_pool_size(engine)),
            keeper,
            parts,
            readiness=[database_probe(engine)]
            + ([ReadinessProbe("redis", parts.shared.ping)] if settings.redis_url else []),
        )
        metrics.policy_info.labels(policy.full_version).set(1)
        # Read when the event comes, not now: a policy reload replaces the pipeline.
        parts.listen_for_reloads(lambda: state.pipeline)
        state.reloader = PolicyReloader(state, settings.policy_file)
        for kind in (EventKind.POLICY_RELOAD, EventKind.RESYNC):
            parts.shared.subscribe(kind, state.reloader.on_event)
        return state

    def swap(self, parts: GuardParts) -> None:
        """Serve ``parts`` from now on. Called on the event loop with no await in between, so that a
        request pinned before sees only old parts and one pinned after only new ones."""
        self.policy = parts.policy
        self.pipeline = parts.pipeline
        self.labeller = parts.labeller
        self.refusals = parts.refusals
        self.ladder = parts.ladder

    def pinned(self) -> GatewayState:
        """This state as it is now, for one request: a shallow copy (every store, pool and writer is
        shared), so a `swap` during the request does not change what the request reads."""
        return copy.copy(self)

    @property
    def shared(self) -> Shared:
        """The replicas' shared state: ``await state.shared.ping()`` for readiness."""
        return self.replicas.shared

    async def aclose(self) -> None:
        await self.replicas.shared.aclose()
        await self.router.aclose()
        self.workers.close()
        self.audit.close()
        self.keeper.close()  # after the audit writer: every journal row is committed by now
        self.engine.dispose()
