"""The egress guard: pseudonymize before a cross-border request, restore after, refuse sensitive PI
without a PIPL 39 separate consent. Real recognizers, real pseudonymizer; no fakes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hegui.gateway.schemas import Slot, chat_input_slots
from hegui.guard.egress import EgressGuard, EgressPolicy
from hegui.guard.pii import PIIAnalyzer

SALT = b"0123456789abcdef-test-salt"
RID = "11010519491231002X"  # the standard's published example number (valid check character)
CARD = "4111111111111111"  # Luhn-valid test card
PHONE = "13812345678"


def guard(**policy: Any) -> EgressGuard:
    return EgressGuard(EgressPolicy(**policy), "CN", SALT)


_BODIES: dict[int, dict[str, Any]] = {}


def slots(*texts: str) -> list[Slot]:
    """The gateway's own slots over a real chat body: the setter writes into the body."""
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": t} for t in texts]}
    out = chat_input_slots(body)
    for slot in out:
        _BODIES[id(slot)] = body
    return out


def in_body(slot: Slot) -> str:
    body = _BODIES[id(slot)]
    return str(body["messages"][int(slot.field.split("[")[1].split("]")[0])]["content"])


@pytest.mark.parametrize(
    ("region", "enabled", "applies"),
    [("US", True, True), ("cn", True, False), ("CN", True, False), ("EU", False, False)],
)
def test_applies_only_across_the_border(region: str, enabled: bool, applies: bool) -> None:
    assert guard(enabled=enabled).applies(region) is applies


def test_same_region_is_left_alone() -> None:
    s = slots(f"电话{PHONE}")
    d = guard().inspect(s, upstream_region="CN", tenant="t", user="u", separate_consent=False)
    assert (d.cross_border, d.refused, d.replaced, d.persons) == (False, False, 0, ())
    assert s[0].text == f"电话{PHONE}" and in_body(s[0]) == f"电话{PHONE}"


NON_SENSITIVE = [
    (f"我的电话是{PHONE}，请回电", "我的电话是[PHONE_1]，请回电", ("mobile",)),
    ("邮箱 li.si@example.com 收到了吗", "邮箱 [EMAIL_1] 收到了吗", ("email",)),
    (f"打{PHONE}或者+86 138 1234 5678", "打[PHONE_1]或者[PHONE_2]", ("mobile",)),
    ("没有个人信息的句子", "没有个人信息的句子", ()),
]


@pytest.mark.parametrize(("text", "sent", "kinds"), NON_SENSITIVE)
def test_non_sensitive_is_pseudonymized_without_consent(text: str, sent: str, kinds: tuple[str, ...]) -> None:
    s = slots(text)
    d = guard().inspect(s, upstream_region="US", tenant="t", user="u", separate_consent=False)
    assert not d.refused and d.cross_border
    assert s[0].text == sent and in_body(s[0]) == sent
    assert d.kinds == kinds and d.sensitive_kinds == ()
    assert guard().restore(sent, d.vault) == text


SENSITIVE = [
    (f"身份证{RID}", ("resident_id",), "resident ID numbers"),
    (f"卡号 {CARD} 电话{PHONE}", ("bank_card",), "bank or payment card numbers"),
    (f"护照号E12345678，身份证{RID}", ("passport", "resident_id"), "passport numbers, resident ID numbers"),
]


@pytest.mark.parametrize(("text", "sensitive", "named"), SENSITIVE)
def test_sensitive_refused_without_consent_and_untouched(
    text: str, sensitive: tuple[str, ...], named: str
) -> None:
    s = slots(text)
    d = guard().inspect(s, upstream_region="US", tenant="t", user="u", separate_consent=False)
    assert d.refused and d.sensitive_kinds == sensitive and d.persons == ()
    assert named in d.message and "PIPL art. 39" in d.message and "region US" in d.message
    assert s[0].text == text and in_body(s[0]) == text
    err = d.refusal_error()
    assert err.http_status == 400 and err.message == d.message


@pytest.mark.parametrize(("text", "sensitive", "named"), SENSITIVE)
def test_sensitive_passes_with_consent_and_nothing_raw_is_left(
    text: str, sensitive: tuple[str, ...], named: str
) -> None:
    s = slots(text, "第二段：" + text)
    d = guard().inspect(s, upstream_region="US", tenant="t", user="u", separate_consent=True)
    assert not d.refused and d.sensitive_kinds == sensitive
    analyzer = PIIAnalyzer()
    for slot in s:
        assert analyzer.analyze(slot.text) == []
        assert RID not in slot.text and CARD not in slot.text and PHONE not in slot.text
        assert in_body(slot) == slot.text
    assert guard().restore(s[0].text, d.vault) == text
    assert {p.kind for p in d.persons if p.sensitive} == set(sensitive)


