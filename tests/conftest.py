"""Fixtures shared by every test room."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """URL of a throw-away Redis on loopback for this test run: HEGUI_TEST_REDIS_URL when set, else a
    redis-server started here (no persistence, in a temporary directory) and stopped at the end; skips
    when neither (Debian's redis-server, in scripts/debian-packages.txt, is what CI installs)."""
    url = os.environ.get("HEGUI_TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server installed (apt-get install redis-server) and no HEGUI_TEST_REDIS_URL")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="hegui-redis-") as tmp:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                        conn.sendall(b"PING\r\n")
                        if conn.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The test run's Redis, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server
