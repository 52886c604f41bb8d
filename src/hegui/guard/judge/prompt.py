"""The harmful-request model and its check (policy type ``prompt_model``, input stage).

`PromptRiskModel` predicts, for a user prompt, one of six classes: ``none`` or a top-level GB/T 45654 risk
``A.1`` … ``A.5``. Its score is P(harmful) = 1 - P(none) of the prompt's highest-scoring window (see
`hegui.guard.judge.features`), so one harmful sentence inside a long prompt is judged on its own.

The taxonomy accepts only sub-ids (``is_risk("A.1")`` is False), so a finding names a representative
sub-id of the predicted category: the "other" risk of A.1, A.2, A.3 and A.4 (A.1h, A.2i, A.3e, A.4g) and
A.5a for A.5. The fusion reads the top-level category from the first three characters.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from hegui.guard.judge.features import FeatureConfig
from hegui.guard.judge.linear import PRESETS, LinearModel, WindowScores
from hegui.guard.types import Action, Context, Finding, Stage

PROMPT_CLASSES = ("none", "A.1", "A.2", "A.3", "A.4", "A.5")
PROMPT_CONFIG = FeatureConfig(
    ngram_min=1, ngram_max=4, buckets_log2=18, window=128, stride=64, head=0, sentences=4
)
BUNDLED_PROMPT = "prompt_risk.npz"
#: Top-level class → the sub-id a finding carries.
RISK_IDS = {"A.1": "A.1h", "A.2": "A.2i", "A.3": "A.3e", "A.4": "A.4g", "A.5": "A.5a"}


@dataclass(frozen=True, slots=True)
class PromptRisk:
    """The model's judgement of one text."""

    #: P(harmful) of the highest-scoring window.
    score: float
    #: The most likely harmful class of that window (A.1 … A.5), even when the score is low.
    risk: str
    #: The window's span in the original text.
    start: int
    end: int
    #: The n-grams that pushed the window towards ``risk`` most.
    top_ngrams: tuple[str, ...]
    #: P(risk) / P(harmful) of that window: how much of the harm is of the predicted class.
    share: float = 1.0

    @property
    def category(self) -> str:
        return RISK_IDS[self.risk]


#: How many texts' scores a prompt model remembers (`PromptRiskModel.assess`), how many characters they
#: may hold in all, and the longest text it remembers. A text's scores hold its n-gram arrays (about 85
#: bytes per character), so at most about 131,072 × 85 bytes ≈ 11 MB stay alive, as when the bound was 32
#: texts of up to 4,096 characters; chat-length texts are many more (1,024 of 128 characters), so under
#: load a request's question is still remembered when its answer is judged, after other requests' texts.
SCORES_REMEMBERED = 1024
REMEMBER_CHARS = 32 * 4096
REMEMBER_MAX_CHARS = 4096


class _Remembered:
    """The scores of the texts asked for last, by text: a least-recently-used map bounded by the number
    of texts and their total characters. Thread-safe (a lock around the map; scoring runs outside it)."""

    def __init__(self, score: Callable[[str], WindowScores], texts: int, chars: int) -> None:
        self._score = score
        self._texts = texts
        self._chars = chars
        self._held = 0
        self._entries: OrderedDict[str, WindowScores] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> WindowScores:
        with self._lock:
            found = self._entries.get(text)
            if found is not None:
                self._entries.move_to_end(text)
                return found
        scores = self._score(text)
        with self._lock:
            if text not in self._entries:
                self._entries[text] = scores
                self._held += len(text)
                while len(self._entries) > self._texts or self._held > self._chars:
                    old, _ = self._entries.popitem(last=False)
                    self._held -= len(old)
        return scores


