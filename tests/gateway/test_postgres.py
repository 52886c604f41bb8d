"""The gateway on PostgreSQL: the same flow, recorded in the same chain format."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from hegui.gateway import create_app
from hegui.records.audit import iter_entries, verify_chain
from hegui.settings import Settings


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    name = f"hegui_gw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_chat_on_postgres(pg_database: str, tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=pg_database))
    key, _ = app.state.hegui.keys.create(name="pg")
    with TestClient(app, headers={"authorization": f"Bearer {key}"}) as client:
        for content in ("你好", "演示违禁词"):
            r = client.post(
                "/v1/chat/completions",
                json={
                    "model": "hegui-demo",
                    "stream": True,
                    "messages": [{"role": "user", "content": content}],
                },
            )
            assert r.status_code == 200
        engine = app.state.hegui.engine
        assert [(e.stage, e.action) for e in iter_entries(engine)] == [
            ("input", "allow"),
            ("output", "allow"),
            ("input", "refuse"),
        ]
        assert verify_chain(engine).entries == 3
