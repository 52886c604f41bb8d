"""Migration 0003t: agreements published before they were per tenant stay the "default" tenant's."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from hegui.records.agreements import current, publish
from hegui.records.db import _alembic_config, make_engine, migrate


def test_older_agreements_become_the_default_tenants(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO agreement_versions (kind, version, text, published_at) "
                "VALUES ('service', '1', 'old text', '2026-01-01T00:00:00Z')"
            )
        )
    migrate(engine)
    assert current(engine, "service", tenant="default").text == "old text"  # type: ignore[union-attr]
    assert current(engine, "service", tenant="acme") is None
    publish(engine, "service", "1", "acme text", tenant="acme")  # the same version, another tenant
    assert current(engine, "service", tenant="acme").text == "acme text"  # type: ignore[union-attr]
    engine.dispose()