class PromptRiskModel:
    """Immutable after loading; safe to share between threads."""

    def __init__(self, model: LinearModel) -> None:
        if model.classes != PROMPT_CLASSES:
            raise ValueError(
                f"a prompt model needs classes {PROMPT_CLASSES}, the artifact has {model.classes}"
            )
        for preset in PRESETS:
            if not {"refuse", "evidence"} <= set(model.thresholds[preset]):
                raise ValueError(f"the artifact's preset {preset!r} lacks refuse or evidence thresholds")
        self.model = model
        self.version = model.version
        #: The scores of the texts judged last: a request's question is judged at the input stage and
        #: again, as the answer model's q, at the output stage (the same text, the same windows).
        self._scores = _Remembered(model.score, SCORES_REMEMBERED, REMEMBER_CHARS)

    @classmethod
    def load(cls, path: Path | None = None) -> PromptRiskModel:
        """The artifact at ``path`` or the bundled one; ValueError when missing or malformed. The bundled
        model is one instance per process, so the prompt check and the answer check share its scores."""
        if path is None:
            return _bundled_prompt_model()
        return cls(LinearModel.load(path, BUNDLED_PROMPT))

    def assess(self, text: str, *, explain_from: float = 0.0) -> PromptRisk:
        """The judgement of ``text``; its strongest n-grams only when P(harmful) reaches ``explain_from``
        (a check that reports nothing below its evidence threshold need not explain what it drops)."""
        scores = self._scores(text) if len(text) <= REMEMBER_MAX_CHARS else self.model.score(text)
        harmful = 1.0 - scores.probabilities[:, 0]
        best = int(harmful.argmax())  # ndarray methods: np.argmax's wrapper costs more than the work
        cls = 1 + int(scores.probabilities[best, 1:].argmax())
        w_start, w_end = int(scores.features.starts[best]), int(scores.features.ends[best])
        if w_end > w_start:
            start, end = scores.features.normalized.span(w_start, w_end)
        else:
            start, end = 0, len(text)
        score = float(harmful[best])
        share = float(scores.probabilities[best, cls]) / score if score > 0 else 1.0
        top = self.model.top_ngrams(scores, best, cls, 0) if score >= explain_from else []
        return PromptRisk(score, PROMPT_CLASSES[cls], start, end, tuple(t.text for t in top), min(share, 1.0))


@functools.lru_cache(maxsize=1)
def _bundled_prompt_model() -> PromptRiskModel:
    return PromptRiskModel(LinearModel.load(None, BUNDLED_PROMPT))


class PromptRiskCheck:
    """Refuses a prompt whose P(harmful) reaches ``refuse_threshold``; between ``evidence_threshold`` and
    that, emits a label-only finding (tier "model") that the fusion weighs with the lexicon's topic hits.

    Thresholds default to the artifact's table for ``preset``; an explicit threshold wins. The score
    depends on windows over the whole text, so the check needs the whole text (horizon None).
    """

    def __init__(
        self,
        name: str,
        model: PromptRiskModel | None = None,
        *,
        stages: Iterable[Stage] = (Stage.INPUT,),
        action: Action = Action.REFUSE,
        preset: str = "balanced",
        refuse_threshold: float | None = None,
        evidence_threshold: float | None = None,
    ) -> None:
        self.name = name
        self.model = model or PromptRiskModel.load()
        table = self.model.model.preset(preset)
        self.preset = preset
        self.refuse_threshold = table["refuse"] if refuse_threshold is None else refuse_threshold
        self.evidence_threshold = table["evidence"] if evidence_threshold is None else evidence_threshold
        if not 0.0 < self.refuse_threshold < 1.0 or not 0.0 < self.evidence_threshold < 1.0:
            raise ValueError("thresholds must be between 0 and 1")
        self.evidence_threshold = min(self.evidence_threshold, self.refuse_threshold)
        self.stages = frozenset(stages)
        self.action = action
        self.horizon: int | None = None
        self.version = f"{self.model.version}@{self.refuse_threshold:.4f}/{self.evidence_threshold:.4f}"

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        if not text.strip():
            return []
        risk = self.model.assess(text, explain_from=self.evidence_threshold)
        if risk.score < self.evidence_threshold:
            return []
        refuse = risk.score >= self.refuse_threshold
        threshold = self.refuse_threshold if refuse else self.evidence_threshold
        explanation = (
            f"prompt_model ({self.model.version}): P(harmful)={risk.score:.3f} "
            f">= {'refuse' if refuse else 'evidence'} threshold {threshold:.3f} "
            f"(preset {self.preset}); predicted {risk.risk} ({risk.share:.0%} of it); "
            f"strongest n-grams: {', '.join(risk.top_ngrams) or '-'}"
        )
        return [
            Finding(
                self.name,
                risk.category,
                risk.start,
                risk.end,
                text[risk.start : risk.end],
                self.action if refuse else Action.LABEL,
                round(risk.score, 4),
                explanation,
                tier="model",
                share=round(risk.share, 4),
            )
        ]
