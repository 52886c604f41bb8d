"""The ``works_overlap`` check: an answer that copies a protected work is flagged, naming the work.

Two rules, both over normalized text (so width, punctuation and traditional/simplified changes do not
hide a copy):

- a *run* of at least ``min_run`` normalized characters shared with one work (a few swapped, dropped or
  inserted characters do not break it; see `hegui.works.index`);
- a window of ``containment_window`` normalized characters whose fingerprints are at least
  ``containment`` (a share) found in one work: the copy that was edited too often for a long run.

The finding's span is the answer's own original characters; its explanation names the work and the
work's normalized span. The check is pure: the index is loaded once by the factory.

In a stream it needs only a bounded stretch: ``horizon`` is twice the longer of the two rule lengths
plus k (original characters; the normalizer drops punctuation and white space, so an original
stretch is longer than its normalized one). A copy spread over more than that many original
characters (more than one dropped character per kept one) may be seen in a stream only in parts.
"""

from __future__ import annotations

from collections.abc import Iterable

from hegui.guard.types import Action, Context, Finding, Stage
from hegui.works.index import WorksIndex

CATEGORY = "A.3a"


class WorksOverlapCheck:
    def __init__(
        self,
        name: str,
        index: WorksIndex,
        *,
        stages: Iterable[Stage] = (Stage.OUTPUT,),
        action: Action = Action.REFUSE,
        category: str = CATEGORY,
        min_run: int = 50,
        containment: float = 0.5,
        containment_window: int = 200,
    ) -> None:
        if min_run <= index.k + index.w:
            raise ValueError(f"min_run must be above k + w ({index.k + index.w}) of the index")
        self.name = name
        self.stages = frozenset(stages)
        self.version = index.version
        self.horizon: int | None = 2 * max(min_run, containment_window) + index.k
        self._index = index
        self._action = action
        self._category = category
        self._min_run = min_run
        self._containment = containment
        self._window = containment_window

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        norm = self._index.normalizer.normalize(text)
        answer = norm.text
        if len(answer) < self._index.k:
            return []
        out: list[Finding] = []
        covered: list[tuple[int, int]] = []
        for run in self._index.runs(answer):
            if run.length < self._min_run:
                continue
            start, end = norm.span(run.answer_start, run.answer_end)
            work = self._index.names[run.work]
            covered.append((run.answer_start, run.answer_end))
            out.append(
                Finding(
                    self.name,
                    self._category,
                    start,
                    end,
                    text[start:end],
                    self._action,
                    score=1.0,
                    explanation=(
                        f"shares a run of {run.length} characters with protected work {work!r} "
                        f"(its characters {run.work_start}-{run.work_end})"
                    ),
                )
            )
        if self._containment < 1.0 and len(answer) >= min(self._min_run, self._window):
            for c in self._index.containment(answer, window=self._window):
                if c.score < self._containment:
                    continue
                if any(s < c.answer_end and c.answer_start < e for s, e in covered):
                    continue  # already named by a run
                start, end = norm.span(c.answer_start, c.answer_end)
                work = self._index.names[c.work]
                out.append(
                    Finding(
                        self.name,
                        self._category,
                        start,
                        end,
                        text[start:end],
                        self._action,
                        score=round(c.score, 3),
                        explanation=f"{c.score:.0%} of this stretch's fingerprints are in protected work {work!r}",
                    )
                )
        return out
