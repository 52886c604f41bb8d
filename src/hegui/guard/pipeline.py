"""The pipeline: runs the checks of a stage, merges their findings, fuses the evidence, and decides.

A check that raises makes the pipeline raise `CheckFailed`: a text is never passed because the thing
that should have inspected it broke.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from hegui.errors import CheckFailed
from hegui.guard.fusion import FusionRule, fuse
from hegui.guard.types import Action, Check, Context, Finding, Stage, Verdict, blocks, judges_at

#: Called after every check with (check name, stage, seconds); the gateway feeds its metrics from it.
CheckObserver = Callable[[str, Stage, float], None]

#: A sentence longer than this is judged anyway (see hegui.guard.sentences).
SENTENCE_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """How a stream is inspected at one stage: which checks act by horizon, which at sentence ends."""

    #: Checks judged by their horizon on the unreleased tail (or, with horizon None, at the end).
    span_checks: tuple[Check, ...]
    #: Checks that need the whole text but may judge it at sentence ends.
    sentence_checks: tuple[Check, ...]
    #: The longest horizon of the span checks; None when one of them needs the whole text.
    horizon: int | None


class Pipeline:
    """Built once from the policy; immutable afterwards; safe to share between requests."""

    def __init__(
        self,
        checks: Sequence[Check],
        *,
        policy_version: str,
        mask_char: str = "*",
        observer: CheckObserver | None = None,
        fusion: FusionRule | None = None,
        sentence_max_chars: int = SENTENCE_MAX_CHARS,
        release_step: int = 1,
    ) -> None:
        names = [c.name for c in checks]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise ValueError(f"check names must be unique; repeated: {sorted(duplicated)}")
        self.checks = tuple(checks)
        self.policy_version = policy_version
        if sentence_max_chars < 1:
            raise ValueError("sentence_max_chars must be at least 1")
        if release_step < 1:
            raise ValueError("release_step must be at least 1")
        self.mask_char = mask_char
        self.sentence_max_chars = sentence_max_chars
        #: In a stream, the characters that arrive between two scans of the span checks (`StreamInspector`).
        self.release_step = release_step
        self._observer = observer
        #: How evidence findings (topic terms, model scores) combine; None: every finding as it is.
        self.fusion = fusion
        self._by_stage = {stage: tuple(c for c in checks if stage in c.stages) for stage in Stage}
        #: Specialist check name → the top-level categories it confirms (see `_asked`).
        self._specialist_of: dict[str, tuple[str, ...]] = {}
        for top, name in (fusion.specialists if fusion is not None else {}).items():
            self._specialist_of[name] = (*self._specialist_of.get(name, ()), top)

    def checks_for(self, stage: Stage) -> tuple[Check, ...]:
        return self._by_stage[stage]

    def prepare_streams(self) -> None:
        """Build now what the first streamed answer would otherwise wait for: each output check's
        ``prepare_streams()``, where it has one (a lexicon's prefix hashes, ~0.1 s for 64k terms). The
        gateway calls it when it builds a policy's parts, before they serve."""
        for check in self._by_stage[Stage.OUTPUT]:
            prepare = getattr(check, "prepare_streams", None)
            if callable(prepare):
                prepare()

    def horizon(self, stage: Stage) -> int | None:
        """The longest horizon of the stage's checks; None when one of them needs the whole text."""
        horizons = [c.horizon for c in self._by_stage[stage]]
        if any(h is None for h in horizons):
            return None
        return max((h for h in horizons if h is not None), default=1)

    def stream_plan(self, stage: Stage) -> StreamPlan:
        """The stage's checks split for a stream: by horizon, and at sentence ends."""
        checks = self._by_stage[stage]
        sentence = tuple(c for c in checks if judges_at(c) == "sentence")
        span = tuple(c for c in checks if judges_at(c) == "end")
        horizons = [c.horizon for c in span]
        if any(h is None for h in horizons):
            return StreamPlan(span, sentence, None)
        return StreamPlan(span, sentence, max((h for h in horizons if h is not None), default=1))

    def blocks(self, stage: Stage, ctx: Context) -> bool:
        """Whether a check of the stage may wait on I/O for this request (see `hegui.guard.types.blocks`):
        the gateway then runs the stage off its event loop."""
        return any(blocks(c, ctx) for c in self._by_stage[stage])

    def versions(self, stage: Stage) -> dict[str, str]:
        return {c.name: c.version for c in self._by_stage[stage]}

    def findings(
        self, stage: Stage, text: str, ctx: Context, *, checks: Sequence[Check] | None = None
    ) -> list[Finding]:
        """Every finding of the stage's checks (or of ``checks``, some of them), sorted by position.
        Raises CheckFailed."""
        ran = self._by_stage[stage] if checks is None else checks
        found: list[Finding] = []
        for check in ran:
            if check.name not in self._specialist_of:
                found.extend(self._inspect(check, stage, text, ctx))
        for check in ran:
            if check.name in self._specialist_of and self._asked(check.name, found):
                found.extend(self._inspect(check, stage, text, ctx))
        found.sort(key=lambda f: (f.start, -f.end, f.check))
        if self.fusion is not None:
            abstained = self._abstained(text, ran) if self.fusion.specialists else frozenset()
            found = fuse(found, self.fusion, ctx, abstained=abstained)
        return found

    def _inspect(self, check: Check, stage: Stage, text: str, ctx: Context) -> list[Finding]:
        started = time.perf_counter()
        try:
            return list(check.inspect(text, ctx))
        except Exception as exc:  # any failure of a check refuses the text: fail closed
            raise CheckFailed(f"check {check.name!r} failed at stage {stage.value}: {exc!r}") from exc
        finally:
            if self._observer is not None:
                self._observer(check.name, stage, time.perf_counter() - started)

    def _asked(self, specialist: str, found: Sequence[Finding]) -> bool:
        """Whether a model gave evidence in one of the specialist's categories. Only then can the
        specialist's judgement change the decision (`hegui.guard.fusion`): without it, its refusal would
        be recorded as a label and nothing else. So it is not run, and costs nothing on most texts."""
        tops = self._specialist_of[specialist]
        return any(
            f.tier == "model" and f.action >= Action.LABEL and f.category.startswith(tops) for f in found
        )

    def _abstained(self, text: str, ran: Sequence[Check]) -> frozenset[str]:
        """Checks that did not judge this text: not run in this call, or the text is longer than their
        ``max_chars``. A specialist among them abstains: the models' findings stand as they are."""
        out = {c.name for c in self.checks if c not in ran}
        out |= {c.name for c in ran if (m := getattr(c, "max_chars", None)) is not None and len(text) > m}
        return frozenset(out)

    def run(self, stage: Stage, text: str, ctx: Context) -> Verdict:
        found = self.findings(stage, text, ctx)
        action = max((f.action for f in found), default=Action.ALLOW)
        released = apply_masks(text, found, self.mask_char) if action == Action.MASK else text
        return Verdict(action, tuple(found), released, self.policy_version, self.versions(stage))


def apply_masks(text: str, findings: Iterable[Finding], mask_char: str = "*") -> str:
    """Rewrite the spans of mask findings. Overlapping spans are merged; the first replacement wins."""
    spans = sorted((f.start, f.end, f.replacement) for f in findings if f.action == Action.MASK)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end, replacement in spans:
        if end <= pos:
            continue
        begin = max(start, pos)
        out.append(text[pos:begin])
        out.append(replacement if replacement is not None else mask_char * (end - begin))
        pos = end
    out.append(text[pos:])
    return "".join(out)
