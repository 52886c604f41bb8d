"""A fresh, migrated database per test: SQLite always, PostgreSQL when the test run has one (the same
fixture as tests/records, which a sibling directory cannot import)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hegui.records.db import make_engine, migrate


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'hegui.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    admin_url = request.getfixturevalue("postgres_url")
    name = f"hegui_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    migrate(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
