"""The answer judgement: a refusal / compliance model and the check ``answer_model`` (output stage).

The compliance model reads the head of an answer (its first 512 normalized characters: a refusal, a warning
or a redirection shows at the start) and gives c = P(compliance), the probability that the answer *helps*
with what was asked rather than refusing, warning or redirecting. The answer's risk combines it with the
prompt model (`hegui.guard.judge.prompt`):

    risk = c * max(q, r)

q is the prompt model's P(harmful) of the question (``ctx.prompt``), r its P(harmful) of the answer itself.
An answer that refuses is safe whatever was asked (c small); an answer that helps is as risky as the
question, or as its own content when that is worse (a jailbreak whose question looked harmless). When the
question is unknown (``ctx.prompt`` is None), risk = c * r and the finding says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hegui.guard.judge.features import FeatureConfig
from hegui.guard.judge.linear import PRESETS, LinearModel
from hegui.guard.judge.prompt import PromptRiskModel
from hegui.guard.judge.refusal import CONFIDENT, REFUSED, refusal_cue
from hegui.guard.types import Action, Context, Finding, JudgesAt, Stage

ANSWER_CLASSES = ("refusal", "compliance")
ANSWER_CONFIG = FeatureConfig(ngram_min=1, ngram_max=4, buckets_log2=18, window=512, stride=512, head=512)
BUNDLED_ANSWER = "answer_compliance.npz"


def answer_risk(compliance: float, question: float | None, own: float, own_floor: float = 0.0) -> float:
    """risk = c * max(q, r); c * r when the question is unknown. With the question known, the answer's own
    score r counts only from ``own_floor`` on (the prompt model's refusal threshold): below it the prompt
    model, trained on requests and comments, is not evidence about an answer (it gave 0.41 to the demo
    upstream's notice), and the question says more."""
    if question is None:
        return compliance * own
    return compliance * max(question, own if own >= own_floor else 0.0)


@dataclass(frozen=True, slots=True)
class AnswerRisk:
    risk: float
    compliance: float
    #: P(harmful) of the question; None when it was not known.
    question: float | None
    own: float
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

    def assess(self, answer: str, question: str | None, own_floor: float = 0.0) -> AnswerRisk:
        judged = self.judge(answer, question, own_floor)
        assert judged is not None  # without a bound, every answer is judged
        return judged

    def judge(
        self, answer: str, question: str | None, own_floor: float = 0.0, *, bound: Bound | None = None
    ) -> AnswerRisk | None:
        """The answer's risk; None when ``bound`` says it cannot reach the threshold.

        The prompt model's scores (q, r) come first: risk = c × max(q, r) ≤ max(q, r), so when even c = 1
        leaves the risk under the bound's threshold the compliance model is not run. Most answers to
        harmless questions end there, and a stream judges its answer at every sentence end. With a bound,
        an answer whose exact risk stays under its threshold is not explained either (``top_ngrams``
        empty): it will not be reported, and finding the strongest n-grams costs about a third of a
        prompt model's scoring."""
        own = self.prompt.assess(answer, explain_from=_NEVER)
        asked = self.prompt.assess(question, explain_from=_NEVER) if question and question.strip() else None
        q = None if asked is None else asked.score
        if bound is not None and answer_risk(1.0, q, own.score, own_floor) < bound.threshold(q is not None):
            return None
        c = float(self.compliance.score(answer).probabilities[:, 1].max())
        cue = refusal_cue(answer) if c < CONFIDENT else None
        if cue is not None:
            c = min(c, REFUSED)
        risk = answer_risk(c, q, own.score, own_floor)
        explain = bound is None or risk >= bound.threshold(q is not None)
        if asked is None or own.score >= asked.score:
            if explain:
                own = self.prompt.assess(answer)  # remembered scores: only the strongest n-grams are new
            return AnswerRisk(
                risk, c, q, own.score, own.category, own.start, own.end, own.top_ngrams, refusal=cue
            )
        assert question is not None
        if explain:
            asked = self.prompt.assess(question)
        return AnswerRisk(
            risk, c, q, own.score, asked.category, 0, len(answer), asked.top_ngrams, "question", cue
        )


#: An ``explain_from`` no score reaches: the strongest n-grams are looked up only for an answer that is
#: reported.
_NEVER = 2.0


@dataclass(frozen=True, slots=True)
class Bound:
    """The thresholds below which an answer's exact risk is not needed (it will not be reported)."""

    #: With the question known.
    asked: float
    #: Without it (risk = c × r).
    alone: float

    def threshold(self, question_known: bool) -> float:
        return self.asked if question_known else self.alone


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
        self.threshold = self.model.compliance.preset(preset)["refuse"] if threshold is None else threshold
        #: From which score the answer's own content counts beside its question (see `answer_risk`): the
        #: prompt model's most lenient refusal threshold, whatever the preset. The model was trained on
        #: requests and comments; on answers its middling scores are noise (the demo upstream's notice
        #: scores 0.44), while the question and the compliance model carry the judgement.
        self.own_floor = max(
            self.model.prompt.model.preset(p)["refuse"] for p in ("strict", "balanced", "lenient")
        )
        #: The threshold when the question is unknown: an explicit ``threshold``, else the higher of the
        #: preset's and the prompt model's refusal threshold of the preset.
        self.alone_threshold = (
            threshold
            if threshold is not None
            else max(self.threshold, self.model.prompt.model.preset(preset)["refuse"])
        )
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be between 0 and 1")
        self.bound = Bound(self.threshold, max(self.threshold, self.alone_threshold))
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
        # Without the question the answer's own content is the only sign of harm: it must reach the
        # prompt model's own refusal threshold (c * r with c <= 1), not the lower one calibrated for
        # c * max(q, r), at which everyday short answers would be flagged.
        judged = self.model.judge(text, ctx.prompt, self.own_floor, bound=self.bound)
        if judged is None:
            return []
        threshold = self.bound.threshold(judged.question is not None)
        if judged.risk < threshold:
            return []
        question = (
            "question unknown, answer judged alone: risk = c * r"
            if judged.question is None
            else f"q={judged.question:.3f}"
        )
        explanation = (
            f"answer_model ({self.model.version}): risk={judged.risk:.3f} >= threshold {threshold:.3f} "
            f"(preset {self.preset}); compliance c={judged.compliance:.3f}, {question}, "
            f"answer's own risk r={judged.own:.3f}"
            f"{f' (c capped: refusal cue {judged.refusal!r})' if judged.refusal else ''}; strongest n-grams (of the {judged.decided_by}): {', '.join(judged.top_ngrams) or '-'}"
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
