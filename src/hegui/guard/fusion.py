"""Fusion: the checks' findings become one decision, with the reason on every finding.

Checks report two kinds of findings. Most decide on their own, as they always have: a deny-listed
term, a red-line lexicon term, a model score above its refusal threshold, personal information to mask.
Others are **evidence**: a lexicon *topic* term (``tier = "topic"``: a word such as 毒品 or 赌博 that
harmful and harmless texts both use) or a model score above its evidence threshold but below its
refusal threshold (``tier = "model"``, action ``label``). Evidence is recorded, never refused alone,
unless the preset says so. The fusion upgrades a topic hit to a refusal when something else supports
it:

* **a model agrees**: a model finding of any category (the prompt model, the answer model, a guard
  LLM) at or above its evidence threshold whose span holds the term — the word is there *and* the text
  reads as a harmful request there (for a text longer than a window, the span is the window the model
  found most harmful: a word in another paragraph of a long document is not supported by it);
* **the session's context**: the user already has violations in this session (``Context.memory``), when
  the preset counts that (strict and balanced do);
* **the preset is strict**: a topic term refuses on sight, as every term did before tiers.

The upgraded finding keeps its span and category and says which components decided, so an audit reader
sees why. Model evidence findings stay at ``label``: a model below its own refusal threshold never
refuses without a topic term, which keeps the false-refusal rate of the model alone.

**Specialists.** A category may name a specialist check (``[guard] specialists``, e.g. the
offensive-language classifier for A.2, discrimination): a general model's refusal in that category below
``specialist_alone`` must be confirmed by the specialist, a general model's evidence that the specialist
confirms becomes a refusal, and the specialist's own refusal counts only with some model evidence in its
category in the same text. The general prompt model shares its vocabulary between offensive comments and harmless
remarks about gender, region and race; the specialist was trained on exactly that distinction, and the
general model keeps it from firing on neutral questions it never saw. A refusal whose category holds
less than ``specialist_share`` of the model's score (``Finding.share``: "A.2, but A.1 and A.4 together
weigh more") is not the specialist's kind alone, so its "no" does not stand against it: such a refusal
stands without confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Literal

from hegui.guard.types import Action, Context, Finding

PresetName = Literal["strict", "balanced", "lenient"]
#: The tier of a model finding in a specialist's category that the specialist did not confirm: recorded,
#: but no support for a topic term (the specialist's "no" would otherwise come back through the lexicon).
UNCONFIRMED = "model-unconfirmed"
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
    #: Top-level category (A.2) → the name of the check that must confirm a model's refusal in it.
    specialists: Mapping[str, str] = field(default_factory=dict)
    #: A model's score at or above which its refusal in a specialist's category stands alone.
    specialist_alone: float = 0.8
    #: The share of a model's score its category must hold for the specialist to judge the refusal (a
    #: majority: below it the harm is mostly of other kinds, which the specialist was not trained on).
    specialist_share: float = 0.5

    @classmethod
    def for_preset(cls, preset: PresetName, specialists: Mapping[str, str] | None = None) -> FusionRule:
        spec = dict(specialists or {})
        if preset == "strict":
            return cls(preset, True, True, True, spec, specialist_alone=0.7)
        if preset == "lenient":
            return cls(preset, False, True, False, spec, specialist_alone=0.9)
        return cls(preset, False, True, True, spec, specialist_alone=0.8)


def _history(ctx: Context) -> int:
    if ctx.memory is None:
        return 0
    return ctx.memory.violations()


def fuse(
    findings: Sequence[Finding],
    rule: FusionRule,
    ctx: Context,
    *,
    refuse: Action = Action.REFUSE,
    abstained: Set[str] = frozenset(),
) -> list[Finding]:
    """The findings after the specialists' say and with every supported topic hit upgraded; order kept.
    ``abstained``: specialists that did not judge this text (e.g. longer than their ``max_chars``); the
    models' findings in their categories stand as they are."""
    return _topics(_specialists(findings, rule, refuse, abstained), rule, ctx, refuse)


def _with(f: Finding, action: Action, reason: str, tier: str | None = None) -> Finding:
    explanation = f"{reason}; {f.explanation}" if f.explanation else reason
    return f.decided(action, explanation, tier)


def _specialists(
    findings: Sequence[Finding], rule: FusionRule, refuse: Action, abstained: Set[str]
) -> list[Finding]:
    out = list(findings)
    for top, name in rule.specialists.items():
        if name in abstained:
            continue
        confirmed = [f for f in out if f.check == name and f.action >= refuse]
        models = [
            f
            for f in out
            if f.tier == "model"
            and f.check != name
            and f.action >= Action.LABEL
            and f.category.startswith(top)
        ]
        for i, f in enumerate(out):
            if f.check == name and f.action >= refuse and not models:
                out[i] = _with(
                    f, Action.LABEL, f"fusion ({rule.preset}): {name} alone, without model evidence"
                )
            elif (
                f.check != name
                and f.tier == "model"
                and f.action >= Action.LABEL
                and f.category.startswith(top)
            ):
                if f.action >= refuse and f.share < rule.specialist_share:  # mostly another kind of harm
                    why = (
                        f"fusion ({rule.preset}): {top} holds {f.share:.0%} of the score, under "
                        f"{rule.specialist_share:.0%}: stands without {name}"
                    )
                    out[i] = _with(f, f.action, why)
                    continue
                if f.action >= refuse and f.score < rule.specialist_alone and not confirmed:
                    why = f"fusion ({rule.preset}): not confirmed by {name} ({top}, score below {rule.specialist_alone})"
                    out[i] = _with(f, Action.LABEL, why, UNCONFIRMED)
                elif f.action < refuse and confirmed:
                    why = f"fusion ({rule.preset}): evidence confirmed by {name} (score {confirmed[0].score:.3f})"
                    out[i] = _with(f, refuse, why)
                elif f.action < refuse:  # evidence the specialist did not confirm supports no topic term
                    why = f"fusion ({rule.preset}): evidence not confirmed by {name}"
                    out[i] = _with(f, f.action, why, UNCONFIRMED)
    return out


def _topics(findings: Sequence[Finding], rule: FusionRule, ctx: Context, refuse: Action) -> list[Finding]:
    """Every supported topic hit upgraded to ``refuse``. A model supports the hits inside the span it
    judged (for a long text, the window it found most harmful), not a word paragraphs away from it."""
    topics = [f for f in findings if f.tier == "topic" and f.action < refuse]
    if not topics:
        return list(findings)
    models = (
        [f for f in findings if f.tier == "model" and f.action >= Action.LABEL]
        if rule.topic_with_model
        else []
    )
    history = _history(ctx) if rule.topic_with_history else 0
    if history > 0:
        fallback = f"fusion ({rule.preset}): topic term in a session with {history} earlier violation(s)"
    elif rule.topic_alone:
        fallback = f"fusion ({rule.preset}): a topic term refuses on its own under this preset"
    else:
        fallback = ""
    reasons: dict[int, str] = {}
    for t in topics:
        near = [m for m in models if m.start < t.end and t.start < m.end]
        if near:
            model = max(near, key=lambda m: m.score)
            reasons[id(t)] = (
                f"fusion ({rule.preset}): topic term supported by {model.check} "
                f"(score {model.score:.3f}, {model.category})"
            )
        elif fallback:
            reasons[id(t)] = fallback
    if not reasons:
        return list(findings)
    out: list[Finding] = []
    for f in findings:
        reason = reasons.get(id(f))
        if reason is not None:
            out.append(f.decided(refuse, f"{reason}; {f.explanation}" if f.explanation else reason))
        else:
            out.append(f)
    return out
