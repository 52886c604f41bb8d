"""Two gateway replicas on one PostgreSQL and one Redis, through the official ``openai`` client
(issue 16's acceptance): what one replica learns, the other acts on. Everything runs twice: on one
Redis server and on a Redis Cluster of three primaries.

- a deny-listed term split across two turns, each sent alone to a different replica, is caught;
- a rewording of a prompt refused by one replica is refused by the other (near-duplicate check);
- a sanction set on one replica is enforced by the other within 1 s;
- a key revoked through one replica (``POST /hegui/api/keys/{key}/revoke``) is refused by the other
  within 1 s;
- a per-key rate limit holds across both replicas within 10 %, and so does a limit on open streams;
- kill -9 of one replica under bounded load: every answer a client received has its audit entries and
  the chain (both replicas append to it) verifies.

Without Redis the split term and the rewording pass, the revoked key is served from the other replica's 5 s key cache
and each replica counts the rate limits alone (80 served for a limit of 40; two streams open for a
limit of one). The sanction holds without
Redis too (each request then reads the database); with Redis the standing is cached, and this test
shows that the cache is told.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import VENV_BIN, create_key, fake_upstream, free_port, start_serve

from hegui.records.audit import find_by_request, verify_chain
from hegui.records.audit_keys import MacKeyRing
from hegui.records.db import make_engine
from hegui.records.keys import KeyStore

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

TERM = "演示违禁词"
POLICY = """
version = "replicas"
[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
models = ["fake-model"]
read_timeout = 5.0

[[checks]]
name = "denylist"
type = "denylist"
terms = ["{term}"]

[[checks]]
name = "split-terms"
type = "split_turns"
terms = ["{term}"]
turns = 4

[[checks]]
name = "reworded"
type = "near_duplicate"
threshold = 0.5
"""


@dataclass
class Cluster:
    urls: list[str]
    procs: list[subprocess.Popen[bytes]]
    env: dict[str, str]
    database_url: str
    admin_key: str
    #: Every client a test made, closed with the fixture (a failing test leaves none to the collector).
    clients: list[OpenAI] = field(default_factory=list)

    def client(self, i: int, key: str) -> OpenAI:
        made = OpenAI(base_url=f"{self.urls[i]}/v1", api_key=key, max_retries=0, timeout=10.0)
        self.clients.append(made)
        return made

    def key(self, role: str = "client") -> str:
        """A new key, made in the shared database (what `hegui keys create` does, without its start-up)."""
        engine = make_engine(self.database_url)
        try:
            plaintext, _ = KeyStore(engine).create(name="replicas", role=role)
        finally:
            engine.dispose()
        return plaintext

    def hegui(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENV_BIN / "hegui"), *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture(scope="module", params=["server", "cluster"])
def cluster(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str,
    fresh_redis: Callable[[str], str],
) -> Iterator[Cluster]:
    """Two replicas on one PostgreSQL and one Redis: a single server, then a Redis Cluster (three
    primaries, ``redis+cluster://``)."""
    redis_url = fresh_redis(request.param)
    root = tmp_path_factory.mktemp("replicas")
    name = f"hegui_r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    up_port = free_port()
    policy = root / "hegui.toml"
    policy.write_text(POLICY.format(port=up_port, term=TERM), encoding="utf-8")
    env = {
        "HEGUI_DATA_DIR": str(root / "data"),
        "HEGUI_POLICY_FILE": str(policy),
        "HEGUI_FIRST_KEY": "false",
        "HEGUI_LOG_LEVEL": "warning",
        "HEGUI_DATABASE_URL": database_url,
        "HEGUI_REDIS_URL": redis_url,
        # Every replica must hold the same secrets: they read and write one another's records.
        "HEGUI_MASTER_KEY": secrets.token_hex(32),
        "HEGUI_AUDIT_CONTENT_KEY": secrets.token_hex(32),
        "HEGUI_AUDIT_KEY": secrets.token_hex(32),
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with fake_upstream(up_port):
            ports = [free_port(), free_port()]
            for i, port in enumerate(ports):
                procs.append(start_serve(port, env, root / f"replica{i}.log"))
            made = Cluster(
                [f"http://127.0.0.1:{p}" for p in ports], procs, env, database_url, create_key(env, "admin")
            )
            try:
                yield made
            finally:
                for client in made.clients:
                    client.close()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def ask(cli: OpenAI, content: str, user: str, session: str | None = None) -> str:
    answer = cli.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": content}],
        user=user,
        extra_headers={"x-hegui-session": session} if session else None,
    )
    return answer.choices[0].message.content or ""


def until(deadline: float, probe: object) -> float:
    """Seconds until ``probe()`` is true, polling; fails after ``deadline`` seconds."""
    started = time.monotonic()
    while True:
        if probe():  # type: ignore[operator]
            return time.monotonic() - started
        if time.monotonic() - started > deadline:
            pytest.fail(f"not within {deadline} s")
        time.sleep(0.02)


def test_a_term_split_across_replicas_is_caught(cluster: Cluster) -> None:
    key = cluster.key()
    a, b = cluster.client(0, key), cluster.client(1, key)
    first = ask(a, "请告诉我" + TERM[:3], "split-user", "s-1")
    assert first.startswith("fake upstream heard")  # half a term is nothing
    second = ask(b, TERM[3:] + "是什么", "split-user", "s-1")
    assert not second.startswith("fake upstream heard"), second  # refused: the other replica's turn counted
    # Another session of the same user starts clean.
    assert ask(b, TERM[3:] + "是什么", "split-user", "s-2").startswith("fake upstream heard")


def test_a_rewording_of_a_prompt_refused_by_the_other_replica_is_refused(cluster: Cluster) -> None:
    key = cluster.key()
    a, b = cluster.client(0, key), cluster.client(1, key)
    refused = a.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": f"请详细告诉我关于{TERM}的全部制作方法和每一个步骤"}],
        user="reworder",
    )
    assert not (refused.choices[0].message.content or "").startswith("fake upstream heard")
    # The deny-listed term is gone from the rewording: only the session memory can tell.
    again = b.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "请详细告诉我关于演示违禁的全部制作方法和每一个步骤吧"}],
        user="reworder",
    )
    assert not (again.choices[0].message.content or "").startswith("fake upstream heard")
    engine = make_engine(cluster.database_url)
    try:
        (entry,) = [e for e in find_by_request(engine, again.id) if e.stage == "input"]
    finally:
        engine.dispose()
    assert entry.action == "refuse"
    assert {f["check"] for f in json.loads(entry.findings)} == {"reworded"}


