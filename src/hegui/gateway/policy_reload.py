"""Hot policy reload: a running gateway reads its policy file again and swaps the parts built from it.

Three triggers, one path (`PolicyReloader.reload`): the admin API (``POST /hegui/api/policy/reload``),
SIGHUP to the process, and another replica's ``policy-reload`` event on Redis (the replica that
reloaded publishes it; every other one reads its own copy of the file, which must be the same file).

What swaps is what the guard part of the policy builds (`GuardParts`): the check pipeline (checks,
fusion, presets, lexicons), the refusal texts, the labeller, the sanction ladder, and the wording and
per-request bounds read from ``[gateway]`` on each request. What a running process built once from the
rest (the upstream pools, the records stores, the rate limiter, the egress guard, the OCR child…) does not
swap: a new file that changes it is refused as a whole, naming the sections that need a restart
(`restart_needed`), and the running policy stays. So does a file that fails to parse, validate or
build. The new pipeline is built in a thread: requests keep flowing on the old one meanwhile, and each
request keeps the parts it began with to its end (`hegui.gateway.http.state_of` pins them).

Never here: a partial swap. Either every part comes from the new file, or none does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hegui.cluster.events import Event, EventKind
from hegui.errors import ConfigError, HeguiError, PolicyNotReloaded
from hegui.gateway.heap import thaw_until_gone
from hegui.gateway.labelling import Labeller
from hegui.gateway.preflight import preflight
from hegui.guard.pipeline import CheckObserver, Pipeline
from hegui.guard.refusals import RefusalCatalog
from hegui.guard.sanctions import SanctionLadder
from hegui.pipelines import build_pipeline
from hegui.policy import Policy, load_policy
from hegui.records.audit import AuditDraft

if TYPE_CHECKING:
    from hegui.gateway.state import GatewayState

log = logging.getLogger(__name__)

#: The interpreter's thread switch interval while a new pipeline is built (default 0.005 s).
BUILD_SWITCH_INTERVAL = 0.0005

#: Sections a reload swaps as a whole.
SWAPPED_SECTIONS = frozenset({"version", "checks", "guard", "labels", "refusals", "retention"})
#: Sections of which only some fields swap; their other fields need a restart. ``gateway``: the
#: upstream clients hold the deadline and the answer bounds (``request_deadline``, ``max_n``,
#: ``max_answer_bytes``); the rest is read on each request. ``sanctions``: the shared sanction cache
#: holds ``window_days``; the ladder is rebuilt.
SWAPPED_FIELDS: dict[str, frozenset[str]] = {
    "gateway": frozenset(
        {
            "refusal_text",
            "output_stop_text",
            "recent_turns",
            "logprobs",
            "stream_sentence_max_chars",
            "stream_release_step",
            "stream_idle_timeout",
            "max_image_side",
            "media_max_bytes",
            "media_timeout",
            "media_max_redirects",
            "media_allow_networks",
        }
    ),
    "sanctions": frozenset(
        {
            "warn_after",
            "restrict_after",
            "suspend_after",
            "terminate_after",
            "incident_minutes",
            "appeal_channel",
            "suspend_days",
            "block_user_suspends",
        }
    ),
}
#: Sections built once into the running process: a change needs a restart. ``provider`` (the region
#: the router and the egress guard hold), ``upstreams`` (clients and pools), ``records`` (stores),
#: ``egress``, ``cases`` (the report rate limiter), ``media`` (the OCR child), ``limits`` (the limiter).
RESTART_SECTIONS = frozenset({"provider", "upstreams", "records", "egress", "cases", "media", "limits"})


@dataclass(frozen=True, slots=True)
class GuardParts:
    """What a policy file builds that a running gateway can replace in one step."""

    policy: Policy
    pipeline: Pipeline
    labeller: Labeller
    refusals: RefusalCatalog
    ladder: SanctionLadder


def guard_parts(policy: Policy, observer: CheckObserver | None = None) -> GuardParts:
    """Build the swappable parts of ``policy`` (the pipeline is the slow part: lexicons, models).
    Raises ConfigError naming the key, as at start-up."""
    pipeline = build_pipeline(policy, observer=observer)
    pipeline.prepare_streams()  # so that the first streamed answer does not wait for it
    return GuardParts(
        policy,
        pipeline,
        Labeller(policy.labels, source=policy.source),
        RefusalCatalog(
            policy.refusals, time_zone=policy.provider.time_zone, appeal=policy.sanctions.appeal_channel
        ),
        SanctionLadder(policy.sanctions),
    )


def restart_needed(old: Policy, new: Policy) -> list[str]:
    """The sections (or ``section.field``) that differ between ``old`` and ``new`` and that a running
    gateway cannot swap; empty when ``new`` may replace ``old`` in place."""
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    changed: list[str] = []
    for section in Policy.model_fields:
        if section in SWAPPED_SECTIONS or before.get(section) == after.get(section):
            continue
        swapped = SWAPPED_FIELDS.get(section)
        if swapped is None:
            changed.append(section)
            continue
        fields = set(before[section]) | set(after[section])
        changed.extend(
            f"{section}.{name}"
            for name in sorted(fields)
            if name not in swapped and before[section].get(name) != after[section].get(name)
        )
    return changed


@dataclass(frozen=True, slots=True)
class Trigger:
    """Who or what asked for the reload, as the audit entry records it."""

    #: ``admin-api``, ``sighup`` or ``replica`` (another replica's event; ``resync`` after Redis
    #: came back, since an event sent meanwhile is lost).
    kind: str
    #: The admin key's prefix, the process, or the replica that published the event.
    by: str
    #: Tell the other replicas (only the replica where the reload began does).
    broadcast: bool = True
    #: The version the replica that published the event reloaded to ("" when not from an event).
    expected: str = ""


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    previous: str
    version: str
    changed: bool
    build_seconds: float
    #: Sections that differ between the two files (all of them swapped).
    sections: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "object": "policy.reload",
            "previous": self.previous,
            "version": self.version,
            "changed": self.changed,
            "sections": list(self.sections),
            "build_seconds": round(self.build_seconds, 3),
        }


def changed_sections(old: Policy, new: Policy) -> tuple[str, ...]:
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    return tuple(s for s in Policy.model_fields if before.get(s) != after.get(s))


class EarlySighup:
    """A SIGHUP that comes while the gateway is being built (seconds, with a large lexicon), before its
    loop can take it: noted, and answered with a reload once the loop runs, instead of the default
    action, which ends the process (a worker of `--workers N` would be restarted, a lone `hegui serve`
    would be gone)."""

    def __init__(self) -> None:
        self.seen = False

    @classmethod
    def catch(cls) -> EarlySighup:
        early = cls()
        if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, early._note)
        return early

    def _note(self, _signum: int, _frame: object) -> None:
        self.seen = True


class PolicyReloader:
    """Reloads one gateway's policy; one reload at a time (a second waits for the first, then finds the
    file unchanged unless it changed again)."""

    def __init__(self, state: GatewayState, path: Path | None) -> None:
        self.state = state
        self.path = path
        self.loaded_at = time.time()
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._sighup = False
        #: Set by the app factory before the build (`EarlySighup.catch`).
        self.early: EarlySighup | None = None

    def start(self) -> None:
        """On the running loop (the app's lifespan): take SIGHUP when this is the main thread of the
        process (`hegui serve`, each worker of `--workers N`); an app served from another thread (tests)
        has no signal handler of its own."""
        self._loop = asyncio.get_running_loop()
        if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
            self._loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True
        if self.early is not None and self.early.seen:
            self._on_sighup()

    def stop(self) -> None:
        if self._sighup and self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGHUP)
            self._sighup = False

    def _on_sighup(self) -> None:
        self.schedule(Trigger("sighup", f"signal to pid {os.getpid()}"))

    def on_event(self, event: Event) -> None:
        """Another replica reloaded (or Redis came back): read our own copy of the file. Called in a
        thread by the event dispatcher; the reload itself runs on the gateway's loop."""
        kind = "resync" if event.kind is EventKind.RESYNC else "replica"
        by = f"replica {event.origin}" if event.origin else kind
        self.schedule(Trigger(kind, by, broadcast=False, expected=event.data.get("version", "")))

    def schedule(self, trigger: Trigger) -> None:
        """Start a reload on the gateway's loop from anywhere (a signal handler, a thread); its outcome
        is logged and audited, nobody waits for it."""
        if self._loop is None:
            log.error("policy reload (%s) asked before the gateway started; ignored", trigger.kind)
            return
        future = asyncio.run_coroutine_threadsafe(self._reload_logged(trigger), self._loop)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    async def _reload_logged(self, trigger: Trigger) -> None:
        try:
            outcome = await self.reload(trigger)
            if trigger.expected and outcome.version != trigger.expected:
                # Either the files differ between replicas, or the new one has not reached this one yet
                # (a Kubernetes ConfigMap volume is updated on each pod up to a minute or more later).
                log.warning(
                    "the %s reloaded the policy to %s, and this replica's file %s is %s: "
                    "the policy files differ, or the new one has not reached this replica yet",
                    trigger.by,
                    trigger.expected,
                    self.path,
                    outcome.version,
                )
        except HeguiError:
            pass  # logged and audited by reload
        except Exception:  # the old policy stays; a failed reload must not pass silently
            log.exception("policy reload (%s) failed; the running policy stays", trigger.kind)

    async def reload(self, trigger: Trigger) -> ReloadOutcome:
        """Read the file, check it, build the new parts in a thread, audit, swap them in one step on the
        loop, and (``trigger.broadcast``) tell the other replicas. Raises PolicyNotReloaded, with the
        running policy still in service, when the file cannot replace it."""
        async with self._lock:
            old = self.state.policy
            started = time.perf_counter()
            # The build holds the GIL in long stretches; with the default 5 ms switch interval every
            # await of a request on the loop waits up to 5 ms for it (benchmarks/policy_reload.py).
            interval = sys.getswitchinterval()
            sys.setswitchinterval(BUILD_SWITCH_INTERVAL)
            try:
                new, parts = await asyncio.to_thread(self._prepare, old)
            except ConfigError as exc:
                await self._refused(old, trigger, exc)
                raise PolicyNotReloaded(
                    f"policy not reloaded, {old.full_version} stays in service: {exc.message}", key=exc.key
                ) from None
            finally:
                sys.setswitchinterval(interval)
            seconds = time.perf_counter() - started
            if parts is None:
                self.state.metrics.policy_reloads.labels("unchanged").inc()
                log.info("policy reload (%s): %s unchanged", trigger.kind, old.full_version)
                return ReloadOutcome(old.full_version, old.full_version, False, seconds)
            # Audited before the swap: no entry decided by the new version precedes the entry that
            # says it came in, and a reload the chain cannot record does not happen.
            await self.state.audit.append(self._draft("reload", new.full_version, old, trigger, {}))
            replaced = self.state.pipeline
            self.state.swap(parts)  # only this reloader swaps, and it holds the lock: `old` still serves
            thaw_until_gone(replaced, asyncio.get_running_loop())  # see hegui.gateway.heap
            del replaced
            self.loaded_at = time.time()
            self.state.metrics.policy_swapped(old.full_version, new.full_version)
            sections = changed_sections(old, new)
            log.info(
                "policy reloaded (%s, by %s): %s -> %s in %.2f s; changed: %s",
                trigger.kind,
                trigger.by,
                old.full_version,
                new.full_version,
                seconds,
                ", ".join(sections) or "nothing but the text",
            )
            if trigger.broadcast:  # a blocking Redis call: off the loop
                event = Event(EventKind.POLICY_RELOAD, data={"version": new.full_version})
                await asyncio.to_thread(self.state.shared.publish, event)
            return ReloadOutcome(old.full_version, new.full_version, True, seconds, sections)

    def _prepare(self, old: Policy) -> tuple[Policy, GuardParts | None]:
        """In a thread: the new policy and its parts, None when the file is the running one."""
        if self.path is None:
            raise ConfigError(
                "this gateway serves the bundled policy; there is no file to reload (set HEGUI_POLICY_FILE)"
            )
        new = load_policy(self.path)
        if new.digest == old.digest:
            return new, None
        if restart := restart_needed(old, new):
            raise ConfigError(
                f"these sections changed and need a restart to apply: {', '.join(restart)}",
                file=new.source,
                key=restart[0],
            )
        preflight(new, build_checks=False)  # what `hegui config validate` checks besides the pipeline
        return new, guard_parts(new, observer=self.state.metrics.observe_check)

    async def _refused(self, old: Policy, trigger: Trigger, exc: ConfigError) -> None:
        self.state.metrics.policy_reloads.labels("refused").inc()
        log.error(
            "policy reload (%s, by %s) refused, %s stays: %s", trigger.kind, trigger.by, old.full_version, exc
        )
        await self.state.audit.append(
            self._draft("reload-refused", old.full_version, old, trigger, {"error": exc.message})
        )

    def _draft(
        self, action: str, version: str, old: Policy, trigger: Trigger, extra: dict[str, str]
    ) -> AuditDraft:
        return AuditDraft(
            request_id=f"policy-{uuid.uuid4().hex}",
            stage="policy",
            action=action,
            policy_version=version,
            content_hash="",
            detail={
                "previous": old.full_version,
                "version": version,
                "trigger": trigger.kind,
                "by": trigger.by,
                "file": str(self.path) if self.path else "<bundled>",
            }
            | extra,
        )
