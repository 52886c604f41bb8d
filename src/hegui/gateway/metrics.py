"""Prometheus metrics, one registry per app (no process-wide globals).

Under `hegui serve --workers N` each worker is its own process, and a scrape reaches one of them; so the
supervisor gives the workers a shared directory (``PROMETHEUS_MULTIPROC_DIR``, prometheus_client's
multiprocess mode): every worker's values are kept in files there, and `render` answers with the sum
over all workers (counters and histograms summed; the circuit gauge the largest of the live workers').
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.registry import Collector

from hegui.guard.types import Finding, Stage

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "hegui_requests", "HTTP requests by endpoint and status.", ["endpoint", "status"], registry=r
        )
        self.decisions = Counter(
            "hegui_decisions",
            "Guard decisions by stage, action and risk category.",
            ["stage", "action", "category"],
            registry=r,
        )
        self.upstream_latency = Histogram(
            "hegui_upstream_latency_seconds",
            "Time to the upstream's answer (first byte for streams).",
            ["upstream", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.check_latency = Histogram(
            "hegui_check_latency_seconds",
            "Time spent in each check.",
            ["check", "stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.audit_failures = Counter(
            "hegui_audit_failures", "Decisions that could not be recorded.", registry=r
        )
        self.records_failures = Counter(
            "hegui_records_failures",
            "Turns that could not be stored or offered to the training pool.",
            registry=r,
        )
        self.breaker_open = Gauge(
            "hegui_upstream_circuit_open",
            "1 while an upstream's circuit is open.",
            ["upstream"],
            registry=r,
            multiprocess_mode="livemax",  # with workers: open in any live worker
        )
        self.policy_info = Gauge(
            "hegui_policy_info",
            "1 for the policy version this process serves (with workers: how many serve it).",
            ["version"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.policy_reloads = Counter(
            "hegui_policy_reloads",
            "Policy reloads by outcome: reloaded, unchanged (the file is the running one) or refused.",
            ["outcome"],
            registry=r,
        )
        #: Collectors that compute their values when scraped (from the database): the same in every worker,
        #: so with workers they are added to the summed values once, not summed.
        self._computed: list[Collector] = []

        # A metric's child per label values, looked up once: `labels()` (a lock, and a tuple of the values
        # checked each time) was a visible share of a request's CPU, called for every check of every chunk.
        # Races between threads only build a child twice; prometheus_client hands back the same one.
        self._checks: dict[tuple[str, Stage], Histogram] = {}
        self._decisions: dict[tuple[str, str, str], Counter] = {}

    def observe_check(self, check: str, stage: Stage, seconds: float) -> None:
        child = self._checks.get((check, stage))
        if child is None:
            child = self._checks[check, stage] = self.check_latency.labels(check, stage.value)
        child.observe(seconds)

    def decision(self, stage: str, action: str, findings: list[Finding]) -> None:
        categories = {f.category for f in findings} or {"none"}
        for category in categories:
            child = self._decisions.get((stage, action, category))
            if child is None:
                child = self._decisions[stage, action, category] = self.decisions.labels(
                    stage, action, category
                )
            child.inc()

    def policy_swapped(self, old: str, new: str) -> None:
        """The process serves ``new`` instead of ``old`` (a hot reload)."""
        self.policy_info.labels(old).set(0)
        self.policy_info.labels(new).set(1)
        self.policy_reloads.labels("reloaded").inc()

    def add_collector(self, collector: Collector) -> None:
        """A collector whose values are computed when scraped (see ``_computed``)."""
        self.registry.register(collector)
        self._computed.append(collector)

    def render(self) -> bytes:
        if not shared_directory():
            return generate_latest(self.registry)
        summed = CollectorRegistry(auto_describe=True)
        multiprocess.MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
        for collector in self._computed:
            summed.register(collector)
        return generate_latest(summed)


def shared_directory() -> str:
    """The workers' shared metrics directory ("" for one process)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def worker_leaves() -> None:
    """A worker stops: its live gauges leave the sum (its counters stay: a counter never goes back)."""
    if shared_directory():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
