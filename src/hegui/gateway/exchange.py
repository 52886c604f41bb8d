"""One request's way through the gateway: input stage, upstream, output stage, audit entries."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from hegui.errors import CheckFailed, HeguiError, NotAccepted, StorageError, UserSuspended
from hegui.gateway.joined import Piece, crossing
from hegui.gateway.schemas import Slot
from hegui.gateway.shapes import Shape
from hegui.gateway.state import GatewayState, Principal
from hegui.gateway.upstream import Upstream
from hegui.guard.memory import SessionKey, SessionView, memory_blocks, remember
from hegui.guard.pii import PseudonymVault
from hegui.guard.sanctions import Violation
from hegui.guard.types import Action, Context, Finding, Stage, Verdict
from hegui.logs import bind_request_id
from hegui.records.agreements import may_serve
from hegui.records.audit import AuditDraft, AuditEntry, canonical
from hegui.records.conversations import store_turn
from hegui.records.egress import has_separate_consent, record_export
from hegui.records.pool import admit_to_pool

log = logging.getLogger(__name__)
FieldFinding = tuple[str, Finding]
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def new_request_id(prefix: str) -> str:
    return f"{prefix}hg{uuid.uuid4().hex}"


class Exchange:
    def __init__(
        self,
        state: GatewayState,
        principal: Principal,
        shape: Shape | None,
        upstream: Upstream,
        *,
        model: str,
        end_user: str | None,
        endpoint: str,
        id_prefix: str = "",
        session: str | None = None,
    ) -> None:
        self.state = state
        self.principal = principal
        self.shape = shape
        self.upstream = upstream
        self.model = model
        self.endpoint = endpoint
        self.request_id = new_request_id(shape.id_prefix if shape else id_prefix)
        bind_request_id(self.request_id)  # every log line of this request carries it (hegui.logs)
        self.session_key = SessionKey(principal.tenant, end_user, session)
        #: The user's latest turn as forwarded (masked when masked), and the input decision.
        self.prompt = ""
        self.input_action = Action.ALLOW
        #: Pseudonyms of this request's personal information, when it crossed the border.
        self.egress_vault: PseudonymVault | None = None
        self.ctx = Context(
            tenant=principal.tenant,
            user=end_user,
            session=session,
            channel="chat" if principal.channel == "chat" else "api",
            upstream_region=upstream.region,
            request_id=self.request_id,
            memory=SessionView(state.memory, self.session_key) if end_user else None,
        )

    # -- the end user's standing (Interim Measures Art. 14) ------------------------------------------

    async def check_standing(self) -> None:
        """A suspended or terminated end user is not served; the refusal is recorded."""
        user = self.ctx.user
        if user is None:
            return
        standing = await asyncio.to_thread(  # the sanction store may be a database: off the event loop
            self.state.ladder.standing, self.state.sanctions, self.principal.tenant, user, _now()
        )
        if standing.may_use:
            return
        notice = self.state.refusals.notice(standing.level.value, until=standing.until)  # type: ignore[arg-type]
        await self.record(self.draft("input", "block_user", "", sanction=standing.level.value))
        raise UserSuspended(notice)

    async def check_may_serve(self) -> None:
        """Agreement accepted and real-name verification, as the [records] policy requires (IM 9, DS 9)."""
        policy = self.state.policy.records
        if not (policy.require_agreement or policy.require_verification):
            return
        ok, reason = await asyncio.to_thread(
            may_serve, self.state.engine, policy, self.principal.tenant, self.ctx.user, self.ctx.channel
        )
        if not ok:
            await self.record(self.draft("input", "refuse", "", not_served=reason))
            raise NotAccepted(f"This user cannot be served yet: {reason}.")

    async def keep(self, prompt: str, answer: str, input_action: Action, output_action: Action) -> None:
        """After the decisions: the turn into the user's encrypted conversation store, and the training pool
        offered the turn (it admits only by rule: consent, nothing refused or masked, PI scrubbed). A
        failure here does not withhold the answer; it is logged and counted."""
        user = self.ctx.user
        if user is None:
            return
        state, tenant = self.state, self.principal.tenant

        def work() -> None:
            if state.policy.records.store_conversations:
                for role, text, action in (
                    ("user", prompt, input_action),
                    ("assistant", answer, output_action),
                ):
                    if text:
                        marks = {"action": action.value, "trainable": action < Action.MASK}
                        store_turn(
                            state.engine,
                            state.vault,
                            tenant=tenant,
                            user=user,
                            session=self.ctx.session,
                            request_id=self.request_id,
                            role=role,
                            text=text,
                            marks=marks,
                        )
            admit_to_pool(
                state.engine,
                state.policy.records,
                tenant=tenant,
                user=user,
                channel=self.ctx.channel,
                request_id=self.request_id,
                prompt=prompt,
                answer=answer,
                input_action=input_action,
                output_action=output_action,
            )

        try:
            await asyncio.to_thread(work)
        except (HeguiError, SQLAlchemyError) as exc:
            state.metrics.records_failures.inc()
            log.error("request %s: conversation/pool record failed: %r", self.request_id, exc)

    async def refusal_text(self, found: Sequence[FieldFinding]) -> str:
        """The refusal for these findings; counts the violation on the user's ladder (and records a step)."""
        policy = self.state.policy.gateway
        text = policy.refusal_text or self.state.refusals.for_findings(tuple(f for _, f in found))
        user = self.ctx.user
        if user is None:
            return text
        worst = max((f.action for _, f in found), default=Action.REFUSE)
        categories = tuple(dict.fromkeys(f.category for _, f in found if f.action.stops))
        violation = Violation(
            self.principal.tenant, user, _now(), worst, categories, self.request_id, self.ctx.session
        )
        step = await asyncio.to_thread(self.state.ladder.record, self.state.sanctions, violation)
        if step is None:
            return text
        self.record_later(
            self.draft(
                "sanction",
                step.level.value,
                "",
                previous=step.previous.value,
                violations=step.violations,
                reason=step.reason,
                until=step.until.isoformat() if step.until else None,
            )
        )
        notice = self.state.refusals.notice(step.level.value, until=step.until)  # type: ignore[arg-type]
        return f"{text}\n\n{notice}"

    def remember_turn(self, text: str, action: Action, found: Sequence[FieldFinding]) -> None:
        """Keep the user's turn in the session memory (near-duplicate and split-turn checks use it)."""
        if self.ctx.user is None or not text:
            return
        verdict = Verdict(action, tuple(f for _, f in found), text, self.state.pipeline.policy_version)
        remember(self.state.memory, self.session_key, text, verdict, _now())

    # -- guard --------------------------------------------------------------------------------------

    def run(self, stage: Stage, text: str) -> Verdict:
        return self.state.pipeline.run(stage, text, self.ctx)

    async def off_loop(self, stage: Stage, work: Callable[[], T]) -> T:
        """``work()`` (this request's checks at ``stage``) in the check workers when a check of the stage
        blocks for this request, inline otherwise: cheap checks pay no thread hop (hegui.gateway.offload)."""
        if self.state.pipeline.blocks(stage, self.ctx):
            return await self.state.workers.run(work)
        return work()

    async def judge(self, stage: Stage, text: str) -> Verdict:
        """`run`, off the event loop when the stage blocks for this request."""
        return await self.off_loop(stage, lambda: self.run(stage, text))

    async def input_stage(
        self, slots: Sequence[Slot], recent_turns: Sequence[str], latest: Callable[[], str]
    ) -> tuple[Action, list[FieldFinding]]:
        """The end user's standing and admission, then the input stage. ``latest()`` gives the user's
        newest turn as forwarded (so masked when masked: it is read after the stage); it goes to the
        session memory."""
        await self.check_standing()
        await self.check_may_serve()
        try:
            action, found = await self.off_loop(Stage.INPUT, lambda: self.inspect_input(slots, recent_turns))
        except CheckFailed as exc:
            await self.record_error("input", exc)
            raise
        self.prompt, self.input_action = latest(), action
        # From here on the context is the output stage's: an answer is judged with its question.
        self.ctx = replace(self.ctx, prompt=self.prompt)
        if memory_blocks(self.ctx):  # a database-backed session memory: its write off the loop too
            await self.state.workers.run(lambda: self.remember_turn(self.prompt, action, found))
        else:
            self.remember_turn(self.prompt, action, found)
        return action, found

    def inspect_input(
        self, slots: Sequence[Slot], recent_turns: Sequence[str]
    ) -> tuple[Action, list[FieldFinding]]:
        """Run the input stage on every slot, on the join of all slots and on the join of the recent
        user turns (joined.py: only refusing findings that cross a boundary count there).

        Masking rewrites the slots in place.
        """
        found: list[FieldFinding] = []
        action = Action.ALLOW
        for slot in slots:
            verdict = self.run(Stage.INPUT, slot.text)
            found += [(slot.field, f) for f in verdict.findings]
            action = max(action, verdict.action)
            if verdict.action == Action.MASK and slot.set is not None:
                slot.set(verdict.text)
        turns = [Piece(f"recent_user_turns[{i}]", t) for i, t in enumerate(recent_turns)]
        joined: set[tuple[str, str]] = set()  # the same split seen by both joins counts once
        for pieces in ([Piece(s.field, s.text) for s in slots], turns):
            for field, f in crossing(lambda text: self.run(Stage.INPUT, text), pieces):
                if (f.check, f.evidence) not in joined:
                    joined.add((f.check, f.evidence))
                    found.append((field, f))
                    action = max(action, f.action)
        for _, f in found:
            self.state.metrics.decision("input", f.action.value, [f])
        if not found:
            self.state.metrics.decision("input", Action.ALLOW.value, [])
        return action, found

    # -- egress (PIPL 38/39; the DCB thresholds) ------------------------------------------------------

    async def egress(self, slots: Sequence[Slot], body: dict[str, Any]) -> None:
        """When the upstream is outside the provider's region: pseudonymize personal information in the
        request (restored in the answer), refuse sensitive information without a separate consent on
        record, count the persons exported. Raises ContentRefused; records the decision."""
        guard, state = self.state.egress, self.state
        region = self.upstream.region
        if not guard.applies(region):
            return
        tenant, user = self.principal.tenant, self.ctx.user
        consent = False
        if user is not None:
            consent = await asyncio.to_thread(
                has_separate_consent, state.engine, tenant, user, self.upstream.name
            )
        decision = guard.inspect(
            slots, upstream_region=region, tenant=tenant, user=user, separate_consent=consent
        )
        detail: dict[str, Any] = {
            "region": region,
            "kinds": list(decision.kinds),
            "sensitive": list(decision.sensitive_kinds),
        }
        if decision.refused:
            await self.record(self.draft("egress", "refuse", "", **detail))
            raise decision.refusal_error()
        if user is not None and "user" in body:
            body["user"] = guard.user_digest(tenant, user)
        self.egress_vault = decision.vault
        action = "mask" if decision.replaced else "allow"
        self.record_later(
            self.draft(
                "egress", action, "", replaced=decision.replaced, persons=len(decision.persons), **detail
            )
        )
        await asyncio.to_thread(
            record_export,
            state.engine,
            state.policy.egress,
            decision.persons,
            request_id=self.request_id,
            tenant=tenant,
            policy_version=state.pipeline.policy_version,
        )

    def restore(self, text: str) -> str:
        """The answer's pseudonyms turned back into the user's own values (whole text)."""
        if self.egress_vault is None:
            return text
        return self.state.egress.restore(text, self.egress_vault)

    # -- upstream -----------------------------------------------------------------------------------

    async def upstream_call(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run an upstream call, timing it; a failure is recorded (stage ``upstream``) and re-raised."""
        started = time.perf_counter()
        try:
            result = await call()
        except HeguiError as exc:
            self._observe(started, exc.code or "error")
            await self.record_error("upstream", exc)
            raise
        self._observe(started, "ok")
        return result

    def _observe(self, started: float, outcome: str) -> None:
        self.state.metrics.upstream_latency.labels(self.upstream.name, outcome).observe(
            time.perf_counter() - started
        )

    # -- audit --------------------------------------------------------------------------------------

    def draft(
        self,
        stage: str,
        action: str,
        content: Any,
        findings: Sequence[FieldFinding] = (),
        **detail: Any,
    ) -> AuditDraft:
        text = content if isinstance(content, str) else canonical(content)
        return AuditDraft(
            request_id=self.request_id,
            stage=stage,
            action=action,
            policy_version=self.state.pipeline.policy_version,
            content_hash=self.state.content_hash(text),
            tenant=self.principal.tenant,
            end_user=self.ctx.user,
            findings=[f.summary() | {"field": field} for field, f in findings],
            detail={
                "endpoint": self.endpoint,
                "model": self.model,
                "upstream": self.upstream.name,
                "key": self.principal.key_prefix,
            }
            | detail,
        )

    async def record(self, draft: AuditDraft) -> AuditEntry:
        """Append and wait until durable. If it cannot be recorded, nothing may be sent: StorageError."""
        try:
            return await self.state.audit.append(draft)
        except StorageError:
            self.state.metrics.audit_failures.inc()
            raise

    def record_later(self, draft: AuditDraft) -> concurrent.futures.Future[AuditEntry]:
        """Queue an entry; a later `record` (same writer, same order) implies its durability."""
        return self.state.audit.submit(draft)

    async def record_error(self, stage: str, exc: HeguiError) -> None:
        draft = self.draft(stage, "error", "", error=exc.code, message=exc.message[:300])
        # If this cannot be recorded either, the client still gets the original error; the failure
        # itself is counted (hegui_audit_failures) and logged by the writer.
        with contextlib.suppress(StorageError):
            await self.record(draft)
