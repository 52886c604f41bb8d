"""`hegui keys limit` and `hegui keys revoke` with the replicas' events, and the revoke API."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from hegui.cli import app
from hegui.cluster.config import Quota
from hegui.cluster.events import Event, EventKind
from hegui.records.db import make_engine
from hegui.records.key_limits import KeyLimits

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HEGUI_DATA_DIR": str(tmp_path / "data"), "HEGUI_POLICY_FILE": ""}


def _key(env: dict[str, str]) -> str:
    result = runner.invoke(app, ["keys", "create", "--name", "k"], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_keys_limit_sets_and_clears_a_keys_own_quota(env: dict[str, str]) -> None:
    key = _key(env)
    result = runner.invoke(
        app, ["keys", "limit", key[:11], "--requests-per-minute", "5", "--concurrent-streams", "2"], env=env
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "key 1: 5 requests/min, 0 tokens/min, 2 concurrent streams (0: unlimited)\n"
    engine = make_engine(f"sqlite:///{Path(env['HEGUI_DATA_DIR']) / 'hegui.db'}")
    assert KeyLimits(engine).all() == {1: Quota(requests_per_minute=5, concurrent_streams=2)}
    result = runner.invoke(app, ["keys", "limit", "1", "--clear"], env=env)
    assert (result.exit_code, result.stdout) == (0, "key 1: own quota removed; [limits.key] applies\n")
    assert KeyLimits(engine).all() == {}
    result = runner.invoke(app, ["keys", "limit", "nope"], env=env)
    assert result.exit_code == 2 and "no single key matches 'nope'" in result.output


def test_keys_revoke_and_limit_tell_the_replicas(
    env: dict[str, str], redis_url: str, redis_node_url: str
) -> None:
    key = _key(env)
    listener = redis.Redis.from_url(redis_node_url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe("hegui:events")
    env = env | {"HEGUI_REDIS_URL": redis_url}
    assert runner.invoke(app, ["keys", "limit", "1", "--requests-per-minute", "3"], env=env).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", key[:11]], env=env).exit_code == 0
    kinds = []
    deadline = time.monotonic() + 5
    while len(kinds) < 2 and time.monotonic() < deadline:
        message = listener.get_message(timeout=0.5)
        if message is not None:
            kinds.append(Event.decode(message["data"]).kind)
    listener.close()
    assert kinds == [EventKind.KEY_CHANGED, EventKind.KEY_CHANGED]


def test_data_delete_tells_the_replicas(env: dict[str, str], redis_url: str, redis_node_url: str) -> None:
    listener = redis.Redis.from_url(redis_node_url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe("hegui:events")
    result = runner.invoke(
        app, ["data", "delete", "u-1", "--tenant", "t-1"], env=env | {"HEGUI_REDIS_URL": redis_url}
    )
    assert result.exit_code == 0, result.output
    message = None
    deadline = time.monotonic() + 5
    while message is None and time.monotonic() < deadline:
        message = listener.get_message(timeout=0.5)
    listener.close()
    assert message is not None
    event = Event.decode(message["data"])
    assert (event.kind, event.data) == (EventKind.USER_ERASED, {"tenant": "t-1", "user": "u-1"})
