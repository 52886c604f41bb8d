"""What several commands share: settings, the database engine, error printing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from hegui.records.db import make_engine, migrate
from hegui.settings import Settings, load_settings


def settings(policy: Path | None = None, **overrides: object) -> Settings:
    """Settings from HEGUI_* with command-line overrides (None means: not given)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if policy is not None:
        given["policy_file"] = policy
    return load_settings(**given)


def engine(s: Settings, *, migrate_schema: bool = True) -> Engine:
    eng = make_engine(s.resolved_database_url(), sqlite_synchronous=s.sqlite_synchronous)
    if migrate_schema:
        migrate(eng)
    return eng
