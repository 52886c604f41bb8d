"""Reversible pseudonymization: tokens out, originals back, whole and streamed."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.pii import Pseudonymizer, PseudonymVault

TEXT = "我是张三的助理，电话13812345678，邮箱zhang.san@example.com，再打13812345678。"


def test_pseudonymize_and_restore() -> None:
    p = Pseudonymizer()
    vault = PseudonymVault()
    out = p.pseudonymize(TEXT, vault)
    assert out.text == "我是张三的助理，电话[PHONE_1]，邮箱[EMAIL_1]，再打[PHONE_1]。"
    assert [m.entity for m in out.matches] == ["mobile", "email", "mobile"]
    assert len(vault) == 2
    answer = "好的，我会联系[PHONE_1]并抄送[EMAIL_1]。"
    assert p.restore(answer, vault) == "好的，我会联系13812345678并抄送zhang.san@example.com。"


def test_tokens_already_in_the_users_text_are_never_issued_nor_restored() -> None:
    p = Pseudonymizer()
    vault = PseudonymVault()
    text = "模板里写着[PHONE_1]，我的号码是13912345678"
    out = p.pseudonymize(text, vault)
    assert out.text == "模板里写着[PHONE_1]，我的号码是[PHONE_2]"
    assert p.restore("[PHONE_1] / [PHONE_2] / [EMAIL_9]", vault) == "[PHONE_1] / 13912345678 / [EMAIL_9]"


def test_same_value_same_token_across_turns_and_vault_round_trip() -> None:
    p = Pseudonymizer()
    vault = PseudonymVault()
    first = p.pseudonymize("号码13812345678", vault).text
    again = PseudonymVault.from_json(vault.to_json())
    second = p.pseudonymize("还是13812345678，另一个13912345678", again).text
    assert first == "号码[PHONE_1]"
    assert second == "还是[PHONE_1]，另一个[PHONE_2]"


def test_from_json_rejects_non_tokens() -> None:
    with pytest.raises(ValueError, match="not a pseudonym token"):
        PseudonymVault.from_json({"PHONE_1": "13812345678"})


def _stream(vault: PseudonymVault, chunks: list[str]) -> str:
    r = Pseudonymizer().restorer(vault)
    return "".join(r.feed(c) for c in chunks) + r.finish()


@pytest.mark.parametrize("split", range(len("联系[PHONE_1]或[EMAIL_1]。[未完")))
def test_stream_restorer_every_single_split(split: int) -> None:
    vault = PseudonymVault()
    Pseudonymizer().pseudonymize("13812345678 a@example.com", vault)
    answer = "联系[PHONE_1]或[EMAIL_1]。[未完"
    assert _stream(vault, [answer[:split], answer[split:]]) == Pseudonymizer.restore(answer, vault)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["[PHONE_1]", "[EMAIL_1]", "[", "]", "PHONE", "_1", "文本", " ", "[X_2]"]),
        max_size=12,
    ),
    st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_stream_restorer_equals_whole_restore(parts: list[str], cuts: list[int]) -> None:
    vault = PseudonymVault()
    Pseudonymizer().pseudonymize("13812345678 a@example.com", vault)
    answer = "".join(parts)
    bounds = sorted({min(c, len(answer)) for c in cuts} | {0, len(answer)})
    chunks = [answer[a:b] for a, b in itertools.pairwise(bounds)]
    assert _stream(vault, chunks) == Pseudonymizer.restore(answer, vault)


def test_stream_restorer_holds_back_only_a_possible_token() -> None:
    vault = PseudonymVault()
    Pseudonymizer().pseudonymize("13812345678", vault)
    r = Pseudonymizer().restorer(vault)
    assert r.feed("你好[PHO") == "你好"
    assert r.feed("NE_1]再见[") == "13812345678再见"
    assert r.feed("注") == "[注"
    assert r.finish() == ""
