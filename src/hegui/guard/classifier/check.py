"""The classifier check: scores a text with the n-gram model and reports offensive stretches.

Long texts are scored in overlapping windows (``window`` characters, moving by half a window) so that
one offensive sentence in a long answer is not diluted by the rest; the finding's span is the
highest-scoring window. The score of a window depends on where the windows start, so the check needs
the whole text: its horizon is None and a stream through it is held back until it ends.
"""

from __future__ import annotations

from collections.abc import Iterable

from hegui.guard.classifier.model import load_model
from hegui.guard.classifier.scoring import TextModel
from hegui.guard.types import Action, Context, Finding, Stage

#: COLD covers offensive language about race, region and gender: discrimination (A.2) by default.
DEFAULT_CATEGORY = "A.2i"


class ClassifierCheck:
    def __init__(
        self,
        name: str,
        model: TextModel | None = None,
        *,
        stages: Iterable[Stage] = (Stage.INPUT, Stage.OUTPUT),
        action: Action = Action.REFUSE,
        category: str = DEFAULT_CATEGORY,
        threshold: float | None = None,
        window: int = 128,
        max_chars: int | None = None,
    ) -> None:
        if window < 16:
            raise ValueError("the classifier window must be at least 16 characters")
        self.name = name
        self.model = model or load_model()
        self.stages = frozenset(stages)
        self.action = action
        self.category = category
        self.threshold = self.model.threshold if threshold is None else threshold
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {self.threshold}")
        self.window = window
        #: Texts longer than this are not judged (no finding): the check abstains. The model was trained
        #: on comments; as a specialist (docs/guard.md, "Specialists") it abstains on long prompts, which
        #: the fusion then leaves to the general model, and its pure-Python scoring stays cheap.
        self.max_chars = max_chars
        self.horizon: int | None = None
        self.version = f"{self.model.version}@{self.threshold:.3f}"

    def _windows(self, text: str) -> list[tuple[int, int]]:
        if len(text) <= self.window:
            return [(0, len(text))]
        step = self.window // 2
        starts = [*range(0, len(text) - self.window, step), len(text) - self.window]
        return [(s, s + self.window) for s in starts]

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        if not text.strip() or (self.max_chars is not None and len(text) > self.max_chars):
            return []
        best: tuple[float, int, int, tuple[str, ...]] | None = None
        for start, end in self._windows(text):
            score = self.model.score(text[start:end], explain_from=self.threshold)
            if best is None or score.probability > best[0]:
                best = (score.probability, start, end, score.top_ngrams)
        assert best is not None
        probability, start, end, top = best
        if probability < self.threshold:
            return []
        return [
            Finding(
                self.name,
                self.category,
                start,
                end,
                text[start:end],
                self.action,
                round(probability, 4),
                f"offensive-language classifier p={probability:.3f} (threshold {self.threshold:.3f}); "
                f"strongest n-grams: {', '.join(top) or '-'}",
            )
        ]
