"""Fixtures shared by every test room."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
