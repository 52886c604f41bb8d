"""Fusion: the checks' findings become one decision, with the reason on every finding.

Checks report two kinds of findings. Most decide on their own, as they always have: a deny-listed
term, a red-line lexicon term, a model score above its refusal threshold, personal information to mask.
Others are **evidence**: a lexicon *topic* term (``tier = "topic"``: a word such as 毒品 or 赌博 that
harmful and harmless texts both use) or a model score above its evidence threshold but below its
refusal threshold (``tier = "model"``, action ``label``). Evidence is recorded, never refused alone,
unless the preset says so. The fusion upgrades a topic hit to a refusal when something else supports
it:

* **a model agrees**: a model finding of any category (the prompt model, the answer model, a guard
  LLM) at or above its evidence threshold in the same text — the word is there *and* the text reads as
  a harmful request;
* **the session's context**: the user already has violations in this session (``Context.memory``), when
  the preset counts that (strict and balanced do);
* **the preset is strict**: a topic term refuses on sight, as every term did before tiers.

The upgraded finding keeps its span and category and says which components decided, so an audit reader
sees why. Model evidence findings stay at ``label``: a model below its own refusal threshold never
refuses without a topic term, which keeps the false-refusal rate of the model alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hegui.guard.types import Action, Context, Finding

PresetName = Literal["strict", "balanced", "lenient"]
PRESETS: tuple[PresetName, ...] = ("strict", "balanced", "lenient")


@dataclass(frozen=True, slots=True)
class FusionRule:
    """How evidence combines, per preset. Model thresholds per preset live in the model artifacts."""

    preset: PresetName = "balanced"
    #: A topic term refuses on its own.
    topic_alone: bool = False
    #: A topic term refuses when a model's evidence finding is present in the same text.
    topic_with_model: bool = True
    #: A topic term refuses when the session already has violations.
    topic_with_history: bool = True

    @classmethod
    def for_preset(cls, preset: PresetName) -> FusionRule:
        if preset == "strict":
            return cls(preset, topic_alone=True, topic_with_model=True, topic_with_history=True)
        if preset == "lenient":
            return cls(preset, topic_alone=False, topic_with_model=True, topic_with_history=False)
        return cls(preset, topic_alone=False, topic_with_model=True, topic_with_history=True)


def _strongest_model(findings: Sequence[Finding]) -> Finding | None:
    models = [f for f in findings if f.tier == "model" and f.action >= Action.LABEL]
    return max(models, key=lambda f: f.score, default=None)


def _history(ctx: Context) -> int:
    if ctx.memory is None:
        return 0
    return ctx.memory.violations()


def fuse(
    findings: Sequence[Finding], rule: FusionRule, ctx: Context, *, refuse: Action = Action.REFUSE
) -> list[Finding]:
    """The findings with every supported topic hit upgraded to ``refuse``; order kept."""
    topics = [f for f in findings if f.tier == "topic" and f.action < refuse]
    if not topics:
        return list(findings)
    model = _strongest_model(findings) if rule.topic_with_model else None
    history = _history(ctx) if rule.topic_with_history else 0
    if model is not None:
        reason = (
            f"fusion ({rule.preset}): topic term supported by {model.check} "
            f"(score {model.score:.3f}, {model.category})"
        )
    elif history > 0:
        reason = f"fusion ({rule.preset}): topic term in a session with {history} earlier violation(s)"
    elif rule.topic_alone:
        reason = f"fusion ({rule.preset}): a topic term refuses on its own under this preset"
    else:
        return list(findings)
    upgraded = {id(f) for f in topics}
    out: list[Finding] = []
    for f in findings:
        if id(f) in upgraded:
            explanation = f"{reason}; {f.explanation}" if f.explanation else reason
            out.append(dataclasses.replace(f, action=refuse, explanation=explanation))
        else:
            out.append(f)
    return out
