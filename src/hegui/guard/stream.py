"""Inspection of an output stream: release only text that no later character can change.

The inspector keeps the whole original text of one stream and the position up to which it has released
text. After every chunk it inspects the unreleased tail (with ``horizon`` characters of left context)
and

- acts on a finding once it is *settled*: ``horizon - 1`` characters follow it, or the stream ended;
  a refusing finding stops the stream, a masking one rewrites its span before release;
- releases up to ``len(text) - (horizon - 1)`` (less held back where a check narrows its horizon for
  this text: `hegui.guard.types.NarrowsHorizon`), but never past the start of an unsettled finding:
  any match that a future character could complete lies entirely in the held-back tail. The tail is
  scanned again once ``release_step`` characters have arrived since the last scan (the pipeline's; 1:
  on every chunk), a sentence has ended, or the stream ends;
- ignores a match that starts in released text when the scan that released it saw the whole match, with
  more text on its left: it appears only because the window now starts inside that text (a regex's
  matches depend on where its scan begins), and the whole text does not hold it. A masking finding that
  is acted on after its start was released replaces or masks the rest of its span; no character is lost.

A check whose horizon is None needs the whole text, so the stream is held back until it ends, unless
it declares ``judges_at = "sentence"`` (see `hegui.guard.types.judges_at`). Such *sentence checks* are
run on the text from its start up to the last sentence end (`hegui.guard.sentences`) whenever a new
sentence has ended, and once more on the whole text at the end; nothing past the last judged sentence
end is released, whatever the horizon of the other checks allows. Their latest judgement replaces the
one before (it saw more), so the final verdict holds their findings on the whole text. A refusal at a
later sentence stops the stream there: the sentences released before it stay released. That is the
trade-off of judging at sentence ends instead of at the end: the first sentence reaches the user
while the answer is still being written, and a check that changes its mind about an earlier sentence
once it sees a later one can no longer take that sentence back. Checks whose judgement of a prefix
stands for the whole text (a refused prefix stays refused) lose nothing. A check whose refusal of a short
prefix may not stand declares ``settles_at``: below that length its refusal holds the stream (nothing
more is released) and the text is judged again at the next sentence end, instead of stopping it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from hegui.guard.pipeline import Pipeline
from hegui.guard.sentences import last_sentence_end
from hegui.guard.types import Action, Check, Context, Finding, NarrowsHorizon, Stage, Verdict, narrows_horizon

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamStep:
    """What one chunk (or the end of the stream) allows: text to release, and whether to stop."""

    release: str
    stopped: bool
    findings: tuple[Finding, ...]


class StreamInspector:
    def __init__(self, pipeline: Pipeline, stage: Stage, ctx: Context) -> None:
        self._pipeline = pipeline
        self._stage = stage
        self._ctx = ctx
        plan = pipeline.stream_plan(stage)
        self._span_checks = plan.span_checks
        self._sentence_checks = plan.sentence_checks
        self._max_sentence = pipeline.sentence_max_chars
        self._step_chars = pipeline.release_step
        horizon = plan.horizon
        self._holdback = None if horizon is None else max(horizon, 1) - 1
        self._lookback = None if horizon is None else max(horizon, 1)
        #: Span checks that narrow their horizon where the text allows (``holdback_at``/``lookback_at``,
        #: `hegui.guard.types.Check`), and the longest horizon of the others.
        self._narrow = tuple(c for c in self._span_checks if c.horizon is not None and narrows_horizon(c))
        #: The last hold-back asked of the narrowing checks, and the text length it was asked at.
        self._hold_at: tuple[int, int] = (-1, 0)
        self._fixed = max((c.horizon or 1 for c in self._span_checks if c not in self._narrow), default=1)
        self._text = ""
        self._released = 0
        self._out: list[str] = []
        self._acted: dict[tuple[str, str, int, int], Finding] = {}
        #: The text the span checks last scanned: ``text[scanned[0]:scanned[1]]`` (see `_span_step`).
        self._scanned = (0, 0)
        #: How far the sentence checks have judged, and their findings on ``text[:judged]``.
        self._judged = 0
        self._judgement: tuple[Finding, ...] = ()
        #: The end of the last prefix whose refusal was held as not yet settled (see `_unsettled`).
        self._held = 0
        #: Sentence check name → from which prefix length its refusal stands (``settles_at``).
        self._settles = {c.name: getattr(c, "settles_at", None) or 0 for c in self._sentence_checks}
        self._stopped = False
        self._finished = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def pending(self) -> int:
        """Characters received but not yet released."""
        return len(self._text) - self._released

    def feed(self, chunk: str) -> StreamStep:
        if self._stopped or self._finished:
            return StreamStep("", self._stopped, ())
        self._text += chunk
        return self._step(final=False)

    def finish(self) -> StreamStep:
        if self._stopped or self._finished:
            return StreamStep("", self._stopped, ())
        step = self._step(final=True)
        self._finished = True
        return step

    def verdict(self) -> Verdict:
        """The decision on everything seen so far, with spans in the whole original text."""
        found = [*self._acted.values(), *self._judgement]
        findings = tuple(sorted(found, key=lambda f: (f.start, -f.end, f.check)))
        action = max((f.action for f in findings), default=Action.ALLOW)
        return Verdict(
            action,
            findings,
            "".join(self._out),
            self._pipeline.policy_version,
            self._pipeline.versions(self._stage),
        )

    def _step(self, *, final: bool) -> StreamStep:
        new: list[Finding] = []
        # Where the sentence checks could judge up to now: found once, read by both steps below.
        judging = self._sentence_checks and (final or self._holdback is not None)
        cut = self._sentence_cut(final) if judging else None
        # The hold-back is asked of the narrowing checks only when a scan could run (it reads the tail).
        if final or self._releasable(cut):
            release_to = self._span_step(final, new, self._holdback_now())
        else:
            release_to = self._released
        if cut is not None and not self._stopped:
            release_to = min(release_to, self._sentence_step(cut, final, new))
        if self._stopped:
            return StreamStep("", True, tuple(new))
        for f in self._masks():
            if f.replacement is not None and f.start < release_to < f.end:
                release_to = f.start
        release_to = max(release_to, self._released)
        piece = self._rewrite(self._released, release_to)
        self._released = release_to
        self._out.append(piece)
        return StreamStep(piece, False, tuple(new))

    def _sentence_cut(self, final: bool) -> int:
        """The last sentence end past what the sentence checks judged or held at (else that point)."""
        start = max(self._judged, self._held)
        return last_sentence_end(self._text, start, final=final, max_chars=self._max_sentence)

    def _holdback_now(self) -> int | None:
        """How many characters at the end must wait: ``horizon - 1`` of the checks that do not narrow it,
        and what each narrowing check asks for this text (never more than its own ``horizon - 1``; a
        check whose narrowing fails gets its whole horizon). None when a check needs the whole text."""
        if self._holdback is None:
            return None
        if self._hold_at[0] == len(self._text):
            return self._hold_at[1]  # asked already for this text (the gate, then the scan)
        held = self._fixed - 1
        for c in self._narrow:
            held = max(held, _narrowed(c, "holdback_at", lambda n: n.holdback_at(self._text), -1))
        self._hold_at = (len(self._text), held)
        return held

    def _lookback_now(self, pos: int) -> int:
        """How far before ``pos`` the span checks' findings that reach ``text[pos:]`` can start."""
        back = self._fixed
        for c in self._narrow:
            back = max(back, _narrowed(c, "lookback_at", lambda n: n.lookback_at(self._text, pos), 0))
        return back

    def _releasable(self, cut: int | None) -> bool:
        """Whether this chunk could let any text go: the horizon leaves characters past the released
        ones, and (with sentence checks) a sentence has ended past them or had been judged past them.

        When nothing could go, the span checks are not run on the tail: they would run again on the next
        chunk over the same start and more text, and see every span this run would have seen, with more
        of its right context. Nothing is released without them, so nothing leaks; what it saves is one
        scan of the growing tail per chunk (a model streams a few characters at a time, and with a
        sentence check the tail grows until a sentence ends).

        The same holds for a chunk that brings fewer than the pipeline's ``release_step`` characters since
        the last scan (`[gateway] stream_release_step`), unless a sentence has ended: the text waits for
        the next scan, at most ``release_step - 1`` characters later, and a stream of one-character
        tokens pays one scan of its tail per ``release_step`` characters instead of one per token."""
        if self._holdback is not None and len(self._text) - (self._fixed - 1) <= self._released:
            return False  # not even the checks that do not narrow their horizon would let a character go
        sentence = cut is not None and cut > max(self._judged, self._held)
        if not sentence and len(self._text) - self._scanned[1] < self._step_chars:
            return False  # fewer than `release_step` characters since the last scan, and no new sentence
        if cut is not None and (cut if sentence else self._judged) <= self._released:
            return False
        hold = self._holdback_now()
        return hold is None or len(self._text) - hold > self._released

    def _span_step(self, final: bool, new: list[Finding], hold: int | None) -> int:
        """Run the horizon checks on the unreleased tail; act on settled findings; return how far the
        text may be released as far as they are concerned."""
        end = len(self._text)
        if hold is None:
            if not final:
                return self._released
            window_start, holdback = 0, 0
        else:
            window_start, holdback = max(0, self._released - self._lookback_now(self._released)), hold
        window = self._text[window_start:]
        found = self._pipeline.findings(self._stage, window, self._ctx, checks=self._span_checks)
        seen_start, seen_end = self._scanned
        self._scanned = (window_start, end)

        release_to = end if final else end - holdback
        for f in (f.shifted(window_start) for f in found):
            if f.end <= self._released:
                continue  # decided when its text was released; seen again only with less context
            key = (f.check, f.category, f.start, f.end)
            seen_all = seen_start <= f.start and min(end, f.end + holdback) <= seen_end
            if f.start < self._released and key not in self._acted and seen_all:
                # The scan that released its start saw all of it, with more text on its left and as much
                # on its right as a check reads (or as there is now), and found nothing: a match that
                # appears only now, once the window's start cuts into that text, is the window's
                # artefact (a regex's matches depend on where its scan begins), not in the whole text.
                continue
            if final or f.end + holdback <= end or f.start < self._released:
                if key not in self._acted:
                    self._acted[key] = f
                    new.append(f)
                    if f.action.stops:
                        self._stopped = True
            else:
                release_to = min(release_to, f.start)
        return release_to

    def _sentence_step(self, cut: int, final: bool, new: list[Finding]) -> int:
        """Judge the text up to ``cut`` (`_sentence_cut`), if a sentence ended since the last judgement;
        return how far the text has been judged."""
        if cut <= max(self._judged, self._held):
            return self._judged
        found = self._pipeline.findings(
            self._stage, self._text[:cut], self._ctx, checks=self._sentence_checks
        )
        if not final and self._unsettled(found, cut):
            self._held = cut  # nothing past the last settled judgement goes; judged again at the next end
            return self._judged
        before = {(f.check, f.category, f.start, f.end) for f in self._judgement}
        new += [f for f in found if (f.check, f.category, f.start, f.end) not in before]
        self._judged, self._judgement = cut, tuple(found)
        if any(f.action.stops for f in found):
            self._stopped = True
        return cut

    def _unsettled(self, found: list[Finding], cut: int) -> bool:
        """Whether every refusal among ``found`` comes from a check that does not yet stand by it for a
        prefix of ``cut`` characters (its ``settles_at``, e.g. the answer model's compliance head: the
        opening sentence of a refusal alone can read as help). Such a refusal holds the stream instead
        of stopping it: nothing more is released, and the text is judged again at the next sentence end
        and at the end, where every judgement stands."""
        stops = [f for f in found if f.action.stops]
        return bool(stops) and all(cut < self._settles.get(f.check, 0) for f in stops)

    def _masks(self) -> list[Finding]:
        return [f for f in (*self._acted.values(), *self._judgement) if f.action == Action.MASK]

    def _rewrite(self, start: int, end: int) -> str:
        if start >= end:
            return ""
        masks = sorted((f for f in self._masks() if f.start < end and f.end > start), key=lambda f: f.start)
        if not masks:
            return self._text[start:end]
        out: list[str] = []
        pos = start
        for f in masks:
            s, e = max(f.start, pos), min(f.end, end)
            if e <= pos:
                continue
            out.append(self._text[pos:s])
            if f.replacement is not None and f.start >= start:
                out.append(f.replacement)
            elif f.replacement is not None and len(f.replacement) == f.end - f.start:
                # A span partly released before it was found: the rest of its same-length replacement
                out.append(f.replacement[s - f.start : e - f.start])
            else:  # never drops a character: what is not replaced is masked
                out.append(self._pipeline.mask_char * (e - s))
            pos = e
        out.append(self._text[pos:end])
        return "".join(out)


def _narrowed(check: Check, what: str, ask: Callable[[NarrowsHorizon], int], offset: int) -> int:
    """A narrowing check's answer, capped at its horizon plus ``offset`` (-1 for a hold-back, 0 for a
    look-back); when asking fails, that cap itself, which is always safe, and the failure is logged."""
    # `_narrow` holds only checks with a horizon that narrow it (checked once per stream): an isinstance
    # of a runtime-checkable Protocol here cost about 20 µs per call, at every rescan of a stream.
    horizon = check.horizon
    assert horizon is not None
    cap = horizon + offset
    try:
        return min(cap, int(ask(cast(NarrowsHorizon, check))))
    except Exception:
        _log.warning("check %r: %s failed; its whole horizon is used", check.name, what, exc_info=True)
        return cap
