"""`hegui serve --workers N`: refused on SQLite with the setting to change; on PostgreSQL two worker
processes serve one port under load through the official `openai` client, both append to one audit chain,
and after SIGTERM the chain verifies (MACs, checkpoints at the head) with every answer the client got; a
worker killed with SIGKILL under load is replaced by the supervisor and the chain still holds."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import VENV_BIN, create_key, fake_upstream, free_port, hegui_env, wait_ready

from hegui.records.audit import AuditEntry, find_by_requests, verify_chain
from hegui.records.audit_keys import MacKeyRing, generate_signing_key, load_signing_key
from hegui.records.audit_verify import ChainReport, TrustedCheckpoints
from hegui.records.checkpoints import CheckpointDir

pytestmark = pytest.mark.e2e

POLICY = """
version = "workers"
[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
models = ["fake-model"]
read_timeout = 10.0
[[checks]]
name = "demo-denylist"
type = "denylist"
terms = ["演示违禁词"]
"""

THREADS = 6
#: A killed worker's replacement is started within this many seconds (it is seen dead within one).
REPLACED_WITHIN = 30
LOAD_SECONDS = 5.0


def test_several_workers_on_sqlite_are_refused_naming_the_setting(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(VENV_BIN / "hegui"), "serve", "--workers", "2", "--port", str(free_port())],
        env={**os.environ, **hegui_env(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "--workers 2 needs PostgreSQL" in out.stderr
    assert "HEGUI_DATABASE_URL" in out.stderr
    assert not (tmp_path / "data" / "hegui.db").exists()  # refused before any database was made


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    name = f"hegui_w_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def read_chain(
    database_url: str, keys: MacKeyRing, answered: list[str], checkpoints: TrustedCheckpoints | None = None
) -> tuple[ChainReport, dict[str, list[AuditEntry]]]:
    """The chain verified and every answered request's entries. Each statement gets a minute: a stall
    fails naming what the server was doing, not as a timeout of the whole test (one CI run hung once in
    the per-request lookups, in a catalog read; cause not found)."""
    engine = create_engine(database_url, connect_args={"options": "-c statement_timeout=60000"})
    try:
        return verify_chain(engine, keys=keys, checkpoints=checkpoints), find_by_requests(engine, answered)
    except OperationalError as exc:
        pytest.fail(f"the chain could not be read: {exc}\n{server_activity(database_url)}")
    finally:
        engine.dispose()


def server_activity(database_url: str) -> str:
    """What every session of the server is doing and which locks wait, for a failure message."""
    engine = create_engine(database_url, connect_args={"options": "-c statement_timeout=10000"})
    try:
        with engine.connect() as conn:
            sessions = conn.execute(
                text("SELECT pid, state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity")
            ).all()
            waiting = conn.execute(
                text("SELECT pid, locktype, relation::regclass, mode FROM pg_locks WHERE NOT granted")
            ).all()
    except OperationalError as exc:
        return f"(the server's activity could not be read either: {exc})"
    finally:
        engine.dispose()
    return "sessions:\n" + "\n".join(map(str, sessions)) + "\nwaiting locks:\n" + "\n".join(map(str, waiting))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cmdline = (stat.parent / "cmdline").read_bytes()
        if int(fields[1]) == pid and b"spawn_main" in cmdline:  # uvicorn's workers, not its resource tracker
            out.append(int(stat.parent.name))
    return out


@pytest.mark.postgres
def chat_answers(port: int) -> float:
    """hegui_requests_total for chat completions answered 200, as one scrape of /metrics says."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text_format = r.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text_format)
        for sample in family.samples
        if sample.name == "hegui_requests_total"
        and sample.labels == {"endpoint": "chat.completions", "status": "200"}
    )


