"""/readyz through the real app: each probe on the state's readiness list counts, and a database that is
gone (PostgreSQL's database dropped under a running gateway) takes the gateway out of service (503)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from hegui.gateway import create_app
from hegui.gateway.readiness import ReadinessProbe, failed_probes
from hegui.policy import parse_policy
from hegui.settings import Settings

POLICY = """
version = "ready"
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]
"""


async def _fine() -> None:
    return None


async def _refused() -> None:
    raise ConnectionRefusedError("no redis here")


async def _stalled() -> None:
    await asyncio.sleep(30)


def test_probes_are_named_when_they_fail_or_stall() -> None:
    probes = [
        ReadinessProbe("db", _fine),
        ReadinessProbe("redis", _refused),
        ReadinessProbe("slow", _stalled),
    ]
    assert asyncio.run(failed_probes(probes, seconds=0.2)) == [
        "redis: ConnectionRefusedError",
        "slow: no answer within 0.2s",
    ]
    assert asyncio.run(failed_probes(probes[:1])) == []


def test_a_probe_appended_to_the_state_decides_readiness(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"), policy=parse_policy(POLICY, "t.toml"))
    with TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert [p.name for p in app.state.hegui.readiness] == ["database"]
        app.state.hegui.readiness.append(ReadinessProbe("redis", _refused))
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
        assert down.json()["problems"] == ["redis: ConnectionRefusedError"]
        assert client.get("/healthz").status_code == 200  # liveness is not readiness: no restart for this


@pytest.mark.postgres
def test_readyz_is_503_once_the_database_is_gone(postgres_url: str, tmp_path: Path) -> None:
    name = f"hegui_ready_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        app = create_app(
            Settings(data_dir=tmp_path / "data", database_url=url), policy=parse_policy(POLICY, "t.toml")
        )
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))  # ends every connection to it
            down = client.get("/readyz")
            assert down.status_code == 503, down.text
            assert [p.split(":")[0] for p in down.json()["problems"]] == ["database"]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
