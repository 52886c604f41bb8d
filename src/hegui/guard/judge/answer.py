"""The answer judgement: a refusal / compliance model and the check ``answer_model`` (output stage).

The compliance model reads the head of an answer (its first 512 normalized characters: a refusal, a warning
or a redirection shows at the start) and gives c = P(compliance), the probability that the answer *helps*
with what was asked rather than refusing, warning or redirecting. The answer's risk combines it with the
prompt model (`hegui.guard.judge.prompt`):

    risk = c * q        with the question known (``ctx.prompt``)
    risk = c * r        without it

q is the prompt model's P(harmful) of the question, r its P(harmful) of the answer itself. An answer that
refuses is safe whatever was asked (c small); an answer that helps is as risky as its question.

Two rules keep the output stage from refusing what the input stage let through (2026-12-01):

* **The question counts at the input stage's bar.** The check's default threshold is never below the
  prompt model's refusal threshold of the same preset, so an answer that fully helps (c = 1) with a
  question the prompt model would answer (q below its threshold) is not flagged for its question. Before,
  the calibrated threshold (0.28 at ``balanced``, against 0.41 at the input stage) flagged every helpful
  answer to a question scored between the two: borderline questions the input stage had accepted.
* **With the question known, the answer's own score does not count.** The prompt model reads topics, not
  intent: on the calibration part of train, jade-db v3's *safe* answers score r >= 0.9 as often as its
  unsafe ones (100 % and 94 %), so r only adds flags on answers that discuss a harmful subject, such as
  safety advice about drugs, fraud or fire. The refusal / help distinction is c's, the harm of the request
  q's. Without the question, r is the only sign of harm and is used, at the higher of the two thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hegui.guard.judge.features import FeatureConfig
from hegui.guard.judge.linear import PRESETS, LinearModel
from hegui.guard.judge.prompt import PromptRiskModel
from hegui.guard.judge.refusal import CONFIDENT, REFUSED, declines, refusal_cue
from hegui.guard.types import Action, Context, Finding, JudgesAt, Stage

ANSWER_CLASSES = ("refusal", "compliance")
ANSWER_CONFIG = FeatureConfig(ngram_min=1, ngram_max=4, buckets_log2=18, window=512, stride=512, head=512)
BUNDLED_ANSWER = "answer_compliance.npz"


def answer_risk(compliance: float, question: float | None, own: float | None) -> float:
    """risk = c * q with the question known; c * r when it is unknown (see the module doc)."""
    if question is not None:
        return compliance * question
    if own is None:
        raise ValueError("without the question, the answer's own score is needed")
    return compliance * own


@dataclass(frozen=True, slots=True)
class AnswerRisk:
    risk: float
    compliance: float
    #: P(harmful) of the question; None when it was not known.
    question: float | None
    #: P(harmful) of the answer itself; None when the question was known (then it does not count).
    own: float | None
    #: The risk id of whichever decided: the question's predicted risk, or the answer's own.
    category: str
    #: The span that decided: the answer's riskiest window when its own content decided, else the answer.
    start: int
    end: int
    top_ngrams: tuple[str, ...]
    #: "question" when the question's risk decided, "answer" when the answer's own content did.
    decided_by: str = "answer"
    #: The refusal cue that capped c (`hegui.guard.judge.refusal`), when one did.
    refusal: str | None = None


class AnswerRiskModel:
    """The compliance model together with the prompt model it was calibrated with."""

    def __init__(self, compliance: LinearModel, prompt: PromptRiskModel) -> None:
        if compliance.classes != ANSWER_CLASSES:
            raise ValueError(
                f"an answer model needs classes {ANSWER_CLASSES}, the artifact has {compliance.classes}"
            )
        for preset in PRESETS:
            if "refuse" not in compliance.thresholds[preset]:
                raise ValueError(f"the artifact's preset {preset!r} lacks a refuse threshold")
        self.compliance = compliance
        self.prompt = prompt
        self.version = f"{compliance.version}+{prompt.version}"

    @classmethod
    def load(cls, path: Path | None = None, prompt_path: Path | None = None) -> AnswerRiskModel:
        """The artifacts at the paths or the bundled ones; ValueError when missing or malformed."""
        return cls(LinearModel.load(path, BUNDLED_ANSWER), PromptRiskModel.load(prompt_path))

    def assess(self, answer: str, question: str | None) -> AnswerRisk:
        judged = self.judge(answer, question)
        assert judged is not None  # without a bound, every answer is judged
        return judged

    def judge(self, answer: str, question: str | None, *, bound: float | None = None) -> AnswerRisk | None:
        """The answer's risk; None when it cannot reach ``bound`` (the threshold of the caller).

        The prompt model's score comes first (q, or r without the question): risk = c × q ≤ q, so when even
        c = 1 leaves the risk under the bound's threshold the compliance model is not run. Most answers to
        harmless questions end there, and a stream judges its answer at every sentence end: with the
        question known (remembered from the input stage) such a judgement reads nothing of the answer.
        With a bound, an answer whose exact risk stays under its threshold is not explained either
        (``top_ngrams`` empty): it will not be reported, and finding the strongest n-grams costs about a
        third of a prompt model's scoring."""
        if question and question.strip():
            return self._with_question(answer, question, bound)
        own = self.prompt.assess(answer, explain_from=_NEVER)
        if bound is not None and own.score < bound:
            return None
        c, cue = self._compliance(answer)
        risk = answer_risk(c, None, own.score)
        if bound is None or risk >= bound:
            own = self.prompt.assess(answer)  # remembered scores: only the strongest n-grams are new
        return AnswerRisk(
            risk, c, None, own.score, own.category, own.start, own.end, own.top_ngrams, refusal=cue
        )

    def _with_question(self, answer: str, question: str, bound: float | None) -> AnswerRisk | None:
        asked = self.prompt.assess(question, explain_from=_NEVER)
        if bound is not None and asked.score < bound:
            return None
        c, cue = self._compliance(answer)
        risk = answer_risk(c, asked.score, None)
        if bound is None or risk >= bound:
            asked = self.prompt.assess(question)
        return AnswerRisk(
            risk, c, asked.score, None, asked.category, 0, len(answer), asked.top_ngrams, "question", cue
        )

    def _compliance(self, answer: str) -> tuple[float, str | None]:
        """c, capped by a refusal cue (`hegui.guard.judge.refusal`): one that declines always, an apology
        alone unless the model is confident."""
        c = float(self.compliance.score(answer).probabilities[:, 1].max())
        cue = refusal_cue(answer)
        if cue is None or (c >= CONFIDENT and not declines(cue)):
            return c, None
        return min(c, REFUSED), cue