def test_two_workers_share_one_chain_and_stop_cleanly(tmp_path: Path, database_url: str) -> None:
    up_port, port = free_port(), free_port()
    (tmp_path / "hegui.toml").write_text(POLICY.format(port=up_port), encoding="utf-8")
    signing = generate_signing_key(tmp_path / "keys" / "audit.pem")
    env = hegui_env(tmp_path / "data", tmp_path / "hegui.toml") | {
        "HEGUI_DATABASE_URL": database_url,
        "HEGUI_AUDIT_KEY": secrets.token_hex(32),
        "HEGUI_AUDIT_SIGNING_KEY": str(signing.private_path),
        "HEGUI_AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "HEGUI_AUDIT_CHECKPOINT_EVERY": "20",  # both workers checkpoint into one directory while serving
        "HEGUI_AUDIT_CHECKPOINT_SECONDS": "0.5",
    }
    key = create_key(env)
    answered: list[str] = []
    lock = threading.Lock()

    def load(n: int) -> None:
        cli = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=10)
        i, deadline = 0, time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline:
            i += 1
            messages = [{"role": "user", "content": f"请求 {n}-{i}"}]
            if i % 2:
                rid = cli.chat.completions.create(model="fake-model", messages=messages).id  # type: ignore[arg-type]
            else:
                stream = cli.chat.completions.create(model="fake-model", messages=messages, stream=True)  # type: ignore[arg-type]
                rid = [c.id for c in stream][-1]
            with lock:
                answered.append(rid)

    with fake_upstream(up_port):
        proc = subprocess.Popen(
            [str(VENV_BIN / "hegui"), "serve", "--workers", "2", "--port", str(port)],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", proc, timeout=120)
            deadline = time.monotonic() + 120  # both workers up: uvicorn starts them one after the other
            while len(workers := children(proc.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(3)  # the second worker accepts once its gateway is built
            before = {pid: cpu_seconds(pid) for pid in workers}
            threads = [threading.Thread(target=load, args=(n,)) for n in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=LOAD_SECONDS + 30)
            used = {pid: cpu_seconds(pid) - before[pid] for pid in workers}
            # /metrics sums the workers, whichever of them a scrape reaches (prometheus multiprocess mode)
            scraped = [chat_answers(port) for _ in range(4)]
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert len(workers) == 2
    assert all(seconds > 0.1 for seconds in used.values()), f"a worker served nothing: {used}"
    assert len(answered) > 20
    assert scraped == [len(answered)] * 4, (scraped, len(answered))

    public = load_signing_key(str(signing.private_path)).public_key()
    trusted = TrustedCheckpoints(CheckpointDir(tmp_path / "checkpoints"), {signing.key_id: public})
    report, trails = read_chain(database_url, MacKeyRing.parse(env["HEGUI_AUDIT_KEY"]), answered, trusted)
    for rid in answered:
        assert [e.stage for e in trails[rid]] == ["input", "output"], rid
    assert report.entries == report.macs_checked == 2 * len(answered)
    assert report.checkpoints > 1 and report.last_checkpoint is not None
    assert report.last_checkpoint.entries == report.entries  # the last worker to stop signed the head


@pytest.mark.postgres
def test_a_worker_killed_under_load_is_replaced_and_the_chain_holds(
    tmp_path: Path, database_url: str
) -> None:
    up_port, port = free_port(), free_port()
    (tmp_path / "hegui.toml").write_text(POLICY.format(port=up_port), encoding="utf-8")
    env = hegui_env(tmp_path / "data", tmp_path / "hegui.toml") | {
        "HEGUI_DATABASE_URL": database_url,
        "HEGUI_AUDIT_KEY": secrets.token_hex(32),
    }
    key = create_key(env)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(n: int) -> None:
        cli = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=10)
        i = 0
        while not stop.is_set():
            i += 1
            messages = [{"role": "user", "content": f"请求 {n}-{i}"}]
            try:
                rid = cli.chat.completions.create(model="fake-model", messages=messages).id  # type: ignore[arg-type]
            except (openai.APIConnectionError, openai.APIStatusError):
                time.sleep(0.05)  # the killed worker's connection; the next one reaches a live worker
                continue
            with lock:
                answered.append(rid)

    log_path = tmp_path / "serve.log"  # the supervisor's and workers' lines, shown if the test fails
    with fake_upstream(up_port), log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [str(VENV_BIN / "hegui"), "serve", "--workers", "2", "--port", str(port)],
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", proc, timeout=120)
            deadline = time.monotonic() + 120
            while len(workers := children(proc.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            threads = [threading.Thread(target=load, args=(n,)) for n in range(THREADS)]
            for t in threads:
                t.start()
            time.sleep(2)
            os.kill(workers[0], signal.SIGKILL)
            # The supervisor sees a dead worker at once, also when the kill lands while its health-check
            # ping to that worker is outstanding (hegui.supervisor.WatchedProcess; uvicorn's own ping
            # waited out timeout_worker_healthcheck, WORKER_START_SECONDS, before the replacement).
            deadline = time.monotonic() + REPLACED_WITHIN
            while (len(now := children(proc.pid)) < 2 or workers[0] in now) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # load on the survivor and the replacement
            stop.set()
            for t in threads:
                t.join(timeout=30)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        finally:
            stop.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    tail = log_path.read_text(errors="replace")[-3000:]
    assert len(now) == 2 and workers[0] not in now, (
        f"the supervisor did not replace the killed worker:\n{tail}"
    )
    report, trails = read_chain(database_url, MacKeyRing.parse(env["HEGUI_AUDIT_KEY"]), answered)
    for rid in answered:
        assert [e.stage for e in trails[rid]] == ["input", "output"], rid
    assert report.macs_checked == report.entries >= 2 * len(answered) > 0
