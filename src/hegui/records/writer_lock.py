"""One writing process per SQLite file: `hegui serve` holds an exclusive lock beside the database.

SQLite serializes writers inside one process well (hegui's audit writer is one thread), but two gateways
on one file contend for the write lock on every audit group commit and each believes its own circuit of
sanctions and memories is the only one. The documented rule is one process per SQLite file; this makes it
hold. The lock is an advisory ``flock`` on ``<database>.lock``: the kernel drops it when the process
ends, however it ends, so a crashed gateway never leaves a stale lock. PostgreSQL needs no lock here (its
writers serialize on the audit head row). Other commands (`hegui keys`, `hegui data`) take no lock: they
are short and SQLite's own locking covers them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from hegui.errors import DatabaseInUse


@dataclass
class WriterLock:
    """Held while the process serves; ``release`` (or process exit) lets the next one in."""

    path: Path
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = -1


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for in-memory SQLite and other databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def acquire(database_url: str, owner: str) -> WriterLock | None:
    """Take the writer lock of a SQLite database, or raise DatabaseInUse naming who holds it.

    ``owner`` (for example ``pid 1234, http://127.0.0.1:8000``) is written into the lock file so that
    the refusal can say which process to stop. None for databases that need no lock."""
    import fcntl

    database = sqlite_file(database_url)
    if database is None:
        return None
    path = database.with_name(database.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise DatabaseInUse(
            f"{database} is in use by another hegui serve ({holder}); SQLite takes one writing process "
            "per file: stop that one, or start this one with another --data-dir (several gateways on one "
            "database need PostgreSQL, HEGUI_DATABASE_URL)"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, owner.encode())
    return WriterLock(path, fd)
