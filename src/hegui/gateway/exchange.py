"""One request's way through the gateway: the whole of it, for every route.

An `Exchange` owns a request from its admission to its last audit entry: the end user's standing and
agreement, the input stage (every slot, the joined texts), the sanction step of a refusal, egress
(pseudonyms for a foreign upstream), the upstream call, the one output stage (outputs.py: whole answers,
streams through the relay, the strings of media and embedding answers), labels, the audit entries, and
what is kept afterwards (conversation store, training pool). Its paths — `complete` (chat and completions,
and the /v1/responses and /v1/messages surfaces through translation), `embed`, `generate_images` — return
an `Outcome` (outcome.py); the routes keep only HTTP: read, authenticate, parse, respond.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from hegui.errors import (
    CheckFailed,
    ContentRefused,
    HeguiError,
    NotAccepted,
    StorageError,
    UserSuspended,
)
from hegui.gateway import fieldmap, images
from hegui.gateway.fieldcheck import field_name
from hegui.gateway.fields import Spec
from hegui.gateway.history import without_own_labels
from hegui.gateway.joined import Piece, crossing
from hegui.gateway.labelling import BODY_FIELD
from hegui.gateway.outcome import Outcome, StreamAnswer, WholeAnswer, replay
from hegui.gateway.outputs import OutputStage
from hegui.gateway.relay import DONE, StreamRelay, sse
from hegui.gateway.schemas import Slot
from hegui.gateway.shapes import Shape
from hegui.gateway.state import GatewayState, Principal
from hegui.gateway.uploads import check_generated_image
from hegui.gateway.upstream import Upstream
from hegui.guard.memory import SessionKey, SessionView, memory_blocks, remember
from hegui.guard.pii import PseudonymVault
from hegui.guard.refusals import refusal_text
from hegui.guard.sanctions import SanctionStep, Violation
from hegui.guard.types import Action, Context, Finding, Stage, Verdict
from hegui.logs import bind_request_id
from hegui.records.agreements import may_serve
from hegui.records.audit import AuditDraft, AuditEntry, canonical
from hegui.records.egress import has_separate_consent, record_export
from hegui.records.keep import KeepJob, journal_rider

log = logging.getLogger(__name__)
FieldFinding = tuple[str, Finding]
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def new_request_id(prefix: str) -> str:
    return f"{prefix}hg{uuid.uuid4().hex}"


#: Reads the text drawn in generated pictures and judges it at the output stage (`media_inspect`):
#: the action and findings join the stage's decision; a stop is recorded and raised by the reader.
PictureReader = Callable[[Sequence[bytes]], Awaitable[tuple[Action, list[tuple[str, Finding]]]]]


class UnmaskableText(Protocol):
    """Text read from a request's images or audio (`media_inspect.ImageSlots`): a mask there refuses."""

    async def refuse_masked(self, ex: Exchange, found: Sequence[FieldFinding]) -> None: ...

    def audit_detail(self, found: Sequence[FieldFinding]) -> dict[str, Any]: ...


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
        #: The one output stage of this exchange (outputs.py).
        self.output = OutputStage(self)
        self.ctx = Context(
            tenant=principal.tenant,
            user=end_user,
            session=session,
            channel="chat" if principal.channel == "chat" else "api",
            upstream_region=upstream.region,
            request_id=self.request_id,
            memory=SessionView(state.memory, self.session_key) if end_user else None,
        )

    # -- the paths: one per kind of answer; every one ends in the same output stage ------------------

    def headers(self, *, labelled: bool = False) -> dict[str, str]:
        """The answer's headers: the request id, and the implicit label when it carries generated text."""
        head = {"x-hegui-request-id": self.request_id}
        return head | self.state.labeller.headers(self.request_id) if labelled else head

    async def complete(
        self,
        shape: Shape,
        body: dict[str, Any],
        slots: Sequence[Slot],
        turns: Sequence[str],
        *,
        stream: bool,
        latest: Callable[[], str],
        translate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        pictures: UnmaskableText | None = None,
    ) -> Outcome:
        """Chat completions and completions. ``translate``: another API's request (/v1/responses,
        /v1/messages) whose ``slots`` are its own fields, turned into the chat request the upstream receives
        after the input stage and egress have rewritten those fields (so masks and pseudonyms reach it).
        ``pictures``: the text read from the request's images and audio (`media_inspect`), whose slots
        are among ``slots``; text drawn in an image or spoken cannot be masked, so a mask there refuses."""
        action, found = await self.input_stage(slots, turns, latest)
        seen = pictures.audit_detail(found) if pictures is not None else {}  # images read or passed unread
        input_draft = self.draft("input", action.value, {s.field: s.text for s in slots}, found, **seen)
        if action.stops:
            await self.record(input_draft)
            text = await self.refusal(found)
            kept = await self.keep(self.prompt, text, action, action)
            if kept is not None:  # durable before the refusal leaves (a failure is counted by `keep`)
                await asyncio.wait([asyncio.wrap_future(kept)])
            if stream:
                chunks = [*(sse(c) for c in shape.refusal_chunks(self.request_id, self.model, text)), DONE]
                return StreamAnswer(replay(chunks), self.headers())
            return WholeAnswer(shape.refusal(self.request_id, self.model, text), self.headers())
        if pictures is not None:
            await pictures.refuse_masked(self, found)

        recorded = self.record_later(input_draft)
        await self.egress(slots, body)
        if translate is not None:
            body = translate(body)
        # hegui's own labels in earlier turns are taken out of the upstream's copy only
        without_own_labels(body, self.state.labeller.prefix, self.state.labeller.suffix)
        if stream:
            return await self._stream(shape, body, recorded)
        answer = await self.upstream_call(lambda: self.upstream.post_json(shape.path, body))
        answer["id"] = self.request_id
        out_action = await self._output(lambda: self.output.answer(shape, answer))
        judged = shape.response_slots(answer)  # as the output stage left them (walked once: ~12 µs)
        released = [s.text for s in judged if s.key[1] == shape.content_field]
        await self.keep(self.prompt, "\n".join(released), action, out_action)  # rides with the decision
        await self.output.decided({field_name(s.key): s.text for s in judged})
        if out_action.stops:
            return WholeAnswer(answer, self.headers())
        self.state.labeller.label_answer(answer, self.request_id)
        return WholeAnswer(answer, self.headers(labelled=True))

    async def _stream(
        self, shape: Shape, body: dict[str, Any], recorded: concurrent.futures.Future[AuditEntry]
    ) -> StreamAnswer:
        """Open the upstream stream while the input decision commits; the first byte waits for both."""
        opening = asyncio.ensure_future(
            self.upstream_call(lambda: self.upstream.open_stream(shape.path, body))
        )
        try:
            await asyncio.wrap_future(recorded)
        except BaseException:
            await _discard(opening)
            raise
        response = await opening
        relay = StreamRelay(self, shape, response)
        return await relay.answer(self.headers(), self.state.labeller.headers(self.request_id))

    async def _output(self, work: Callable[[], Action]) -> Action:
        """The output stage's ``work`` (off the event loop when a check blocks); a check that errors is
        recorded and re-raised, so the answer is withheld."""
        try:
            return await self.off_loop(Stage.OUTPUT, work)
        except CheckFailed as exc:
            await self.output.failed(exc)
            raise

    async def _output_strings(self, spec: Spec, answer: dict[str, Any]) -> Action:
        """The output stage on the strings of an answer without generated text; a stop is recorded and
        refused (400): there is no answer to cut short."""
        action = await self._output(lambda: self.output.strings(spec, answer))
        if action.stops:
            await self.output.decided("")
            raise ContentRefused(self.output.stop_text(stream=False))
        return action

    async def embed(
        self, body: dict[str, Any], slots: Sequence[Slot], latest: Callable[[], str]
    ) -> WholeAnswer:
        """Embeddings: the input recorded before anything is forwarded; the answer's strings inspected
        (its vectors are not text)."""
        action, found = await self.input_stage(slots, [], latest)
        await self.record(self.draft("input", action.value, {s.field: s.text for s in slots}, found))
        if action.stops:
            raise ContentRefused(await self.refusal(found), param="input")
        await self.egress(slots, body)
        answer = await self.upstream_call(lambda: self.upstream.post_json("/embeddings", body))
        await self._output_strings(fieldmap.EMBEDDINGS.answer, answer)
        return WholeAnswer(answer, self.headers())

    async def generate_images(
        self,
        body: dict[str, Any],
        slots: Sequence[Slot],
        *,
        screen: Callable[[str], Awaitable[None]] | None = None,
        read_pictures: PictureReader | None = None,
    ) -> WholeAnswer:
        """Image generations: the prompt inspected (and ``screen``-ed: the unregistered-person rule of
        `person_names`); the answer delivered by `deliver_images`."""
        prompt = str(body["prompt"])
        action, found = await self.input_stage(slots, [], lambda: prompt)
        input_draft = self.draft("input", action.value, {s.field: s.text for s in slots}, found)
        if action.stops:
            await self.record(input_draft)
            raise ContentRefused(await self.refusal(found), param="prompt")
        if screen is not None:
            await screen(prompt)
        self.record_later(input_draft)
        await self.egress(slots, body)
        gateway, upstream = self.state.policy.gateway, self.upstream
        answer, items, pictures = await self.upstream_call(lambda: images.generate(upstream, gateway, body))
        return await self.deliver_images(answer, items, pictures, read_pictures)

    async def deliver_images(
        self,
        answer: dict[str, Any],
        items: list[dict[str, Any]],
        pictures: list[bytes],
        read_pictures: PictureReader | None = None,
    ) -> WholeAnswer:
        """The output stage of an image answer (generations, edits, variations): the answer's strings
        (``revised_prompt`` among them) like any answer's, a stop being a 400; the text drawn in the
        pictures through ``read_pictures`` (OCR, when the ``[media]`` policy reads generated images);
        every picture checked, labelled (explicit and implicit) and returned as ``b64_json``."""
        upstream, labeller = self.upstream, self.state.labeller
        await self._output_strings(fieldmap.IMAGES.answer, answer)
        if read_pictures is not None:
            action, found = await read_pictures(pictures)
            self.output.extend(found, action)
        try:
            for picture in pictures:
                check_generated_image(
                    picture, max_pixels=self.state.settings.max_image_pixels, upstream=upstream.name
                )
            labelled = [
                await asyncio.to_thread(images.label_file, p, "", labeller, self.request_id, explicit=True)
                for p in pictures
            ]
        except HeguiError as exc:
            await self.record_error("label", exc)
            raise
        digests = [hashlib.sha256(d).hexdigest() for d in labelled]
        await self.output.decided({"images": digests}, images=len(pictures), labelled=True)
        answer["data"] = images.labelled_items(items, labelled)
        answer[BODY_FIELD] = labeller.body_field(self.request_id)
        return WholeAnswer(answer, self.headers(labelled=True))

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

    async def keep(
        self, prompt: str, answer: str, input_action: Action, output_action: Action
    ) -> concurrent.futures.Future[None] | None:
        """After the decisions: the turn for the user's encrypted conversation store and the training pool
        (records/keep.py), journaled in the audit writer's next group commit and carried out after the
        response by the keep worker. Call it *before* recording the decision that ends the request: that
        entry is then durable only with the journal row, so the answer never leaves before its turn is
        safe, and it costs no commit of its own. A failure does not withhold the answer; it is logged and
        counted. Returns the row's future (None: nothing to keep, or it could not be journaled)."""
        user = self.ctx.user
        if user is None:
            return None
        state = self.state
        job = KeepJob(
            self.principal.tenant,
            user,
            self.ctx.session,
            self.request_id,
            self.ctx.channel,
            prompt,
            answer,
            input_action,
            output_action,
        )
        try:
            if state.vault.has_key_cached(job.tenant, user):
                rider = journal_rider(state.vault, job)
            else:  # the user's data key comes from the database once: off the event loop
                rider = await asyncio.to_thread(journal_rider, state.vault, job)
            kept = state.audit.carry(rider)
        except (HeguiError, SQLAlchemyError) as exc:
            self._keep_failed(exc)
            return None
        kept.add_done_callback(self._journaled)
        return kept

    def _journaled(self, kept: concurrent.futures.Future[None]) -> None:
        """(The audit writer's thread.) The row is durable: wake the keep worker; or count the failure."""
        exc = kept.exception()
        if exc is None:
            self.state.keeper.wake()
        else:
            self._keep_failed(exc)

    def _keep_failed(self, exc: BaseException) -> None:
        self.state.metrics.records_failures.inc()
        log.error("request %s: the turn could not be journaled for keeping: %r", self.request_id, exc)

    async def refusal(self, found: Sequence[FieldFinding]) -> str:
        """An input refusal: the sanction step (`sanction`), then its text (`refusal_text`, pure) with the
        step's notice when one was taken."""
        step = await self.sanction(found)
        notice = ""
        if step is not None:
            notice = self.state.refusals.notice(step.level.value, until=step.until)  # type: ignore[arg-type]
        return refusal_text(
            self.state.refusals,
            [f for _, f in found],
            override=self.state.policy.gateway.refusal_text,
            notice=notice,
        )

    async def sanction(self, found: Sequence[FieldFinding]) -> SanctionStep | None:
        """The sanction step of a refused request (Interim Measures Art. 14): the violation counted on the
        end user's ladder and, when it moves the user to another level, that step recorded. No end user,
        no step."""
        user = self.ctx.user
        if user is None:
            return None
        worst = max((f.action for _, f in found), default=Action.REFUSE)
        categories = tuple(dict.fromkeys(f.category for _, f in found if f.action.stops))
        violation = Violation(
            self.principal.tenant, user, _now(), worst, categories, self.request_id, self.ctx.session
        )
        step = await asyncio.to_thread(self.state.ladder.record, self.state.sanctions, violation)
        if step is None:
            return None
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
        return step

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
            audit=state.audit.write,  # the one writer: group commit, one order with the request's entries
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


async def _discard(opening: asyncio.Future[Any]) -> None:
    """Stop an upstream stream that may not be used (its input decision could not be recorded)."""
    if not opening.done():
        opening.cancel()
    try:
        response = await opening
    except BaseException:  # cancelled or failed: there is nothing to close
        return
    await response.aclose()