def test_persons_are_salted_hashes_one_per_identifier_and_user() -> None:
    text = f"{RID} 和 {PHONE}，再说一次 138-1234-5678，以及 a@example.com"
    d = guard().inspect(slots(text), upstream_region="US", tenant="t", user="alice", separate_consent=True)
    kinds = sorted((p.kind, p.sensitive) for p in d.persons)
    assert kinds == [("email", False), ("end_user", False), ("mobile", False), ("resident_id", True)]
    for p in d.persons:
        assert len(p.digest) == 64 and RID not in p.digest and "alice" not in p.digest
    other_salt = EgressGuard(EgressPolicy(), "CN", b"another-salt-of-16-bytes")
    d2 = other_salt.inspect(
        slots(text), upstream_region="US", tenant="t", user="alice", separate_consent=True
    )
    assert {p.digest for p in d.persons}.isdisjoint({p.digest for p in d2.persons})
    anonymous = guard().inspect(
        slots(text), upstream_region="US", tenant="t", user=None, separate_consent=True
    )
    assert "end_user" not in {p.kind for p in anonymous.persons}


def test_consent_required_for_all() -> None:
    g = guard(consent_required_for="all")
    d = g.inspect(slots("你好"), upstream_region="US", tenant="t", user="u", separate_consent=False)
    assert d.refused and d.sensitive_kinds == () and "none is on record" in d.message
    ok = g.inspect(slots("你好"), upstream_region="US", tenant="t", user="u", separate_consent=True)
    assert not ok.refused


@pytest.mark.parametrize(
    ("text", "refused", "kinds"),
    [
        ("我在吃降压药，血压偏高", True, ("health",)),
        ("孩子今年十岁", True, ("minor",)),
        ("天气很好", False, ()),
    ],
)
def test_cue_terms_flag_what_recognizers_cannot_see(text: str, refused: bool, kinds: tuple[str, ...]) -> None:
    g = guard(sensitive_terms={"health": ["血压", "降压药"], "minor": ["孩子"]})
    d = g.inspect(slots(text), upstream_region="US", tenant="t", user="u", separate_consent=False)
    assert d.refused is refused and d.sensitive_kinds == kinds
    if refused:
        ok = g.inspect(slots(text), upstream_region="US", tenant="t", user="u", separate_consent=True)
        assert [(p.kind, p.sensitive) for p in ok.persons] == [("end_user", True)]


def test_slot_without_setter_fails_closed() -> None:
    from hegui.errors import CheckFailed

    with pytest.raises(CheckFailed, match="cannot be rewritten"):
        guard().inspect(
            [Slot("x", f"电话{PHONE}", None)],
            upstream_region="US",
            tenant="t",
            user="u",
            separate_consent=False,
        )


def test_vault_shared_across_turns_keeps_tokens() -> None:
    g = guard()
    first = g.inspect(
        slots(f"号码{PHONE}"), upstream_region="US", tenant="t", user="u", separate_consent=False
    )
    s = slots(f"还是{PHONE}，另一个13912345678")
    g.inspect(s, upstream_region="US", tenant="t", user="u", separate_consent=False, vault=first.vault)
    assert s[0].text == "还是[PHONE_1]，另一个[PHONE_2]"


ANSWER_TOKENS = "好的，[NAME_1]，我会拨打[PHONE_1]，并核对证件[ID_NUMBER_1]。[PHONE_9]不是我发的。"


def _vault() -> Any:
    g = guard()
    d = g.inspect(
        slots(f"我叫王小明，电话{PHONE}，身份证{RID}"),
        upstream_region="US",
        tenant="t",
        user="u",
        separate_consent=True,
    )
    return d.vault


EXPECTED = f"好的，王小明，我会拨打{PHONE}，并核对证件{RID}。[PHONE_9]不是我发的。"


def test_whole_answer_restored() -> None:
    assert EgressGuard.restore(ANSWER_TOKENS, _vault()) == EXPECTED


@pytest.mark.parametrize("cut", range(len(ANSWER_TOKENS) + 1))
def test_streamed_answer_restored_at_every_split(cut: int) -> None:
    r = EgressGuard.restorer(_vault())
    out = r.feed(0, ANSWER_TOKENS[:cut]) + r.feed(0, ANSWER_TOKENS[cut:]) + r.finish(0)
    assert out == EXPECTED


def test_streamed_answer_char_by_char_two_slots() -> None:
    r = EgressGuard.restorer(_vault())
    outs = {0: "", 1: ""}
    for ch in ANSWER_TOKENS:
        outs[0] += r.feed(0, ch)
        outs[1] += r.feed(1, ch)
    assert sorted(r.pending_keys()) == [0, 1]  # type: ignore[type-var]
    outs[0] += r.finish(0)
    outs[1] += r.finish(1)
    assert outs == {0: EXPECTED, 1: EXPECTED} and r.finish(2) == ""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"entities": ["nope"]}, "unknown personal-information entities"),
        ({"person_entities": ["nope"]}, "person_entities"),
        ({"sensitive_terms": {"religion": ["x"]}}, "sensitive_terms"),
        ({"year_timezone": "Mars/Base"}, "year_timezone"),
        ({"assessment_persons": 10}, "assessment_persons"),
        ({"warn_ratio": 0}, "greater than 0"),
    ],
)
def test_policy_validation(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EgressPolicy(**options)


def test_short_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="salt"):
        EgressGuard(EgressPolicy(), "CN", b"short")
