"""Checks that block run off the event loop; the others run inline on it.

The gateway runs in this process under uvicorn on loopback (so that a test check can be put in its
pipeline) and is called over real HTTP. The test check sleeps one second on a marked text, as a guard
model or a slow database would make a request wait, and it declares that it blocks only for requests
with an end user (as the session-memory checks do): a request without one has no blocking check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hegui.gateway import create_app
from hegui.guard import Context, Finding, Pipeline, Stage
from hegui.guard.denylist import DenyListCheck
from hegui.guard.guardmodel import GuardModelCheck
from hegui.guard.memory import (
    InMemoryMemoryStore,
    NearDuplicateCheck,
    SessionKey,
    SessionView,
    SplitTurnCheck,
)
from hegui.guard.types import blocks
from hegui.policy import parse_policy
from hegui.settings import Settings

POLICY = """
version = "offloop-test"
[[upstreams]]
name = "demo"
type = "demo"
models = ["hegui-demo"]
"""

MARK = "SLOW-MARKER"
SLEEP = 1.0
#: A request not held up by the sleeping one answers well within this (the sleep is 1 s).
PROMPT_S = 0.5


@dataclass
class Sleeper:
    """Sleeps on texts with MARK; declares it blocks for requests with an end user (when ``declared``)."""

    declared: bool = True
    name: str = "sleeper"
    stages: frozenset[Stage] = frozenset({Stage.INPUT, Stage.OUTPUT})
    horizon: int | None = 1
    version: str = "test"
    sleeping: threading.Event = field(default_factory=threading.Event)
    threads: list[tuple[Stage | None, str]] = field(default_factory=list)

    def blocking(self, ctx: Context) -> bool:
        return self.declared and ctx.user is not None

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        stage = Stage.OUTPUT if ctx.prompt is not None else Stage.INPUT
        self.threads.append((stage, threading.current_thread().name))
        if MARK in text:
            self.sleeping.set()
            time.sleep(SLEEP)
        return []


@dataclass
class Served:
    base: str
    key: str
    state: Any
    loop_thread: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("offloop")
    app = create_app(Settings(data_dir=Path(data), check_workers=2), policy=parse_policy(POLICY, "t.toml"))
    state = app.state.hegui
    key, _ = state.keys.create(name="test")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True, name="gateway-loop")
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(f"http://127.0.0.1:{port}", key, state, thread.name)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _chat(served: Served, text: str, *, user: str | None = None, stream: bool = False) -> httpx.Response:
    body: dict[str, Any] = {"model": "hegui-demo", "messages": [{"role": "user", "content": text}]}
    if user is not None:
        body["user"] = user
    if stream:
        body["stream"] = True
    headers = {"authorization": f"Bearer {served.key}"}
    return httpx.post(served.base + "/v1/chat/completions", json=body, headers=headers, timeout=10)


@dataclass
class Timed:
    seconds: float = 0.0
    status: int = 0


def _timed(call: Any) -> Timed:
    started = time.perf_counter()
    response = call()
    return Timed(time.perf_counter() - started, response.status_code)


def _while_one_sleeps(served: Served, sleeper: Sleeper) -> tuple[Timed, Timed, Timed]:
    """A marked request with an end user (its check sleeps 1 s) and, while it sleeps, `/healthz` and a
    request without an end user, each timed; returns (slow, healthz, other)."""
    served.state.pipeline = Pipeline([sleeper], policy_version="offloop-test")
    slow = Timed()

    def send() -> None:
        result = _timed(lambda: _chat(served, f"请回答 {MARK}", user="alice"))
        slow.seconds, slow.status = result.seconds, result.status

    worker = threading.Thread(target=send)
    worker.start()
    try:
        assert sleeper.sleeping.wait(5), "the marked request never reached its check"
        time.sleep(0.05)  # a loop that is stalled is stalled now
        healthz = _timed(lambda: httpx.get(served.base + "/healthz", timeout=10))
        other = _timed(lambda: _chat(served, "今天天气怎么样？"))
    finally:
        worker.join(timeout=15)
    return slow, healthz, other


def test_a_sleeping_blocking_check_delays_neither_healthz_nor_a_request_without_blocking_checks(
    served: Served,
) -> None:
    sleeper = Sleeper(declared=True)
    slow, healthz, other = _while_one_sleeps(served, sleeper)
    assert (slow.status, healthz.status, other.status) == (200, 200, 200)
    assert slow.seconds >= SLEEP
    assert healthz.seconds < PROMPT_S, f"/healthz waited {healthz.seconds:.2f} s"
    assert other.seconds < PROMPT_S, f"the non-blocking request waited {other.seconds:.2f} s"
    # The marked request's checks ran in the check workers; the other request's on the loop.
    assert ("input", "hegui-check") in {(str(s), t.split("_")[0]) for s, t in sleeper.threads}
    assert (Stage.INPUT, served.loop_thread) in sleeper.threads


def test_the_same_check_undeclared_stalls_the_loop(served: Served) -> None:
    """The control: declared non-blocking, the same sleep runs on the event loop and holds everything
    up, which is what the test above would see if the gateway did not move blocking checks off it."""
    sleeper = Sleeper(declared=False)
    slow, healthz, other = _while_one_sleeps(served, sleeper)
    assert (slow.status, healthz.status, other.status) == (200, 200, 200)
    assert healthz.seconds + other.seconds >= SLEEP * 0.8
    assert {t for _, t in sleeper.threads} == {served.loop_thread}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_both_stages_of_a_blocking_request_run_in_the_check_workers(served: Served, stream: bool) -> None:
    sleeper = Sleeper(declared=True)
    served.state.pipeline = Pipeline([sleeper], policy_version="offloop-test")
    response = _chat(served, "你好", user="bob", stream=stream)
    assert response.status_code == 200
    stages = {s for s, _ in sleeper.threads}
    assert stages == {Stage.INPUT, Stage.OUTPUT}
    assert all(t.startswith("hegui-check") for _, t in sleeper.threads), sleeper.threads


def test_a_blocking_declaration_that_is_not_a_bool_is_an_error() -> None:
    @dataclass
    class Odd:
        name: str = "odd"
        blocking: str = "yes"

    with pytest.raises(ValueError, match="blocking must be a bool"):
        blocks(Odd(), Context())  # type: ignore[arg-type]
    assert blocks(Sleeper(), Context(user="u")) is True
    assert blocks(Sleeper(), Context()) is False


def test_the_pool_defaults_to_the_database_pool_size(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), policy=parse_policy(POLICY, "t.toml"))
    state = app.state.hegui
    try:
        assert state.workers.size == state.engine.pool.size()
    finally:
        state.workers.close()
        state.audit.close()
        state.engine.dispose()


class _DbLikeStore(InMemoryMemoryStore):
    """Stands for a database-backed store: one that does not declare ``blocking = False``."""

    blocking = True


@pytest.mark.parametrize(
    ("store", "expected"),
    [(None, False), (InMemoryMemoryStore(), False), (_DbLikeStore(), True)],
    ids=["no-memory", "in-process", "database"],
)
def test_memory_checks_block_only_on_a_database_backed_memory(
    store: InMemoryMemoryStore | None, expected: bool
) -> None:
    memory = SessionView(store, SessionKey("t", "u", None)) if store is not None else None
    ctx = Context(user="u", memory=memory)
    inner = DenyListCheck("inner", ["词"])
    assert blocks(NearDuplicateCheck("near"), ctx) is expected
    assert blocks(SplitTurnCheck("split", inner), ctx) is expected


def test_the_guard_model_always_blocks() -> None:
    check = GuardModelCheck("guard", base_url="http://127.0.0.1:9/v1", model="m")
    try:
        assert blocks(check, Context()) is True
    finally:
        check.close()


def test_an_api_key_cache_miss_is_looked_up_off_the_loop(served: Served) -> None:
    keys = served.state.keys
    fresh, _ = keys.create(name="fresh")
    seen: list[tuple[str, bool]] = []
    original = keys.authenticate

    def recording(plaintext: str) -> Any:
        seen.append((threading.current_thread().name, keys.is_cached(plaintext)))
        return original(plaintext)

    keys.authenticate = recording
    try:
        for token in (fresh, "hg-not-a-key"):
            r = httpx.get(
                served.base + "/v1/models", headers={"authorization": f"Bearer {token}"}, timeout=10
            )
            assert r.status_code == (200 if token == fresh else 401)
    finally:
        keys.authenticate = original
    misses = [thread for thread, cached in seen if not cached]
    assert len(misses) == 2, seen  # one database lookup per key, then the cache (the absence cached too)
    assert served.loop_thread not in misses, seen
    assert all(cached for thread, cached in seen if thread == served.loop_thread), seen


def test_readyz_pings_the_database_off_the_loop(served: Served) -> None:
    engine = served.state.engine
    threads: list[str] = []
    original = engine.connect

    def recording() -> Any:
        threads.append(threading.current_thread().name)
        return original()

    engine.connect = recording
    try:
        r = httpx.get(served.base + "/readyz", timeout=10)
    finally:
        del engine.connect  # the instance attribute; the class's method shows through again
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert threads and served.loop_thread not in threads, threads
