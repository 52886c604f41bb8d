"""The keep journal's batches commit without fsync on SQLite (``sqlite_replayable``): a crash that loses
such a commit loses the deletion of its journal rows too, so the rows are kept again. The relaxed mode
must stay with that transaction: the next user of the pooled connection gets the engine's mode back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from hegui.records.db import make_engine

FULL, NORMAL = 2, 1  # PRAGMA synchronous values


def _mode(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_a_replayable_transaction_skips_fsync_and_hands_the_mode_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert _mode(engine) == FULL
        options = {"sqlite_immediate": True, "sqlite_replayable": True}
        with engine.connect().execution_options(**options) as conn, conn.begin():
            assert int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one()) == NORMAL
        assert _mode(engine) == FULL  # the same pooled connection, back in the engine's mode
        with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            assert int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one()) == FULL
    finally:
        engine.dispose()


def test_an_engine_in_normal_mode_is_left_alone(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'y.db'}", sqlite_synchronous="NORMAL")
    try:
        with engine.connect().execution_options(sqlite_replayable=True) as conn, conn.begin():
            assert int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one()) == NORMAL
        assert _mode(engine) == NORMAL
    finally:
        engine.dispose()
