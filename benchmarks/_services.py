"""Throw-away PostgreSQL and Redis on loopback for benchmarks that run several gateway processes.

Used by ``proxy_overhead.py`` (``--workers``, ``--replicas``). Both are Debian's servers (listed in
``scripts/debian-packages.txt``), started in a directory under the benchmark's work dir, bound to
127.0.0.1, and stopped by the caller through the returned ``Service`` (never by name). PostgreSQL runs as
the ``postgres`` user when the benchmark runs as root (``initdb`` refuses root), as ``scripts/postgres.sh``
does for the tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from _loopback import BenchError, Service, free_port, start

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@dataclass
class Started:
    service: Service
    url: str


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _wait_port(service: Service, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if service.proc.poll() is not None:
                break
            time.sleep(0.1)
    raise BenchError(f"{service.name} did not listen on 127.0.0.1:{port}:\n{service.tail()}")


def start_postgres(work: Path) -> Started:
    """A fresh cluster (fsync on, as a deployment runs it) owned by a ``postgres`` server process."""
    bins = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: [int(x) for x in p.parent.name.split(".")]
    )
    if not bins or not (bins[-1] / "initdb").exists():
        raise BenchError("no PostgreSQL server installed (apt-get install postgresql)")
    bindir, data = bins[-1], work / "pg"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    made = subprocess.run(
        [
            *_as_postgres(),
            str(bindir / "initdb"),
            "-D",
            str(data / "data"),
            "-A",
            "trust",
            "-U",
            "hegui",
            "-E",
            "UTF8",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if made.returncode != 0:
        raise BenchError(f"initdb failed: {made.stderr.strip()[-500:]}")
    port = free_port()
    argv = [*_as_postgres(), str(bindir / "postgres"), "-D", str(data / "data"), "-p", str(port)]
    argv += ["-k", str(data), "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
    service = start("postgres", argv, work)
    _wait_port(service, port, 60)
    return Started(service, f"postgresql+psycopg://hegui@127.0.0.1:{port}/postgres")


def start_redis(work: Path) -> Started:
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("no redis-server installed (apt-get install redis-server)")
    data = work / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(data), "--daemonize", "no", "--loglevel", "warning"]
    service = start("redis", argv, work)
    _wait_port(service, port, 30)
    return Started(service, f"redis://127.0.0.1:{port}/0")


def create_database(url: str, name: str) -> None:
    """``CREATE DATABASE name`` on the server of ``url`` (a SQLAlchemy psycopg URL); exists already: kept."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def scratch_database(url: str) -> tuple[Engine, Callable[[], None]]:
    """A fresh database on the PostgreSQL server of ``url``, migrated, and the function that drops it."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from hegui.records.db import make_engine, migrate

    name = f"hegui_b_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    migrate(eng)

    def drop() -> None:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()

    return eng, drop
