"""Issue 12.6: the ladder counts incidents (a burst is one), notices match any count, times are shown in
the service's time zone with the offset, and a sanction names where to appeal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hegui.errors import ConfigError
from hegui.guard.refusals import RefusalCatalog
from hegui.guard.sanctions import InMemorySanctionStore, SanctionLadder, SanctionPolicy, Violation
from hegui.guard.types import Action
from hegui.policy import bundled_policy_text, parse_policy

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def levels(policy: SanctionPolicy, seconds: list[int]) -> list[str]:
    ladder, store = SanctionLadder(policy), InMemorySanctionStore()
    out = []
    for s in seconds:
        step = ladder.record(store, Violation("t", "u", T0 + timedelta(seconds=s), Action.REFUSE))
        out.append(step.level.value if step else "-")
    return out


@pytest.mark.parametrize(
    ("incident_minutes", "seconds", "expected"),
    [
        # five refused prompts within seconds: one incident, one warning (not a seven-day suspension)
        (10, [0, 2, 4, 6, 8], ["warn", "-", "-", "-", "-"]),
        # the same five, an hour apart: five incidents climb the ladder
        (10, [0, 3600, 7200, 10800, 14400], ["warn", "-", "restrict", "-", "suspend"]),
        # a burst stays one incident only for incident_minutes after its first violation
        (10, [0, 300, 599, 600, 1199, 1200], ["warn", "-", "-", "-", "-", "restrict"]),
        # 0: every violation is an incident (the behaviour before incidents)
        (0, [0, 2, 4, 6, 8], ["warn", "-", "restrict", "-", "suspend"]),
    ],
)
def test_incidents(incident_minutes: int, seconds: list[int], expected: list[str]) -> None:
    assert levels(SanctionPolicy(incident_minutes=incident_minutes), seconds) == expected


def test_incident_counting() -> None:
    ladder = SanctionLadder(SanctionPolicy(incident_minutes=10))
    minutes = [0, 1, 9, 10, 11, 25, 26]
    assert ladder.incidents([T0 + timedelta(minutes=m) for m in minutes]) == 3  # [0,1,9] [10,11] [25,26]
    assert ladder.incidents([]) == 0


def test_the_first_warning_does_not_say_several() -> None:
    warning = RefusalCatalog().notice("warn", language="zh")
    assert "多次" not in warning and warning.startswith("提醒：您的请求涉及违规内容")
    assert "several" not in RefusalCatalog().notice("warn", language="en")


def test_suspension_end_in_the_configured_zone_with_offset() -> None:
    until = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    assert "2026-12-07 10:00 (UTC+08:00)" in RefusalCatalog().notice("suspend", until=until)
    text = bundled_policy_text().replace('time_zone = "Asia/Shanghai"', 'time_zone = "Europe/Berlin"')
    policy = parse_policy(text, "p.toml")
    zone = RefusalCatalog(policy.refusals, time_zone=policy.provider.time_zone)
    assert "2026-12-07 03:00 (UTC+01:00)" in zone.notice("suspend", until=until)


def test_an_unknown_zone_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"provider\.time_zone.*unknown time zone 'Mars/Olympus'"):
        parse_policy(
            '[provider]\ntime_zone = "Mars/Olympus"\n[[upstreams]]\nname="d"\ntype="demo"\nmodels=["m"]\n',
            "p",
        )


def test_the_appeal_channel_is_named() -> None:
    catalog = RefusalCatalog(appeal="appeal@example.cn")
    for kind in ("restrict", "suspend", "terminate"):
        assert "appeal@example.cn" in catalog.notice(kind, until=T0, language="zh")  # type: ignore[arg-type]
