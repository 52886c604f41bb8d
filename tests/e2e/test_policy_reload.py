"""Hot policy reload on a started `hegui serve`, through the official ``openai`` client (issue 16, build
item 1): the admin API and SIGHUP swap the checks of a running process; a stream begun before the swap
ends on the checks it began with; a broken file, a change that needs a restart and a non-admin key are
refused with the running policy still in force; the reloads are in the audit chain, and it verifies.
Two replicas on one Redis (a server, then a Redis Cluster): a reload on one is in force on the other
within 1 s. `hegui serve --workers 2` (PostgreSQL): SIGHUP and an admin reload reach every worker in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import script
from servers import VENV_BIN, create_key, fake_upstream, free_port, hegui_env, start_serve, stop, wait_ready

from hegui.records.audit import find_by_request, verify_chain
from hegui.records.audit_keys import MacKeyRing
from hegui.records.db import make_engine

pytestmark = pytest.mark.e2e

#: Made-up terms (no third-party list): one the policy starts with, and one per test that adds its own.
BASE_TERM = "重载基础禁词"
POLICY = """
version = "{version}"
[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
models = ["fake-model"]
read_timeout = {read_timeout}

[[checks]]
name = "denylist"
type = "denylist"
terms = [{terms}]
"""
HEARD = "fake upstream heard"


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    policy: Path
    up_port: int
    env: dict[str, str]
    admin_key: str
    client_key: str
    log: Path

    def write(self, version: str, *terms: str, read_timeout: float = 5.0, raw: str | None = None) -> None:
        body = raw or POLICY.format(
            version=version,
            port=self.up_port,
            read_timeout=read_timeout,
            terms=", ".join(f'"{t}"' for t in (BASE_TERM, *terms)),
        )
        self.policy.write_text(body, encoding="utf-8")

    def reload(self, key: str | None = None, url: str | None = None) -> httpx.Response:
        return httpx.post(
            f"{url or self.url}/hegui/api/policy/reload",
            headers={"authorization": f"Bearer {key or self.admin_key}"},
            timeout=30,
        )

    def version(self, url: str | None = None) -> str:
        got = httpx.get(
            f"{url or self.url}/hegui/api/policy",
            headers={"authorization": f"Bearer {self.admin_key}"},
            timeout=10,
        )
        assert got.status_code == 200, got.text
        return str(got.json()["version"])

    def client(self) -> OpenAI:
        return OpenAI(base_url=f"{self.url}/v1", api_key=self.client_key, max_retries=0, timeout=30)


def serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return start_serve(port, env, log, timeout=120)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("reload")
    up_port, port = free_port(), free_port()
    policy = root / "hegui.toml"
    env = hegui_env(root / "data", policy) | {
        "HEGUI_AUDIT_KEY": secrets.token_hex(32),
        "HEGUI_LOG_LEVEL": "info",
    }
    made = Served(f"http://127.0.0.1:{port}", None, policy, up_port, env, "", "", root / "serve.log")  # type: ignore[arg-type]
    made.write("start")
    made.admin_key, made.client_key = create_key(env, "admin"), create_key(env)
    with fake_upstream(up_port):
        made.proc = serve(port, env, made.log)
        try:
            yield made
        finally:
            stop(made.proc)


def ask(cli: OpenAI, content: str) -> str:
    answer = cli.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": content}])
    return answer.choices[0].message.content or ""


def test_an_admin_reload_puts_a_new_term_in_force_for_the_next_request(served: Served) -> None:
    term = "重载新增禁词甲"
    served.write("before-a")
    assert served.reload().status_code == 200
    cli = served.client()
    assert ask(cli, f"请解释{term}").startswith(HEARD)  # not deny-listed yet
    before = served.version()

    served.write("after-a", term)
    reloaded = served.reload()
    assert reloaded.status_code == 200, reloaded.text
    body = reloaded.json()
    assert (body["previous"], body["changed"]) == (before, True)
    assert body["version"].startswith("after-a+") and body["sections"] == ["version", "checks"]
    assert not ask(cli, f"请解释{term}").startswith(HEARD)  # refused by the new checks
    # Every place an operator looks says the new version.
    assert served.version() == body["version"]
    assert httpx.get(f"{served.url}/readyz", timeout=10).json()["policy"] == body["version"]
    metrics = httpx.get(f"{served.url}/metrics", timeout=10).text
    assert f'hegui_policy_info{{version="{body["version"]}"}} 1.0' in metrics
    assert f'hegui_policy_info{{version="{before}"}} 0.0' in metrics
    # The same file again: nothing to swap.
    again = served.reload().json()
    assert (again["changed"], again["version"]) == (False, body["version"])
    cli.close()


def test_a_stream_begun_before_a_reload_ends_on_the_checks_it_began_with(served: Served) -> None:
    term = "重载流中禁词乙"
    served.write("before-b")
    assert served.reload().status_code == 200
    old_version = served.version()
    # Pieces longer than the deny-list's horizon: each is released as it comes.
    chunks = ["这是一段足够长的回答文字第一段，"] * 2 + [f"后面这段话里有{term}这个词，然后继续说下去。"] * 2
    cli = served.client()
    stream = cli.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "讲个故事"}],
        stream=True,
        extra_body={"x_script": script(chunks=chunks, delay=0.4)},
    )
    received: list[str] = []
    stream_id = ""
    for chunk in stream:
        stream_id = chunk.id
        if chunk.choices and chunk.choices[0].delta.content:
            received.append(chunk.choices[0].delta.content)
            if len(received) == 1:  # mid-stream: the term becomes deny-listed
                served.write("after-b", term)
                assert served.reload().status_code == 200
    assert term in "".join(received)  # judged to its end by the checks it began with

    new = cli.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "讲个故事"}],
        stream=True,
        extra_body={"x_script": script(chunks=chunks, delay=0.05)},
    )
    assert term not in "".join(c.choices[0].delta.content or "" for c in new if c.choices)
    cli.close()

    engine = make_engine(f"sqlite:///{served.env['HEGUI_DATA_DIR']}/hegui.db")
    try:
        deadline = time.monotonic() + 5
        while not (outputs := [e for e in find_by_request(engine, stream_id) if e.stage == "output"]):
            assert time.monotonic() < deadline, "the stream's output entry was not written"
            time.sleep(0.05)
    finally:
        engine.dispose()
    assert [e.policy_version for e in outputs] == [old_version]


def test_a_broken_file_is_refused_and_the_running_policy_stays(served: Served) -> None:
    term = "重载坏文件禁词丙"
    served.write("before-c", term)
    assert served.reload().status_code == 200
    running = served.version()
    served.write("", raw=served.policy.read_text(encoding="utf-8").replace(f'"{term}"', "42"))
    refused = served.reload()
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["type"]) == ("policy_not_reloaded", "invalid_request_error")
    assert error["param"].startswith("checks[0].terms")  # the key, as `hegui config validate` names it
    assert running in error["message"] and "stays in service" in error["message"]
    assert served.version() == running
    assert not ask(served.client(), f"请解释{term}").startswith(HEARD)  # the old checks still hold

    served.write("", raw="version = [")  # not TOML at all
    assert "not valid TOML" in served.reload().json()["error"]["message"]
    assert served.version() == running


def test_a_change_that_needs_a_restart_is_refused_by_section(served: Served) -> None:
    served.write("before-d")
    assert served.reload().status_code == 200
    running = served.version()
    served.write("after-d", "重载不应生效词丁", read_timeout=7.0)
    refused = served.reload()
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["param"] == "upstreams"
    assert "need a restart to apply: upstreams" in error["message"]
    assert served.version() == running
    assert ask(served.client(), "请解释重载不应生效词丁").startswith(HEARD)  # nothing of it swapped


def test_a_client_key_may_not_reload(served: Served) -> None:
    refused = served.reload(key=served.client_key)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "This endpoint needs an admin key."
    assert served.reload(key="sk-not-a-key").status_code == 401


def test_sighup_reloads(served: Served) -> None:
    term = "重载信号禁词戊"
    served.write("before-e")
    assert served.reload().status_code == 200
    served.write("after-e", term)
    served.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while not served.version().startswith("after-e+"):
        assert time.monotonic() < deadline, served.log.read_text(encoding="utf-8")[-2000:]
        time.sleep(0.05)
    assert not ask(served.client(), f"请解释{term}").startswith(HEARD)
    assert served.proc.poll() is None  # reloaded, not stopped


def test_the_cli_asks_a_running_gateway_to_reload(served: Served) -> None:
    def cli(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENV_BIN / "hegui"), "config", "reload", "--url", served.url, *extra],
            env={**os.environ, "HEGUI_ADMIN_KEY": served.admin_key},
            capture_output=True,
            text=True,
            timeout=60,
        )

    served.write("cli-before")
    cli()
    running = served.version()
    served.write("cli-after", "重载命令禁词辛")
    done = cli()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"policy reloaded: {running} -> cli-after+")
    assert "(changed: version, checks)" in done.stdout
    assert cli().stdout.startswith("policy unchanged: cli-after+")
    served.write("cli-after", read_timeout=3.0)
    refused = cli()
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: policy not reloaded, cli-after+")
    assert "need a restart to apply: upstreams" in refused.stderr
    assert cli("--key", served.client_key).returncode == 1


def test_every_reload_is_audited_and_the_chain_verifies(served: Served) -> None:
    served.write("before-f")
    assert served.reload().status_code == 200
    served.write("after-f", "重载审计词己")
    done = served.reload().json()
    served.write("after-f", "重载审计词己", read_timeout=9.0)
    assert served.reload().status_code == 409
    engine = make_engine(f"sqlite:///{served.env['HEGUI_DATA_DIR']}/hegui.db")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT action, policy_version, detail FROM audit_entries WHERE stage = 'policy' "
                    "ORDER BY seq"
                )
            ).all()
        report = verify_chain(engine, keys=MacKeyRing.parse(served.env["HEGUI_AUDIT_KEY"]))
    finally:
        engine.dispose()
    assert report.macs_checked == report.entries > 0

    entries = [(r.action, r.policy_version, json.loads(r.detail)) for r in rows]
    reload_entry = next(e for e in entries if e[1] == done["version"] and e[0] == "reload")
    assert reload_entry[2]["previous"] == done["previous"]
    assert (
        reload_entry[2]["trigger"] == "admin-api" and reload_entry[2]["by"] == f"key:{served.admin_key[:11]}"
    )
    refused = entries[-1]
    assert refused[0] == "reload-refused" and refused[1] == done["version"]
    assert "upstreams" in refused[2]["error"]
    assert any(e[2]["trigger"] == "sighup" for e in entries if e[0] == "reload")


@pytest.mark.parametrize("redis_kind", ["server", "cluster"])
def test_a_reload_on_one_replica_is_in_force_on_the_other_within_1_s(
    tmp_path: Path, fresh_redis: Callable[[str], str], redis_kind: str
) -> None:
    """Two replicas (each on its own SQLite file: the policy and the event are what is shared here),
    one policy file, one Redis server or Redis Cluster."""
    redis_url = fresh_redis(redis_kind)
    up_port = free_port()
    policy = tmp_path / "hegui.toml"
    envs = [
        hegui_env(tmp_path / f"data{i}", policy) | {"HEGUI_REDIS_URL": redis_url, "HEGUI_LOG_LEVEL": "info"}
        for i in range(2)
    ]
    a = Served("", None, policy, up_port, envs[0], "", "", tmp_path / "a.log")  # type: ignore[arg-type]
    a.write("replicas-start")
    a.admin_key = create_key(envs[0], "admin")
    b_key = create_key(envs[1])
    term = "重载副本禁词庚"
    ports = [free_port(), free_port()]
    procs: list[subprocess.Popen[bytes]] = []
    with fake_upstream(up_port):
        try:
            for i, port in enumerate(ports):
                procs.append(serve(port, envs[i], tmp_path / f"replica{i}.log"))
            a.url = f"http://127.0.0.1:{ports[0]}"
            b = OpenAI(base_url=f"http://127.0.0.1:{ports[1]}/v1", api_key=b_key, max_retries=0, timeout=10)
            assert ask(b, f"请解释{term}").startswith(HEARD)
            a.write("replicas-after", term)
            assert a.reload().status_code == 200
            reloaded_at = time.monotonic()
            while ask(b, f"请解释{term}").startswith(HEARD):
                assert time.monotonic() - reloaded_at < 1.0, "replica B still serves the old policy after 1 s"
                time.sleep(0.02)
            b.close()
        finally:
            for proc in procs:
                stop(proc)
    log_b = (tmp_path / "replica1.log").read_text(encoding="utf-8")
    assert "policy reloaded (replica, by replica " in log_b, log_b[-2000:]


def children(pid: int) -> list[int]:
    """The worker processes of a `hegui serve --workers N` supervisor."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def policy_versions(url: str) -> dict[str, float]:
    """``hegui_policy_info`` by version, as one scrape of /metrics sums it over the workers."""
    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        sample.labels["version"]: sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "hegui_policy_info" and sample.value
    }