#: An ``explain_from`` no score reaches: the strongest n-grams are looked up only for an answer that is
#: reported.
_NEVER = 2.0


class AnswerRiskCheck:
    """Refuses an answer whose risk (see the module doc) reaches ``threshold``."""

    def __init__(
        self,
        name: str,
        model: AnswerRiskModel | None = None,
        *,
        stages: Iterable[Stage] = (Stage.OUTPUT,),
        action: Action = Action.REFUSE,
        preset: str = "balanced",
        threshold: float | None = None,
    ) -> None:
        self.name = name
        self.model = model or AnswerRiskModel.load()
        self.preset = preset
        #: The artifact's threshold of the preset, calibrated on safe answers alone (docs/guard-models.md).
        self.calibrated = self.model.compliance.preset(preset)["refuse"]
        #: The prompt model's refusal threshold of the same preset: the input stage's bar.
        self.input_bar = self.model.prompt.model.preset(preset)["refuse"]
        #: An explicit ``threshold``, else the higher of the two: an answer that helps (c <= 1) with a
        #: question the input stage would answer (q below its bar) is never flagged for that question, and
        #: an answer judged without its question must reach the prompt model's own bar (c * r).
        self.threshold = max(self.calibrated, self.input_bar) if threshold is None else threshold
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be between 0 and 1")
        self.stages = frozenset(stages)
        self.action = action
        self.horizon: int | None = None
        #: In a stream the answer is judged at every sentence end, on the text so far, and a sentence is
        #: released once judged (hegui.guard.stream): the model reads the answer's opening, so a refusal
        #: or a how-to shows in the first sentences.
        self.judges_at: JudgesAt = "sentence"
        #: A refusal of a shorter prefix is held, not final (hegui.guard.stream): the compliance model
        #: reads the answer's first 512 characters, and the opening of a refusal alone ("作为AI助手，我不
        #: 能参与……在黑市上购买武器。") can read as help about its topic. Measured on dev: streamed, 45 % of
        #: jade-db v3's safe refusals were stopped at their first sentence; judged whole, 2 %.
        self.settles_at = ANSWER_CONFIG.head
        self.version = f"{self.model.version}@{self.threshold:.4f}"

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        if not text.strip():
            return []
        judged = self.model.judge(text, ctx.prompt, bound=self.threshold)
        if judged is None or judged.risk < self.threshold:
            return []
        scores = (
            f"question unknown, answer judged alone: risk = c * r, answer's own risk r={judged.own:.3f}"
            if judged.question is None
            else f"risk = c * q, q={judged.question:.3f}"
        )
        capped = f" (c capped: refusal cue {judged.refusal!r})" if judged.refusal else ""
        explanation = (
            f"answer_model ({self.model.version}): risk={judged.risk:.3f} >= threshold {self.threshold:.3f} "
            f"(preset {self.preset}); compliance c={judged.compliance:.3f}{capped}, {scores}; "
            f"strongest n-grams (of the {judged.decided_by}): {', '.join(judged.top_ngrams) or '-'}"
        )
        return [
            Finding(
                self.name,
                judged.category,
                judged.start,
                judged.end,
                text[judged.start : judged.end],
                self.action,
                round(judged.risk, 4),
                explanation,
                tier="model",
            )
        ]
