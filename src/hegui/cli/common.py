"""What several commands share: settings, the database engine, error printing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hegui.errors import RequestError
from hegui.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine


def settings(policy: Path | None = None, **overrides: object) -> Settings:
    """Settings from HEGUI_* with command-line overrides (None means: not given)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if policy is not None:
        given["policy_file"] = policy
    return load_settings(**given)


def engine(s: Settings, *, migrate_schema: bool = True) -> Engine:
    """The database, carrying HEGUI_AUDIT_KEY: audit entries a command writes are authenticated too."""
    # Imported here: the records room (SQLAlchemy, Alembic) is not what `hegui check` should wait for.
    from hegui.records.audit import with_audit_keys
    from hegui.records.audit_keys import MacKeyRing
    from hegui.records.db import make_engine, migrate

    eng = with_audit_keys(
        make_engine(s.resolved_database_url(), sqlite_synchronous=s.sqlite_synchronous),
        MacKeyRing.parse(s.audit_key),
    )
    if migrate_schema:
        migrate(eng)
    return eng


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr while a long command works; nothing when stderr is not a terminal, so
    logs and scripts see only the command's own output. Yields ``advance(n)``."""
    console = Console(stderr=True)
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def iso_time(value: str | None, option: str) -> datetime | None:
    """An option's ISO date or time; a time without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise RequestError(
            f"{option} takes an ISO date or time (2027-06-30 or 2027-06-30T12:00+08:00)"
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
