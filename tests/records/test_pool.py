"""Training-pool admission rules, consent ledger, export, tombstones and `check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from hegui.errors import RecordNotFound, RequestError
from hegui.records.config import RecordsPolicy
from hegui.records.consent import consent_at, history, record_consent
from hegui.records.export import check_export, export_pool
from hegui.records.pool import Admission, admit_to_pool, pool_size, rejections

POLICY = RecordsPolicy()
PROMPT = "请给我讲一个关于小猫钓鱼的故事，要有趣一点"
ANSWER = "从前有一只小猫，它去河边钓鱼……"


def admit(
    engine: Engine, user: str | None, channel: str, rid: str, prompt: str = PROMPT, **kw: Any
) -> Admission:
    args: dict[str, Any] = {"input_action": "allow", "output_action": "allow", "answer": ANSWER} | kw
    return admit_to_pool(
        engine,
        POLICY,
        tenant="t",
        user=user,
        channel=channel,
        request_id=rid,
        prompt=prompt,
        **args,
    )


@pytest.mark.parametrize(
    ("user", "channel", "kw", "reason"),
    [
        ("u", "chat", {}, "admitted"),
        ("u", "api", {}, "no_consent"),
        (None, "chat", {}, "no_user"),
        ("u", "chat", {"input_action": "refuse"}, "refused_or_masked"),
        ("u", "chat", {"output_action": "mask"}, "refused_or_masked"),
        ("u", "chat", {"input_action": "label"}, "admitted"),
        ("u", "chat", {"prompt": "13800138000"}, "too_short"),
    ],
)
def test_admission_rules(
    engine: Engine, user: str | None, channel: str, kw: dict[str, Any], reason: str
) -> None:
    result = admit(engine, user, channel, "r1", **kw)
    assert result.reason == reason
    assert pool_size(engine) == (1 if reason == "admitted" else 0)
    if reason != "admitted":
        assert [r.reason for r in rejections(engine, request_id="r1")] == [reason]


def test_personal_information_is_scrubbed(engine: Engine, tmp_path: Path) -> None:
    result = admit(
        engine, "u", "chat", "r1", prompt="我的手机号是13800138000，身份证11010519491231002X，帮我写封信"
    )
    assert result.admitted
    assert result.scrubbed == ("mobile", "resident_id")
    lines = export_pool(engine, tmp_path / "e")
    text = (tmp_path / "e" / "records.jsonl").read_text()
    assert lines.records == 1 and "13800138000" not in text and "[mobile]" in text


def test_near_duplicates_are_not_admitted(engine: Engine) -> None:
    assert admit(engine, "u", "chat", "r1").admitted
    assert admit(engine, "u2", "chat", "r2", prompt=PROMPT.replace("一点", "一些")).reason == "near_duplicate"
    assert admit(engine, "u2", "chat", "r3", prompt="用三句话解释量子纠缠是什么意思").admitted
    assert pool_size(engine) == 2


def test_consent_is_judged_at_collection_time(engine: Engine) -> None:
    ev = record_consent(engine, "t", "u", True, channel="api", at="2026-01-02T00:00:00.000000Z").event
    assert consent_at(engine, POLICY, "t", "u", "api", "2026-01-01T00:00:00.000000Z").granted is False
    state = consent_at(engine, POLICY, "t", "u", "api", "2026-01-03T00:00:00.000000Z")
    assert (state.granted, state.event_id, state.basis) == (True, ev.id, "event")
    assert admit(engine, "u", "api", "old", at="2026-01-01T12:00:00.000000Z").reason == "no_consent"
    assert admit(engine, "u", "api", "new", at="2026-01-02T12:00:00.000000Z").admitted
    record_consent(engine, "t", "u", False, channel="api", at="2026-01-04T00:00:00.000000Z")
    assert consent_at(engine, POLICY, "t", "u", "api", "2026-01-03T00:00:00.000000Z").granted is True
    assert consent_at(engine, POLICY, "t", "u", "api", "2026-01-05T00:00:00.000000Z").granted is False
    assert [e.granted for e in history(engine, "t", "u")] == [True, False]
    with pytest.raises(RequestError):
        record_consent(engine, "t", "u", True, channel="fax")


def test_export_withdrawal_and_check(engine: Engine, tmp_path: Path) -> None:
    assert admit(engine, "alice", "chat", "a1").admitted
    assert admit(engine, "bob", "chat", "b1", prompt="写一首关于秋天的五言绝句").admitted
    first = export_pool(engine, tmp_path / "e1")
    assert first.records == 2
    manifest = json.loads((tmp_path / "e1" / "manifest.json").read_text())
    assert manifest["count"] == 2 and {r["consent_basis"] for r in manifest["records"]} == {"default:chat"}
    assert all(r["rules_version"] == "1" for r in manifest["records"])
    assert check_export(engine, tmp_path / "e1").clean
    change = record_consent(engine, "t", "alice", False, channel="chat")
    assert change.tombstoned == 1
    second = export_pool(engine, tmp_path / "e2")
    lines = (tmp_path / "e2" / "records.jsonl").read_text().splitlines()
    assert second.records == 1 and PROMPT not in "".join(lines)
    report = check_export(engine, tmp_path / "e1")
    assert [f.reason for f in report.flagged] == ["withdrawn"] and report.intact
    assert check_export(engine, tmp_path / "e2").clean
    with pytest.raises(RequestError):
        export_pool(engine, tmp_path / "e2")
    with pytest.raises(RecordNotFound):
        check_export(engine, tmp_path)


def test_check_notices_an_edited_export(engine: Engine, tmp_path: Path) -> None:
    admit(engine, "u", "chat", "r1")
    export_pool(engine, tmp_path / "e")
    with (tmp_path / "e" / "records.jsonl").open("a") as fh:
        fh.write("{}\n")
    assert check_export(engine, tmp_path / "e").intact is False
