"""Agreements, acceptance, verification and may_serve."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from hegui.errors import RecordNotFound, RequestError
from hegui.records.agreements import accept, acceptances, current, may_serve, publish, set_verification
from hegui.records.config import RecordsPolicy


def test_publish_and_accept(engine: Engine) -> None:
    publish(engine, "service", "1", "服务协议 v1", tenant="t")
    publish(engine, "service", "2", "服务协议 v2", tenant="t")
    assert current(engine, "service", tenant="t").version == "2"  # type: ignore[union-attr]
    with pytest.raises(RequestError, match="already published"):
        publish(engine, "service", "2", "again", tenant="t")
    with pytest.raises(RecordNotFound):
        accept(engine, "t", "u", "service", "9", "chat")
    with pytest.raises(RecordNotFound):
        accept(engine, "t", "u", "privacy", None, "chat")
    a = accept(engine, "t", "u", "service", None, "chat")
    assert (a.version, a.channel) == ("2", "chat")
    assert [x.version for x in acceptances(engine, "t", "u")] == ["2"]


@pytest.mark.parametrize(
    ("agreement", "verification", "steps", "expected"),
    [
        (False, False, [], (True, "")),
        (True, False, [], (False, "no service agreement is published")),
        (True, False, ["publish"], (False, "has not accepted service")),
        (True, False, ["publish", "accept"], (True, "")),
        (True, True, ["publish", "accept"], (False, "not real-name verified")),
        (True, True, ["publish", "accept", "verify"], (True, "")),
        (False, True, ["verify", "unverify"], (False, "not real-name verified")),
        (
            True,
            False,
            ["publish", "accept", "republish"],
            (False, "has not accepted service agreement version 2"),
        ),
    ],
)
def test_may_serve(
    engine: Engine, agreement: bool, verification: bool, steps: list[str], expected: tuple[bool, str]
) -> None:
    for step in steps:
        if step == "publish":
            publish(engine, "service", "1", "s", tenant="t")
            publish(engine, "privacy", "1", "p", tenant="t")
        elif step == "republish":
            publish(engine, "service", "2", "s2", tenant="t")
        elif step == "accept":
            accept(engine, "t", "u", "service", None, "api")
            accept(engine, "t", "u", "privacy", None, "api")
        elif step in ("verify", "unverify"):
            set_verification(engine, "t", "u", step == "verify")
    policy = RecordsPolicy(require_agreement=agreement, require_verification=verification)
    ok, reason = may_serve(engine, policy, "t", "u", "api")
    assert ok is expected[0]
    assert expected[1] in reason if expected[1] else reason == ""


def test_may_serve_needs_a_user_when_required(engine: Engine) -> None:
    assert may_serve(engine, RecordsPolicy(require_verification=True), "t", None, "api")[0] is False
