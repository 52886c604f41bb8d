"""The end user's record outlives the process: two apps, one after the other, on one data directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.gateway.conftest import BASE_POLICY

from hegui.gateway import create_app
from hegui.policy import parse_policy
from hegui.records.audit import iter_entries, verify_chain
from hegui.settings import Settings

TERM = "演示违禁词"
SPLIT = """
[[checks]]
name = "split"
type = "split_turns"
stages = ["input"]
terms = ["演示违禁词"]
"""


class Apps:
    """Starts gateways on one data directory; each `start` stops the one before (a restart)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.current: TestClient | None = None

    def start(self, records: str = "", *, admin: bool = False) -> TestClient:
        self.stop()
        policy = parse_policy(BASE_POLICY + SPLIT + (f"[records]\n{records}\n" if records else ""), "t.toml")
        app = create_app(Settings(data_dir=self.data_dir), policy=policy)  # type: ignore[call-arg]
        role = {"role": "admin", "channel": "api"} if admin else {}
        key, _ = app.state.hegui.keys.create(name="test", **role)
        self.current = TestClient(app, headers={"authorization": f"Bearer {key}"})
        self.current.__enter__()
        return self.current

    def stop(self) -> None:
        if self.current is not None:
            self.current.__exit__(None, None, None)
            self.current = None


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Apps]:
    a = Apps(tmp_path / "data")
    yield a
    a.stop()


def chat(client: TestClient, content: str, user: str = "u1", session: str | None = None) -> Any:
    headers = {"x-hegui-session": session} if session else {}
    body = {"model": "hegui-demo", "messages": [{"role": "user", "content": content}], "user": user}
    return client.post("/v1/chat/completions", json=body, headers=headers)


def _suspend(client: TestClient, user: str = "u1") -> None:
    for i in range(5):  # the default ladder suspends at the fifth violation
        assert chat(client, f"{TERM} {i}", user).json()["choices"][0]["finish_reason"] == "content_filter"
    assert chat(client, "你好", user).json()["error"]["code"] == "user_suspended"


@pytest.mark.parametrize(
    ("records", "suspended_after_restart"),
    [("", True), ('sanction_store = "database"', True), ('sanction_store = "memory"', False)],
)
def test_a_suspension_survives_a_restart_on_the_database(
    apps: Apps, records: str, suspended_after_restart: bool
) -> None:
    _suspend(apps.start(records))
    after = chat(apps.start(records), "你好")
    assert (after.status_code == 403) is suspended_after_restart
    if suspended_after_restart:
        assert after.json()["error"]["code"] == "user_suspended"
    assert chat(apps.current, "你好", user="u2").status_code == 200  # type: ignore[arg-type]


def test_lift_after_a_restart_serves_the_user_again_and_is_audited(apps: Apps) -> None:
    _suspend(apps.start())
    admin = apps.start(admin=True)
    r = admin.get("/hegui/api/users/u1/sanctions")
    assert (r.json()["level"], r.json()["may_use"], len(r.json()["steps"])) == ("suspend", False, 3)
    r = admin.post(
        "/hegui/api/users/u1/sanctions", json={"level": "warn", "by": "staff:li", "reason": "申诉成立"}
    )
    assert r.status_code == 201 and r.json()["record"]["level"] == "warn"
    client = apps.start()
    assert chat(client, "你好").status_code == 200
    engine = client.app.state.hegui.engine  # type: ignore[attr-defined]
    manual = [e for e in iter_entries(engine) if e.stage == "sanction" and json.loads(e.detail).get("manual")]
    assert [(e.action, e.end_user, json.loads(e.detail)["decided_by"]) for e in manual] == [
        ("warn", "u1", "staff:li")
    ]
    report = verify_chain(engine)  # raises when the chain does not verify
    assert report.entries == report.head_seq >= 6


@pytest.mark.parametrize(("records", "caught"), [('memory_store = "database"', True), ("", False)])
def test_session_memory_survives_a_restart_only_in_the_database(
    apps: Apps, records: str, caught: bool
) -> None:
    assert (
        chat(apps.start(records), "请告诉我演示违", session="s1").json()["choices"][0]["finish_reason"]
        == "stop"
    )
    second = chat(apps.start(records), "禁词是什么", session="s1").json()
    assert (second["choices"][0]["finish_reason"] == "content_filter") is caught


# A store read inside a check fails the check (the pipeline's rule: CheckFailed, 500); the standing
# check before it is the store's own StorageError (503). Either way nothing is answered.
@pytest.mark.parametrize(
    ("records", "table", "status", "code"),
    [
        ("", "sanction_steps", 503, "storage_unavailable"),
        ('memory_store = "database"', "memory_turns", 500, "check_failed"),
    ],
)
def test_a_store_that_cannot_be_read_serves_nothing(
    apps: Apps, records: str, table: str, status: int, code: str
) -> None:
    from sqlalchemy import text

    client = apps.start(records)
    with client.app.state.hegui.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f"DROP TABLE {table}"))
    r = chat(client, "你好", session="s1")
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert "choices" not in r.json()
