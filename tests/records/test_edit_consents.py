"""Edit consents (DS-02) on SQLite and PostgreSQL, and the edit routes' consent decision on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from hegui.errors import RecordNotFound, RequestError
from hegui.gateway.edit_consent import decide, header_ids, notice
from hegui.media.config import MediaPolicy
from hegui.persons.model import Kind, Person
from hegui.records.edit_consents import EditConsents
from hegui.records.persons_store import PersonRegistry

T0 = datetime(2026, 11, 1, tzinfo=UTC)
POLICY = MediaPolicy()


def _record(store: EditConsents, **kw: object) -> object:
    base: dict[str, object] = {
        "tenant": "default",
        "subject": "同事甲",
        "scopes": ("likeness",),
        "purpose": "年会视频",
        "consented_by": "同事甲本人",
        "evidence": "signed-form-1",
        "recorded_by": "ops",
        "at": T0,
    }
    return store.record(**(base | kw))  # type: ignore[arg-type]


def test_record_get_list_revoke(engine: Engine) -> None:
    store = EditConsents(engine)
    c = _record(store, expires_at=T0 + timedelta(days=30))
    got = store.get(c.id, "default")  # type: ignore[attr-defined]
    assert got == c and store.get(c.id, "other") is None  # type: ignore[attr-defined]
    assert got is not None and got.covers("likeness", T0 + timedelta(days=1))
    assert not got.covers("voice", T0 + timedelta(days=1))
    assert not got.covers("likeness", T0 + timedelta(days=31))  # expired
    assert [x.id for x in store.list("default")] == [c.id] and store.list("other") == []  # type: ignore[attr-defined]
    with pytest.raises(RecordNotFound):
        store.revoke(c.id, by="ops", reason="撤回", tenant="other")  # type: ignore[attr-defined]
    r = store.revoke(c.id, by="ops", reason="本人撤回", at=T0 + timedelta(days=2))  # type: ignore[attr-defined]
    assert not r.active(T0 + timedelta(days=3)) and r.active(T0 + timedelta(days=1))
    with pytest.raises(RequestError, match="already revoked"):
        store.revoke(c.id, by="ops", reason="again")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("subject", " ", "subject"),
        ("evidence", "", "evidence"),
        ("consented_by", "", "consented_by"),
        ("scopes", (), "scopes"),
        ("scopes", ("face",), "scopes"),
        ("expires_at", T0, "expiry"),
    ],
)
def test_a_consent_nobody_can_show_is_refused(
    engine: Engine, field: str, value: object, message: str
) -> None:
    with pytest.raises(RequestError, match=message):
        _record(EditConsents(engine), **{field: value})


def test_a_person_key_must_be_registered(engine: Engine) -> None:
    with pytest.raises(RecordNotFound):
        _record(EditConsents(engine), person_key="nobody")


def test_decide(engine: Engine) -> None:
    PersonRegistry(engine).add(Person("chen", "陈思远", Kind.LICENSED, misspellings=("陈斯远",)))
    store = EditConsents(engine)
    now = T0 + timedelta(days=1)
    # nothing biometric: no consent needed
    assert decide(engine, POLICY, "default", "把背景换成海边", (), now).allowed
    # a registered person's face, no consent on record: refused, and the notice says what the rule asks
    d = decide(engine, POLICY, "default", "把脸换成陈斯远的脸", (), now)
    assert not d.allowed and d.persons == ("chen",) and d.missing == ("likeness:chen",)
    assert "单独同意" in notice(POLICY, d) and "人脸" in notice(POLICY, d)
    chen = _record(store, subject="陈思远", person_key="chen")
    d = decide(engine, POLICY, "default", "把脸换成陈斯远的脸", (), now)
    assert d.allowed and d.used == (chen.id,)  # type: ignore[attr-defined]
    assert not decide(engine, POLICY, "other", "把脸换成陈思远的脸", (), now).allowed  # another tenant
    # nobody registered named: the consent must be named in the header
    assert not decide(engine, POLICY, "default", "帮我换脸", (), now).allowed
    other = _record(store)
    assert decide(engine, POLICY, "default", "帮我换脸", (other.id,), now).allowed  # type: ignore[attr-defined]
    d = decide(engine, POLICY, "default", "帮我换脸", ("f" * 32,), now)
    assert not d.allowed and "not on record" in d.problems[0]
    # a likeness consent does not cover a voice change
    assert not decide(engine, POLICY, "default", "把声音变成女声", (other.id,), now).allowed  # type: ignore[attr-defined]
    # the policy decides which scopes need a consent
    relaxed = MediaPolicy(edit_consent_scopes=["voice"])
    assert decide(engine, relaxed, "default", "帮我换脸", (), now).allowed
    assert decide(engine, relaxed, "default", "去掉水印", (), now).allowed
    strict = MediaPolicy(edit_consent_scopes=["brand"])
    assert not decide(engine, strict, "default", "去掉水印", (), now).allowed


def test_header_ids() -> None:
    assert header_ids(None) == () and header_ids(" a , b,a ") == ("a", "b")


def test_the_notice_is_the_policys(engine: Engine) -> None:
    """``[media] edit_notice`` is the refusal's text, with {what} / {what_en} filled in per scope."""
    policy = MediaPolicy(
        edit_notice="请先取得被编辑人对{what}的书面同意。Get written consent for the {what_en}.",
        edit_consent_scopes=["likeness", "voice", "brand"],
    )
    now = T0 + timedelta(days=1)
    d = decide(engine, policy, "default", "帮我换脸", (), now)
    assert (
        notice(policy, d)
        == "请先取得被编辑人对人脸或肖像的书面同意。Get written consent for the face or likeness."
    )
    d = decide(engine, policy, "default", "把商标改成我们的logo", (), now)
    assert notice(policy, d).startswith("请先取得被编辑人对商标或标识的书面同意。")
    d = decide(engine, policy, "default", "帮我换脸", ("f" * 32,), now)  # a named consent nobody recorded
    assert notice(policy, d).endswith("(consent " + "f" * 32 + " is not on record for this tenant)")
