"""What a hot policy reload may swap, and what it refuses (hegui.gateway.policy_reload), in-process.
The started-server behaviour (admin API, SIGHUP, streams, replicas, workers) is tests/e2e/test_policy_reload.py."""

from __future__ import annotations

import gc
import logging
import os
import signal
import time
import weakref
from pathlib import Path

import pytest
from pydantic import BaseModel
from starlette.testclient import TestClient

from hegui.cluster.events import Event, EventKind
from hegui.gateway import create_app
from hegui.gateway.http import PINNED_STATE
from hegui.gateway.policy_reload import (
    RESTART_SECTIONS,
    SWAPPED_FIELDS,
    SWAPPED_SECTIONS,
    EarlySighup,
    restart_needed,
)
from hegui.policy import Policy, parse_policy
from hegui.settings import Settings

BASE = """
version = "1"
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]
[[checks]]
name = "deny"
type = "denylist"
terms = ["重载单元测试词"]
"""


def test_every_section_of_the_policy_is_classified_once() -> None:
    """A new policy section must be decided on (swapped, partly swapped, or restart): none slips in as
    swappable by default."""
    sections = set(Policy.model_fields) - {"source", "digest"}
    classified = [*SWAPPED_SECTIONS, *SWAPPED_FIELDS, *RESTART_SECTIONS]
    assert sorted(classified) == sorted(sections)
    for section, fields in SWAPPED_FIELDS.items():
        model = Policy.model_fields[section].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        assert fields <= set(model.model_fields), f"{section}: {sorted(fields - set(model.model_fields))}"


@pytest.mark.parametrize(
    ("addition", "needed"),
    [
        ('[guard]\npreset = "strict"', []),
        ('[refusals]\nlanguage = "zh"', []),
        ("[gateway]\nrecent_turns = 2", []),
        ('[gateway]\nrefusal_text = "不行"', []),
        ("[gateway]\nmax_n = 2", ["gateway.max_n"]),
        ("[gateway]\nrequest_deadline = 30.0\nrecent_turns = 2", ["gateway.request_deadline"]),
        ("[sanctions]\nwarn_after = 2", []),
        ("[sanctions]\nwindow_days = 7", ["sanctions.window_days"]),
        ('[provider]\nregion = "HK"', ["provider"]),
        ("[limits]\nstream_lease_seconds = 99", ["limits"]),
        ("[records]\nconsent_default_chat = false", ["records"]),
        ('[media]\nimage_parts = "pass_with_label"', ["media"]),
    ],
)
def test_restart_needed(addition: str, needed: list[str]) -> None:
    old = parse_policy(BASE, "a.toml")
    new = parse_policy(BASE + "\n" + addition + "\n", "a.toml")
    assert restart_needed(old, new) == needed


def test_an_added_check_and_a_new_version_swap() -> None:
    old = parse_policy(BASE, "a.toml")
    new = parse_policy(
        BASE.replace('version = "1"', 'version = "2"')
        + '[[checks]]\nname = "more"\ntype = "denylist"\nterms = ["另一个词"]\n',
        "a.toml",
    )
    assert restart_needed(old, new) == []


def test_an_upstream_change_needs_a_restart() -> None:
    old = parse_policy(BASE, "a.toml")
    new = parse_policy(BASE.replace('models = ["hegui-demo"]', 'models = ["hegui-demo", "other"]'), "a.toml")
    assert restart_needed(old, new) == ["upstreams"]


def test_a_gateway_on_the_bundled_policy_has_no_file_to_reload(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    key, _ = app.state.hegui.keys.create(name="t", role="admin")
    with TestClient(app, headers={"authorization": f"Bearer {key}"}) as client:
        refused = client.post("/hegui/api/policy/reload")
        assert refused.status_code == 409
        assert "set HEGUI_POLICY_FILE" in refused.json()["error"]["message"]
        assert client.get("/hegui/api/policy").json()["file"] == "<bundled>"


def test_a_reload_swaps_the_pipeline_and_a_request_keeps_its_pin(tmp_path: Path) -> None:
    policy = tmp_path / "hegui.toml"
    policy.write_text(BASE, encoding="utf-8")
    app = create_app(Settings(data_dir=tmp_path / "data", policy_file=policy))
    state = app.state.hegui
    key, _ = state.keys.create(name="t", role="admin")
    with TestClient(app, headers={"authorization": f"Bearer {key}"}) as client:
        before = state.pipeline
        pinned = state.pinned()
        policy.write_text(BASE.replace("重载单元测试词", "重载单元测试词二"), encoding="utf-8")
        done = client.post("/hegui/api/policy/reload")
        assert done.status_code == 200, done.text
        assert state.pipeline is not before and state.policy.full_version == done.json()["version"]
        assert pinned.pipeline is before  # what a request pinned before the swap still serves it
        # One pin per request, however many times the request asks.
        seen = client.get("/hegui/api/policy").json()
        assert seen["version"] == done.json()["version"] and seen["checks"] == ["deny"]
        # Once nothing pins it, the replaced pipeline is freed (two reloads never hold three).
        gone = weakref.ref(before)
        del before, pinned
        gc.collect()
        assert gone() is None
    assert PINNED_STATE == "hegui.state"


def test_a_sighup_while_the_gateway_is_built_is_noted_not_fatal() -> None:
    previous = signal.getsignal(signal.SIGHUP)
    try:
        early = EarlySighup.catch()
        os.kill(os.getpid(), signal.SIGHUP)  # the default action would end this process
        assert early.seen
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_another_replicas_word_reloads_this_ones_file_and_says_when_they_differ(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = tmp_path / "hegui.toml"
    policy.write_text(BASE, encoding="utf-8")
    app = create_app(Settings(data_dir=tmp_path / "data", policy_file=policy))
    state = app.state.hegui
    with TestClient(app), caplog.at_level(logging.INFO, logger="hegui.gateway.policy_reload"):
        policy.write_text(BASE.replace('version = "1"', 'version = "2"'), encoding="utf-8")
        # As the event dispatcher calls it: from a thread; the reload runs on the gateway's loop.
        state.reloader.on_event(Event(EventKind.POLICY_RELOAD, "replica-a", {"version": "3+abc"}))
        deadline = time.monotonic() + 10
        while not any("policy files differ" in r.message for r in caplog.records):
            assert time.monotonic() < deadline, [r.message for r in caplog.records]
            time.sleep(0.02)
    assert state.policy.version == "2"
    (warning,) = [
        r for r in caplog.records if r.name.endswith("policy_reload") and r.levelno == logging.WARNING
    ]
    assert "the replica replica-a reloaded the policy to 3+abc" in warning.message