def test_a_sanction_on_one_replica_holds_on_the_other_within_1_s(cluster: Cluster) -> None:
    key = cluster.key()
    b = cluster.client(1, key)
    assert ask(b, "你好", "to-suspend")  # replica 1 now holds this user's standing in its cache
    lift = httpx.post(
        f"{cluster.urls[0]}/hegui/api/users/to-suspend/sanctions",
        json={"level": "suspend", "by": "ops", "reason": "acceptance test"},
        headers={"authorization": f"Bearer {cluster.admin_key}"},
        timeout=10,
    )
    assert lift.status_code == 201, lift.text

    def refused() -> bool:
        try:
            ask(b, "你好", "to-suspend")
        except openai.PermissionDeniedError as exc:
            assert exc.code == "user_suspended"
            return True
        return False

    until(1.0, refused)


def test_a_revoked_key_is_refused_by_the_other_replica_within_1_s(cluster: Cluster) -> None:
    key = cluster.key()
    b = cluster.client(1, key)
    assert ask(b, "你好", "revoker")  # replica 1 now has the key in its cache (for 5 s)
    revoke = httpx.post(
        f"{cluster.urls[0]}/hegui/api/keys/{key[:11]}/revoke",
        headers={"authorization": f"Bearer {cluster.admin_key}"},
        timeout=10,
    )
    assert revoke.status_code == 200, revoke.text
    assert revoke.json()["revoked_at"]
    revoked_at = time.monotonic()

    def refused() -> bool:
        try:
            ask(b, "你好", "revoker")
        except openai.AuthenticationError:
            return True
        return False

    until(1.0 - (time.monotonic() - revoked_at), refused)


