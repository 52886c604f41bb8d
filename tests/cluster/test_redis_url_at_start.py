"""A malformed HEGUI_REDIS_URL stops `hegui serve` before it touches the database, naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from servers import VENV_BIN, free_port, hegui_env

from hegui.errors import ConfigError
from hegui.settings import load_settings


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis-cluster://a:7000", "a Redis Cluster is redis+cluster://"),
        ("redis+cluster://a:7000/3", "only database 0"),
        ("redis+cluster://a:7000,,b:7001", "an empty host"),
    ],
)
def test_the_settings_refuse_a_malformed_url(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(redis_url=url)
    assert caught.value.key == "HEGUI_REDIS_URL"
    assert says in str(caught.value)


def test_a_well_formed_url_is_kept_as_written() -> None:
    assert (
        load_settings(redis_url="redis+cluster://a:7000,b:7001").redis_url == "redis+cluster://a:7000,b:7001"
    )
    assert load_settings(redis_url="").redis_url is None


def test_serve_stops_before_the_database_is_made(tmp_path: Path) -> None:
    env = {**os.environ, **hegui_env(tmp_path / "data"), "HEGUI_REDIS_URL": "redis+cluster://a:7000/3"}
    out = subprocess.run(
        [str(VENV_BIN / "hegui"), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "HEGUI_REDIS_URL" in out.stderr
    assert "only database 0" in out.stderr
    assert not (tmp_path / "data" / "hegui.db").exists()