@pytest.mark.postgres
def test_workers_all_reload_on_sighup_and_on_the_admin_api(tmp_path: Path, postgres_url: str) -> None:
    """`hegui serve --workers 2` without Redis: SIGHUP to the supervisor reaches every worker, and so
    does an admin reload that one worker served (it asks the supervisor to forward SIGHUP)."""
    name = f"hegui_reload_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    up_port, port = free_port(), free_port()
    policy = tmp_path / "hegui.toml"
    env = hegui_env(tmp_path / "data", policy) | {
        "HEGUI_DATABASE_URL": make_url(postgres_url).set(database=name).render_as_string(hide_password=False),
        "HEGUI_LOG_LEVEL": "info",
    }
    made = Served(f"http://127.0.0.1:{port}", None, policy, up_port, env, "", "", tmp_path / "serve.log")  # type: ignore[arg-type]
    made.write("workers-start")
    made.admin_key = create_key(env, "admin")
    try:
        with fake_upstream(up_port), open(made.log, "ab") as out:
            made.proc = subprocess.Popen(
                [str(VENV_BIN / "hegui"), "serve", "--port", str(port), "--workers", "2"],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_ready(f"{made.url}/readyz", made.proc, timeout=240)

                def all_on(prefix: str) -> None:
                    deadline = time.monotonic() + 120  # a worker may still be starting (WORKER_START_SECONDS)
                    while not any(
                        v.startswith(prefix) and n == 2 for v, n in policy_versions(made.url).items()
                    ):
                        assert time.monotonic() < deadline, (
                            policy_versions(made.url),
                            made.log.read_text()[-3000:],
                        )
                        time.sleep(0.1)

                all_on("workers-start+")
                made.write("workers-hup", "重载工人禁词壬")
                made.proc.send_signal(signal.SIGHUP)
                all_on("workers-hup+")
                assert made.proc.poll() is None
                made.write("workers-api", "重载工人禁词癸")
                assert made.reload().json()["version"].startswith("workers-api+")
                all_on("workers-api+")
            finally:
                workers = children(made.proc.pid)
                stop(made.proc)
                for pid in workers:  # a supervisor that had to be killed leaves its workers behind
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    log = made.log.read_text(encoding="utf-8")
    # Reloaded in place, not restarted (uvicorn's own SIGHUP would have replaced both workers).
    assert log.count("policy reloaded (sighup") == 3, log[-3000:]  # both, then the admin's sibling
    assert log.count("policy reloaded (admin-api") == 1
    assert "restarting processes" not in log
