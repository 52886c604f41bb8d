"""Refusal texts: lookup from risk id to category to default, languages, configuration, notices."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from hegui.guard import Action, Finding
from hegui.guard.refusals import (
    DEFAULT_TEXTS,
    NOTICE_KINDS,
    RefusalCatalog,
    RefusalPolicy,
    RefusalText,
    refusal_text,
)
from hegui.taxonomy import CATEGORIES, RISKS


@pytest.mark.parametrize(
    ("category", "language", "expected"),
    [
        ("A.4f", "zh", DEFAULT_TEXTS["A.4f"].zh),  # exact risk id
        ("A.4c", "en", DEFAULT_TEXTS["A.4"].en),  # falls back to its category
        ("A.1d", "zh", DEFAULT_TEXTS["A.1"].zh),
        (None, "en", DEFAULT_TEXTS["default"].en),
        ("A.2e", "both", f"{DEFAULT_TEXTS['A.2'].zh} {DEFAULT_TEXTS['A.2'].en}"),
    ],
)
def test_lookup_order_and_languages(category: str | None, language: str, expected: str) -> None:
    assert RefusalCatalog().for_category(category, language) == expected  # type: ignore[arg-type]


def test_every_risk_has_a_text_in_both_languages() -> None:
    catalog = RefusalCatalog()
    for rid in RISKS:
        assert catalog.for_category(rid, "zh") and catalog.for_category(rid, "en")
    assert set(CATEGORIES) <= set(DEFAULT_TEXTS)
    assert set(NOTICE_KINDS) <= set(DEFAULT_TEXTS)
    for text in DEFAULT_TEXTS.values():
        assert any("\u4e00" <= c <= "\u9fff" for c in text.zh)
        assert text.en.isascii()


def test_configured_texts_override_defaults() -> None:
    policy = RefusalPolicy.model_validate(
        {
            "language": "zh",
            "texts": {"A.1": {"zh": "不行。", "en": "No."}, "default": {"zh": "抱歉。", "en": "Sorry."}},
        }
    )
    catalog = RefusalCatalog(policy)
    assert catalog.for_category("A.1h") == "不行。"
    assert catalog.for_category("A.3a") == DEFAULT_TEXTS["A.3"].zh
    assert catalog.for_category(None, "en") == "Sorry."


def test_most_severe_finding_chooses_the_text() -> None:
    findings = (
        Finding("pii", "A.4f", 0, 3, "x", Action.MASK),
        Finding("deny", "A.1h", 4, 6, "y", Action.REFUSE),
        Finding("cls", "A.2i", 0, 9, "z", Action.REFUSE),
    )
    assert RefusalCatalog().for_findings(findings, "en") == DEFAULT_TEXTS["A.1"].en


def test_notices() -> None:
    until = datetime(2025, 9, 8, 12, 0, tzinfo=UTC)
    assert "暂停服务至 2025-09-08 20:00 (UTC+08:00)。" in RefusalCatalog().notice(
        "suspend", until=until, language="zh"
    )
    assert "until 2025-09-08 12:00 (UTC+00:00) because" in RefusalCatalog(time_zone="UTC").notice(
        "suspend", until=until, language="en"
    )
    assert RefusalCatalog().notice("terminate", language="en") == DEFAULT_TEXTS["terminate"].en.replace(
        "{appeal}", "the complaints channel"
    )
    assert RefusalCatalog(appeal="https://example.cn/appeal").notice("terminate") == (
        "您的账号因违规已被终止服务。如有异议，可通过https://example.cn/appeal申诉。 Your account has been terminated "
        "because of violations. You can appeal through https://example.cn/appeal."
    )


@pytest.mark.parametrize(
    "raw",
    [
        {"texts": {"A.9z": {"zh": "x", "en": "y"}}},
        {"texts": {"A.1": {"zh": "", "en": "y"}}},
        {"texts": {"A.1": {"zh": "x"}}},
        {"language": "fr"},
    ],
)
def test_invalid_configuration_is_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RefusalPolicy.model_validate(raw)


def test_refusal_text_is_frozen() -> None:
    with pytest.raises(ValidationError):
        RefusalText(zh="a", en="b").zh = "c"  # type: ignore[misc]


def test_refusals_table_in_the_policy_file() -> None:
    from hegui.policy import parse_policy

    head = '[[upstreams]]\nname = "d"\ntype = "demo"\nmodels = ["m"]\n'
    policy = parse_policy(
        head + '[refusals]\nlanguage = "en"\n[refusals.texts."A.2"]\nzh = "不"\nen = "No."\n', "t"
    )
    assert RefusalCatalog(policy.refusals).for_category("A.2e") == "No."


def _finding(category: str, action: Action) -> Finding:
    return Finding(check="c", category=category, start=0, end=1, evidence="x", action=action)


@pytest.mark.parametrize(
    ("findings", "override", "notice", "expected"),
    [
        ([_finding("A.4f", Action.REFUSE)], "", "", DEFAULT_TEXTS["A.4f"].en),
        # the worst finding chooses the words
        ([_finding("A.2a", Action.LABEL), _finding("A.1d", Action.REFUSE)], "", "", DEFAULT_TEXTS["A.1"].en),
        ([], "", "", DEFAULT_TEXTS["default"].en),
        ([_finding("A.4f", Action.REFUSE)], "One text for all.", "", "One text for all."),
        ([_finding("A.4f", Action.REFUSE)], "", "Notice.", f"{DEFAULT_TEXTS['A.4f'].en}\n\nNotice."),
        ([_finding("A.4f", Action.REFUSE)], "One text for all.", "Notice.", "One text for all.\n\nNotice."),
    ],
)
def test_refusal_text_is_a_pure_function(
    findings: list[Finding], override: str, notice: str, expected: str
) -> None:
    catalog = RefusalCatalog(RefusalPolicy(language="en"))
    first = refusal_text(catalog, findings, override=override, notice=notice)
    assert first == expected
    assert refusal_text(catalog, findings, override=override, notice=notice) == first  # nothing counted


@pytest.mark.parametrize(
    "evidence",
    ["我被同学歧视，有时觉得活着没有任何意义", "最近压力太大，真的不想活了", "我想自杀"],
)
def test_words_of_distress_get_the_self_harm_text_whatever_refused_them(evidence: str) -> None:
    # The harmful-request model refuses such a message as A.4g (another person's rights) or A.2i
    finding = Finding("harmful-request", "A.4g", 0, len(evidence), evidence, Action.REFUSE, 0.5, tier="model")
    catalog = RefusalCatalog()
    assert catalog.for_findings((finding,), "zh") == DEFAULT_TEXTS["A.4a"].zh
    assert refusal_text(catalog, [finding]).startswith(DEFAULT_TEXTS["A.4a"].zh)


def test_other_refusals_keep_their_category_text() -> None:
    finding = Finding("harmful-request", "A.4g", 0, 6, "帮我查他的住址", Action.REFUSE, 0.5, tier="model")
    assert RefusalCatalog().for_findings((finding,), "zh") == DEFAULT_TEXTS["A.4"].zh
    # A word of distress in a finding that does not stop the text (a label) changes nothing
    label = Finding("lexicon", "A.1h", 0, 2, "自杀", Action.LABEL, tier="topic")
    assert RefusalCatalog().for_findings((finding, label), "zh") == DEFAULT_TEXTS["A.4"].zh