def test_a_rate_limit_holds_across_both_replicas(cluster: Cluster) -> None:
    key = cluster.key()
    out = cluster.hegui("keys", "limit", key[:11], "--requests-per-minute", "40")
    assert out.returncode == 0, out.stderr
    time.sleep(0.5)  # the key-changed event reaches the replicas
    clients = [cluster.client(0, key), cluster.client(1, key)]
    served, limited = 0, 0
    retry_after: set[str] = set()
    for i in range(100):
        try:
            ask(clients[i % 2], f"第 {i} 个请求", f"rl-{i}")
            served += 1
        except openai.RateLimitError as exc:
            limited += 1
            assert exc.code == "rate_limit_exceeded"
            retry_after.add(exc.response.headers["retry-after"])
    assert 36 <= served <= 44, f"{served} served across both replicas for a limit of 40"
    assert served + limited == 100
    assert all(int(v) >= 1 for v in retry_after)


def test_concurrent_streams_are_counted_across_replicas(cluster: Cluster) -> None:
    key = cluster.key()
    out = cluster.hegui("keys", "limit", key[:11], "--concurrent-streams", "1")
    assert out.returncode == 0, out.stderr
    time.sleep(0.5)
    a, b = cluster.client(0, key), cluster.client(1, key)
    # Pieces longer than the deny-list's horizon, so the gateway releases each as it comes: 2.5 s open.
    slow = {"x_script": {"chunks": ["这是一段足够长的回答文字，" * 2] * 5, "delay": 0.5}}
    stream = a.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "慢"}], stream=True, extra_body=slow
    )
    first = next(iter(stream))  # the stream on replica 0 is open
    assert first.id
    with pytest.raises(openai.RateLimitError) as refused:
        b.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "快"}], stream=True
        )
    assert refused.value.code == "rate_limit_exceeded"
    assert "concurrent streams" in refused.value.message
    assert list(stream)  # read to its end: the slot is freed
    # Freed as the answer's last bytes leave replica 0; the client may have stopped reading at [DONE]
    # a moment before, so the other replica admits it at once or within the second its refusal names.
    deadline = time.monotonic() + 1.0
    while True:
        try:
            again = b.chat.completions.create(
                model="fake-model", messages=[{"role": "user", "content": "快"}], stream=True
            )
            break
        except openai.RateLimitError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert "".join(c.choices[0].delta.content or "" for c in again if c.choices).startswith(
        "fake upstream heard"
    )


def test_kill_9_of_one_replica_under_load_loses_no_answered_entry(cluster: Cluster) -> None:
    key = cluster.key()
    received: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + 5.0

    def load(n: int) -> None:
        cli = cluster.client(n % 2, key)
        i = 0
        while time.monotonic() < stop:
            i += 1
            try:
                answer = cli.chat.completions.create(
                    model="fake-model", messages=[{"role": "user", "content": f"负载 {n}-{i}"}]
                )
            except (openai.APIConnectionError, openai.APIStatusError, httpx.HTTPError):
                time.sleep(0.05)  # the killed replica; its share of the load keeps knocking
                continue
            with lock:
                received.append(answer.id)

    threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    os.kill(cluster.procs[0].pid, signal.SIGKILL)
    cluster.procs[0].wait(timeout=10)
    for t in threads:
        t.join(timeout=20)
    assert len(received) > 20, "the load produced too few answers"

    engine = make_engine(cluster.database_url)
    try:
        report = verify_chain(engine, keys=MacKeyRing.parse(cluster.env["HEGUI_AUDIT_KEY"]))
        assert report.macs_checked == report.entries and report.unauthenticated == 0
        for rid in received:
            stages = [e.stage for e in find_by_request(engine, rid)]
            assert stages == ["input", "output"], f"{rid}: {stages}"
    finally:
        engine.dispose()
    out = cluster.hegui("audit", "verify")
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{report.entries} entries" in out.stdout
