"""The fusion of evidence: topic terms refuse only with a model's or the session's support, per preset."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hegui.errors import ConfigError
from hegui.guard.fusion import FusionRule, fuse
from hegui.guard.pipeline import Pipeline
from hegui.guard.types import Action, Context, Finding, Stage
from hegui.policy import parse_policy


def topic(start: int = 0, end: int = 2) -> Finding:
    return Finding("lexicon", "A.1h", start, end, "xx", Action.LABEL, tier="topic", explanation="term 'xx'")


def model(score: float, action: Action = Action.LABEL) -> Finding:
    return Finding("prompt-model", "A.4a", 0, 10, "text", action, score, tier="model")


class Memory:
    def __init__(self, violations: int) -> None:
        self._violations = violations

    def recent_turns(self, limit: int) -> Sequence[str]:
        return []

    def violations(self) -> int:
        return self._violations


def actions(found: list[Finding]) -> list[tuple[str, Action]]:
    return [(f.check, f.action) for f in found]


def test_topic_alone_is_evidence_under_balanced() -> None:
    out = fuse([topic()], FusionRule.for_preset("balanced"), Context())
    assert actions(out) == [("lexicon", Action.LABEL)]


def test_topic_alone_refuses_under_strict() -> None:
    out = fuse([topic()], FusionRule.for_preset("strict"), Context())
    assert actions(out) == [("lexicon", Action.REFUSE)]
    assert "strict" in out[0].explanation and "term 'xx'" in out[0].explanation


@pytest.mark.parametrize("preset", ["strict", "balanced", "lenient"])
def test_topic_with_model_evidence_refuses(preset: str) -> None:
    out = fuse([topic(), model(0.41)], FusionRule.for_preset(preset), Context())  # type: ignore[arg-type]
    assert actions(out) == [("lexicon", Action.REFUSE), ("prompt-model", Action.LABEL)]
    assert "prompt-model" in out[0].explanation and "0.410" in out[0].explanation


def test_model_evidence_alone_never_refuses() -> None:
    out = fuse([model(0.6)], FusionRule.for_preset("strict"), Context())
    assert actions(out) == [("prompt-model", Action.LABEL)]


def test_a_model_supports_the_topic_terms_inside_the_span_it_judged() -> None:
    # The model's finding spans characters 0-10 (its most harmful window); a term at 40-42, in another
    # part of a long text, is not supported by it, a term at 8-12 (overlapping the window) is.
    inside, far = topic(8, 12), topic(40, 42)
    out = fuse([inside, model(0.41), far], FusionRule.for_preset("balanced"), Context())
    assert actions(out) == [
        ("lexicon", Action.REFUSE),
        ("prompt-model", Action.LABEL),
        ("lexicon", Action.LABEL),
    ]
    assert "supported by prompt-model" in out[0].explanation
    # The session's history still supports the far term, and strict still refuses it alone
    history = fuse([far, model(0.41)], FusionRule.for_preset("balanced"), Context(memory=Memory(1)))
    assert actions(history)[0] == ("lexicon", Action.REFUSE)
    assert "earlier violation" in history[0].explanation
    strict = fuse([far, model(0.41)], FusionRule.for_preset("strict"), Context())
    assert actions(strict)[0] == ("lexicon", Action.REFUSE)


def test_session_history_supports_topic_except_lenient() -> None:
    ctx = Context(memory=Memory(2))
    assert actions(fuse([topic()], FusionRule.for_preset("balanced"), ctx)) == [("lexicon", Action.REFUSE)]
    assert actions(fuse([topic()], FusionRule.for_preset("lenient"), ctx)) == [("lexicon", Action.LABEL)]
    no_history = Context(memory=Memory(0))
    assert actions(fuse([topic()], FusionRule.for_preset("balanced"), no_history)) == [
        ("lexicon", Action.LABEL)
    ]


def test_red_line_and_other_findings_untouched() -> None:
    red = Finding("lexicon", "A.1a", 0, 2, "yy", Action.REFUSE, tier="red-line")
    pii = Finding("pii", "A.4f", 3, 8, "12345", Action.MASK)
    out = fuse([red, pii], FusionRule.for_preset("strict"), Context())
    assert out == [red, pii]


class StubCheck:
    """A check that returns fixed findings: stands in for the lexicon and the models."""

    def __init__(self, name: str, found: list[Finding]) -> None:
        self.name = name
        self.stages = frozenset({Stage.INPUT})
        self.horizon: int | None = None
        self.version = "stub"
        self._found = found

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        return list(self._found)


def test_pipeline_applies_the_fusion() -> None:
    checks = [StubCheck("lexicon", [topic()]), StubCheck("prompt-model", [model(0.5)])]
    fused = Pipeline(checks, policy_version="t", fusion=FusionRule.for_preset("balanced"))
    plain = Pipeline(checks, policy_version="t")
    assert fused.run(Stage.INPUT, "xx and more", Context()).action == Action.REFUSE
    assert plain.run(Stage.INPUT, "xx and more", Context()).action == Action.LABEL


_POLICY = """
[[upstreams]]
name = "demo"
type = "demo"
models = ["m"]
"""


def test_policy_preset_default_and_error() -> None:
    assert parse_policy(_POLICY, "t.toml").guard.preset == "balanced"
    assert parse_policy(_POLICY + '\n[guard]\npreset = "strict"\n', "t.toml").guard.preset == "strict"
    with pytest.raises(ConfigError, match=r"guard\.preset"):
        parse_policy(_POLICY + '\n[guard]\npreset = "paranoid"\n', "t.toml")


# -- specialists ---------------------------------------------------------------------------------------

SPECIALIST = FusionRule.for_preset("balanced", {"A.2": "offensive"})


def general(score: float, action: Action, category: str = "A.2i", share: float = 1.0) -> Finding:
    return Finding("harmful-request", category, 0, 10, "text", action, score, tier="model", share=share)


def specialist(score: float = 0.9) -> Finding:
    return Finding("offensive", "A.2i", 0, 10, "text", Action.REFUSE, score, "classifier")


def test_a_general_refusal_in_the_specialists_category_needs_confirmation() -> None:
    alone = fuse([general(0.6, Action.REFUSE)], SPECIALIST, Context())
    assert actions(alone) == [("harmful-request", Action.LABEL)]
    assert "not confirmed by offensive" in alone[0].explanation
    confirmed = fuse([general(0.6, Action.REFUSE), specialist()], SPECIALIST, Context())
    assert actions(confirmed) == [("harmful-request", Action.REFUSE), ("offensive", Action.REFUSE)]


def test_a_confident_general_refusal_stands_alone() -> None:
    assert actions(fuse([general(0.85, Action.REFUSE)], SPECIALIST, Context())) == [
        ("harmful-request", Action.REFUSE)
    ]


def test_other_categories_are_not_the_specialists_business() -> None:
    assert actions(fuse([general(0.6, Action.REFUSE, "A.1h")], SPECIALIST, Context())) == [
        ("harmful-request", Action.REFUSE)
    ]


def test_a_refusal_mostly_of_other_kinds_is_not_the_specialists_to_veto() -> None:
    # A.2 is the most likely class but holds 40 % of P(harmful): the rest is A.1, A.4, …
    mixed = fuse([general(0.6, Action.REFUSE, share=0.4)], SPECIALIST, Context())
    assert actions(mixed) == [("harmful-request", Action.REFUSE)]
    assert "A.2 holds 40% of the score, under 50%: stands without offensive" in mixed[0].explanation
    # At the majority the specialist judges it, as before
    mostly = fuse([general(0.6, Action.REFUSE, share=0.5)], SPECIALIST, Context())
    assert actions(mostly) == [("harmful-request", Action.LABEL)]
    assert mostly[0].tier == "model-unconfirmed"


def test_general_evidence_confirmed_by_the_specialist_refuses() -> None:
    out = fuse([general(0.3, Action.LABEL), specialist(0.7)], SPECIALIST, Context())
    assert actions(out) == [("harmful-request", Action.REFUSE), ("offensive", Action.REFUSE)]
    assert "confirmed by offensive (score 0.700)" in out[0].explanation


def test_the_specialist_alone_is_evidence() -> None:
    out = fuse([specialist()], SPECIALIST, Context())
    assert actions(out) == [("offensive", Action.LABEL)]
    assert "without model evidence" in out[0].explanation


def test_specialists_must_name_a_check() -> None:
    from hegui.pipelines import build_pipeline

    text = _POLICY + '\n[guard]\nspecialists = { "A.2" = "nowhere" }\n'
    with pytest.raises(ConfigError, match=r"guard\.specialists\.A\.2"):
        build_pipeline(parse_policy(text, "t.toml"))
    with pytest.raises(ConfigError, match="top-level"):
        parse_policy(_POLICY + '\n[guard]\nspecialists = { "A.2i" = "x" }\n', "t.toml")


def test_the_specialist_needs_evidence_in_its_own_category() -> None:
    out = fuse([general(0.3, Action.LABEL, "A.1h"), specialist()], SPECIALIST, Context())
    assert actions(out) == [("harmful-request", Action.LABEL), ("offensive", Action.LABEL)]


def test_an_abstaining_specialist_leaves_the_model_alone() -> None:
    out = fuse([general(0.6, Action.REFUSE)], SPECIALIST, Context(), abstained={"offensive"})
    assert actions(out) == [("harmful-request", Action.REFUSE)]


def test_the_pipeline_tells_which_specialist_abstained() -> None:
    from hegui.guard.classifier import ClassifierCheck

    classifier = ClassifierCheck("offensive", max_chars=16)
    checks = [StubCheck("harmful-request", [general(0.6, Action.REFUSE)]), classifier]
    checks[0].stages = frozenset({Stage.INPUT})
    classifier.stages = frozenset({Stage.INPUT})
    pipeline = Pipeline(checks, policy_version="t", fusion=SPECIALIST)
    long_text = "今天的天气很好，我们一起去公园散步吧，然后去吃饭。"
    assert len(long_text) > 16
    assert pipeline.run(Stage.INPUT, long_text, Context()).action == Action.REFUSE  # abstained
    assert pipeline.run(Stage.INPUT, "今天的天气很好", Context()).action == Action.LABEL  # not confirmed


def test_unconfirmed_evidence_supports_no_topic_term() -> None:
    out = fuse([topic(), general(0.5, Action.REFUSE)], SPECIALIST, Context())
    assert actions(out) == [("lexicon", Action.LABEL), ("harmful-request", Action.LABEL)]
    assert out[1].tier == "model-unconfirmed"
    evidence = fuse([topic(), general(0.3, Action.LABEL)], SPECIALIST, Context())
    assert actions(evidence) == [("lexicon", Action.LABEL), ("harmful-request", Action.LABEL)]
    confirmed = fuse([topic(), general(0.3, Action.LABEL), specialist()], SPECIALIST, Context())
    assert actions(confirmed)[0] == ("lexicon", Action.REFUSE)


def test_a_specialist_abstains_at_a_stage_it_does_not_run() -> None:
    from hegui.guard.classifier import ClassifierCheck

    classifier = ClassifierCheck("offensive", stages=[Stage.INPUT])
    answer = StubCheck("harmful-request", [general(0.6, Action.REFUSE)])
    answer.stages = frozenset({Stage.OUTPUT})
    pipeline = Pipeline([answer, classifier], policy_version="t", fusion=SPECIALIST)
    assert pipeline.run(Stage.OUTPUT, "一段回答", Context()).action == Action.REFUSE
