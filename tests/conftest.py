"""Fixtures shared by every test room."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hegui.records.db import make_engine, migrate

REPO = Path(__file__).resolve().parents[1]

# Property tests draw their cases at random on a developer's machine (that is how they find new failing
# cases: two in the stream inspector on 2026-12-01) and the same cases on every CI run (CI set), so that
# a landing does not depend on the luck of the draw. A case found locally goes into its test as an @example.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
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
    return _free_ports(1)[0]


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports. Every socket stays bound until all are picked: ports
    picked one after another may repeat, since a closed port is free to be handed out again."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


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


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisClusterProcesses:
    """A Redis Cluster started by a test: its ``redis+cluster://`` URL, and each node's port and
    process (a test may kill one)."""

    url: str
    ports: list[int]
    procs: list[subprocess.Popen[bytes]]

    def node_url(self, port: int) -> str:
        return f"redis://127.0.0.1:{port}/0"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def _redis_cluster(
    primaries: int = 3, replicas: int = 0, node_timeout_ms: int = 2000
) -> Iterator[RedisClusterProcesses]:
    """``primaries * (1 + replicas)`` redis-server processes in cluster mode on loopback ports (no
    persistence, in a temporary directory), joined by ``redis-cli --cluster create``; stopped at the
    end. Skips when redis-server or redis-cli (Debian's redis-tools) is missing."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("no redis-server/redis-cli installed (apt-get install redis-server redis-tools)")
    nodes = primaries * (1 + replicas)
    # Each node's client port and cluster-bus port, all distinct.
    all_ports = _free_ports(2 * nodes)
    ports, bus_ports = all_ports[:nodes], all_ports[nodes:]
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="hegui-redis-cluster-") as tmp:
        try:
            for port, bus_port in zip(ports, bus_ports, strict=True):
                node_dir = Path(tmp) / str(port)
                node_dir.mkdir()
                argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"]
                # The cluster bus on a free port of its own (its default, port + 10000, may be taken or
                # above 65535 for an ephemeral port).
                argv += ["--cluster-port", str(bus_port)]
                argv += ["--cluster-config-file", str(node_dir / "nodes.conf")]
                argv += ["--cluster-node-timeout", str(node_timeout_ms), "--save", "", "--appendonly", "no"]
                argv += ["--dir", str(node_dir), "--daemonize", "no", "--protected-mode", "yes"]
                argv += ["--loglevel", "warning"]
                procs.append(
                    subprocess.Popen(
                        argv,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            deadline = time.monotonic() + 10
            for port, proc in zip(ports, procs, strict=True):
                while not _redis_answers(port):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server (cluster node) did not start on port {port}")
                    time.sleep(0.05)
            subprocess.run(
                [
                    cli,
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{p}" for p in ports),
                    "--cluster-replicas",
                    str(replicas),
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            deadline = time.monotonic() + 30
            while not all(_cluster_ok(cli, p) for p in ports):  # every node agrees it is one cluster
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
                time.sleep(0.1)
            seeds = ",".join(f"127.0.0.1:{p}" for p in ports[:2])
            yield RedisClusterProcesses(f"redis+cluster://{seeds}", ports, procs)
        finally:
            for proc in procs:
                _stop(proc)


def _cluster_ok(cli: str, port: int) -> bool:
    """The node sees the whole cluster, and a replica has synced with its primary (one that has not
    cannot take over: its data would be too old)."""
    out = subprocess.run(
        [cli, "-p", str(port), "cluster", "info"], capture_output=True, text=True, timeout=10
    ).stdout
    if not ("cluster_state:ok" in out and "cluster_slots_ok:16384" in out):
        return False
    role = subprocess.run(
        [cli, "-p", str(port), "info", "replication"], capture_output=True, text=True, timeout=10
    ).stdout
    return "role:slave" not in role or "master_link_status:up" in role


@pytest.fixture(scope="session")
def redis_cluster_server() -> Iterator[str]:
    """URL (``redis+cluster://…``) of a throw-away Redis Cluster for this test run:
    HEGUI_TEST_REDIS_CLUSTER_URL when set, else three primaries started here (no replicas); skips when
    redis-server or redis-cli is missing."""
    url = os.environ.get("HEGUI_TEST_REDIS_CLUSTER_URL")
    if url:
        yield url
        return
    with _redis_cluster() as cluster:
        yield cluster.url


@pytest.fixture(scope="session")
def redis_cluster_factory() -> Callable[..., AbstractContextManager[RedisClusterProcesses]]:
    """Starts a cluster of its own for a test that breaks it (kills a node, drops a slot)."""
    return _redis_cluster


def flush_redis(url: str) -> None:
    """Empty a test Redis, one server or every primary of a cluster."""
    import redis
    from redis.cluster import RedisCluster

    from hegui.cluster.redis_url import parse_redis_url

    target = parse_redis_url(url)
    if target.cluster:
        cluster = RedisCluster.from_url(target.url)
        try:
            cluster.flushall(target_nodes=RedisCluster.PRIMARIES)
            cluster.script_flush()  # on every primary
        finally:
            cluster.close()
        return
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


@pytest.fixture(scope="session")
def fresh_redis(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``fresh_redis("server")`` or ``fresh_redis("cluster")``: the URL of the test run's Redis of that
    kind, emptied (for a fixture that has parameters of its own)."""

    def get(kind: str) -> str:
        url: str = request.getfixturevalue("redis_server" if kind == "server" else "redis_cluster_server")
        flush_redis(url)
        return url

    return get


@pytest.fixture(params=["server", "cluster"])
def redis_url(request: pytest.FixtureRequest, fresh_redis: Callable[[str], str]) -> str:
    """The test run's Redis, emptied for this test: one server, then a Redis Cluster (the shared state
    must behave the same on both)."""
    return fresh_redis(request.param)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    """A synchronous client of ``redis_url`` for a test to look inside with (a cluster client on a
    cluster: list keys with ``scan_iter``, which visits every primary)."""
    import redis
    from redis.cluster import RedisCluster

    from hegui.cluster.redis_url import parse_redis_url

    target = parse_redis_url(redis_url)
    client: Any = RedisCluster.from_url(target.url) if target.cluster else redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def redis_node_url(redis_url: str) -> str:
    """A plain ``redis://`` URL of one node of ``redis_url`` (itself for one server): a classic
    SUBSCRIBE there hears a PUBLISH sent to any node of a cluster."""
    from hegui.cluster.redis_url import parse_redis_url

    return parse_redis_url(redis_url).url
