"""Fixtures shared by every test room."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hegui.records.db import make_engine, migrate

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HEGUI_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (third-party lexicons and labelled data); the test skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party test data not found at {SHARED_DATA} (set HEGUI_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the throw-away PostgreSQL that scripts/test starts; skips when there is none."""
    url = os.environ.get("HEGUI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL for this run (scripts/test starts one and sets HEGUI_TEST_POSTGRES_URL)")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated database per test: SQLite always, PostgreSQL when the test run has one."""
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
