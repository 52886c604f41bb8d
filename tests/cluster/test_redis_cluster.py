"""Redis Cluster as the replicas' shared state: the URL that names one, the hash tags that keep a
request's counters in one slot, and what happens when a node fails (on clusters started for the test:
these tests kill nodes and drop slots)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from hegui.cluster.config import LimitsPolicy, Quota, Scope
from hegui.cluster.events import Event, EventKind
from hegui.cluster.limiter import Holder, RateLimiter, counter_names
from hegui.cluster.redis_state import RedisState, cluster_problem
from hegui.cluster.redis_url import Node, parse_redis_url
from hegui.cluster.windows import Charge, Kind
from hegui.errors import ConfigError, StorageError


@pytest.mark.parametrize(
    ("url", "cluster", "target", "seeds"),
    [
        ("redis://h:6379/0", False, "redis://h:6379/0", ()),
        ("rediss://u:p@h:6380/2", False, "rediss://u:p@h:6380/2", ()),
        ("unix:///run/redis.sock", False, "unix:///run/redis.sock", ()),
        ("redis+cluster://a:7000", True, "redis://a:7000/0", (Node("a", 7000),)),
        (
            "rediss+cluster://user:pw@a:7000,b:7001,c/0?ssl_cert_reqs=none",
            True,
            "rediss://user:pw@a:7000/0?ssl_cert_reqs=none",
            (Node("a", 7000), Node("b", 7001), Node("c", 6379)),
        ),
        ("redis+cluster://[::1]:7000,h:1/", True, "redis://[::1]:7000/0", (Node("::1", 7000), Node("h", 1))),
        (
            "REDIS+CLUSTER://a:1,b:2?protocol=3",
            True,
            "redis://a:1/0?protocol=3",
            (Node("a", 1), Node("b", 2)),
        ),
    ],
)
def test_urls(url: str, cluster: bool, target: str, seeds: tuple[Node, ...]) -> None:
    parsed = parse_redis_url(url)
    assert (parsed.cluster, parsed.url, parsed.seeds) == (cluster, target, seeds)


def test_a_node_url_keeps_credentials_and_options() -> None:
    parsed = parse_redis_url("rediss+cluster://user:pw@a:7000,b:7001?ssl_cert_reqs=none")
    assert parsed.node_url(Node("10.0.0.9", 7005)) == "rediss://user:pw@10.0.0.9:7005/0?ssl_cert_reqs=none"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis-cluster://a:1", "a Redis Cluster is redis+cluster://"),
        ("http://a:1", "not a Redis URL"),
        ("a:6379", "not a Redis URL"),
        ("redis+cluster://a:1/3", "only database 0"),
        ("redis+cluster://a:1,,b:2", "an empty host"),
        ("redis+cluster://a:x", "not a port"),
        ("redis+cluster://a:70000", "not a port"),
        ("redis+cluster://a:1,a:1", "named twice"),
        ("redis+cluster://user:secret@a:1/5", "user:***@a:1/5"),
    ],
)
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match="HEGUI_REDIS_URL") as err:
        parse_redis_url(url)
    assert message in str(err.value)
    assert "secret" not in str(err.value)


def test_a_bad_url_fails_the_state_at_construction() -> None:
    with pytest.raises(ConfigError, match="only database 0"):
        RedisState("redis+cluster://127.0.0.1:1/1")


def test_one_requests_counters_share_a_slot() -> None:
    """The admission script gets every counter of a request at once: on a cluster they must be in one
    slot, so every name carries the tenant's hash tag; tenants spread over slots."""
    limiter = RateLimiter(
        LimitsPolicy(
            key=Quota(requests_per_minute=1, tokens_per_minute=1, concurrent_streams=1),
            tenant=Quota(requests_per_minute=1),
            user=Quota(requests_per_minute=1, concurrent_streams=1),
        ),
        windows=None,  # type: ignore[arg-type]  (only the names are asked for)
    )
    slots = set()
    for tenant in ("t1", "t2", "t3", "租户"):
        holder = Holder(7, tenant, "alice")
        charges = limiter.charges(holder, stream=True, prompt_tokens=3)
        assert len(charges) == 6
        names = [c.counter for c in charges] + [c.counter + ":123" for c in charges]  # windows
        assert len({key_slot(n.encode()) for n in names}) == 1
        assert all("alice" not in n and tenant not in n for n in names)
        slots.add(key_slot(names[0].encode()))
        assert set(counter_names(holder)) == {c.scope for c in charges}
    assert len(slots) == 4


def test_cluster_problem_reads_cluster_info() -> None:
    ok = {"cluster_state": "ok", "cluster_slots_ok": "16384"}
    assert cluster_problem(ok) == ""
    assert cluster_problem(b"cluster_state:ok\r\ncluster_slots_ok:16384\r\n") == ""
    assert cluster_problem({"cluster_state": "fail"}) == "cluster_state=fail"
    assert "16383 of 16384" in cluster_problem(ok | {"cluster_slots_ok": "16383"})
    assert cluster_problem(ok | {"cluster_slots_ok": "16383"}, slots=False) == ""
    assert "unreadable" in cluster_problem(None)


Factory = Callable[..., AbstractContextManager[Any]]


def test_a_cluster_without_a_slot_is_not_ready(redis_cluster_factory: Factory, tmp_path: Path) -> None:
    """Through the gateway's /readyz: ready on a whole cluster, 503 naming Redis once one slot has no
    node (a request whose counters or memory hash there would fail)."""
    from starlette.testclient import TestClient

    from hegui.gateway import create_app
    from hegui.policy import parse_policy
    from hegui.settings import Settings

    policy = parse_policy('[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["m"]\n', "t.toml")
    with redis_cluster_factory() as cluster:
        app = create_app(Settings(data_dir=tmp_path / "data", redis_url=cluster.url), policy=policy)
        with TestClient(app) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            owner = redis.Redis(port=cluster.ports[0])
            first = next(  # the first slot this node serves
                int(r[0])
                for r in owner.execute_command("CLUSTER", "SLOTS")
                if int(r[2][1]) == cluster.ports[0]
            )
            owner.execute_command("CLUSTER", "DELSLOTS", first)  # one slot now has no node
            owner.close()
            for _ in range(100):
                down = client.get("/readyz")
                if down.status_code == 503:
                    break
                time.sleep(0.05)
            assert down.status_code == 503, down.text
            assert down.json()["problems"] == ["redis: StorageError"]

            async def why() -> str:
                state = RedisState(cluster.url)
                try:
                    await state.ping()
                except StorageError as exc:
                    return str(exc)
                finally:
                    await state.aclose()
                return ""

            assert "Redis Cluster is not ready" in asyncio.run(why())


def test_the_event_subscription_moves_to_another_node_and_resyncs(redis_cluster_factory: Factory) -> None:
    """Kill -9 the node that carries a replica's subscription (a primary: its replica takes over): the
    subscription moves to another node, the gap is a new generation with a RESYNC (every cache that
    events keep is read anew), events flow again, and readiness comes back once the cluster has failed
    over."""
    with redis_cluster_factory(primaries=3, replicas=1, node_timeout_ms=1000) as cluster:

        async def go() -> None:
            a, b = RedisState(cluster.url), RedisState(cluster.url)
            resyncs: list[int] = []
            heard: list[Event] = []
            arrived = threading.Event()

            def on_key(event: Event) -> None:
                heard.append(event)
                arrived.set()

            b.subscribe(EventKind.RESYNC, lambda _e: resyncs.append(b.generation))
            b.subscribe(EventKind.KEY_CHANGED, on_key)
            await a.start()
            await b.start()
            assert b.connected and resyncs == [b.generation]
            await a.ping()
            where, generation = b.subscribed_to, b.generation
            port = int(where.rsplit(":", 1)[1])
            os.kill(cluster.procs[cluster.ports.index(port)].pid, signal.SIGKILL)

            async def moved() -> bool:  # and resynced: the RESYNC handlers run in a thread after the move
                for _ in range(300):
                    if b.connected and b.subscribed_to != where and len(resyncs) >= 2:
                        return True
                    await asyncio.sleep(0.05)
                return False

            assert await moved(), "the subscription did not move to another node and resync within 15 s"
            assert b.generation > generation  # the gap was seen (moved() waited for its RESYNC)
            await asyncio.to_thread(a.publish, Event(EventKind.KEY_CHANGED, data={"k": "after"}))
            assert await asyncio.to_thread(arrived.wait, 5.0), "no event after the move"
            assert heard[-1].data == {"k": "after"}
            for _ in range(200):  # the replica of the killed primary takes over: ready again
                try:
                    await a.ping()
                    break
                except StorageError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail("not ready again within 20 s of the failover")
            # The counters and the session memory's client find the new primary too: a round of
            # admissions over every slot's tenants without falling back to process memory.
            windows = a.windows(600)
            tenants = [f"{{t{i}}}:r" for i in range(12)]
            for _ in range(50):
                before = windows.fallbacks  # type: ignore[attr-defined]
                for counter in tenants:
                    await windows.admit([Charge(counter, Scope.TENANT, Kind.REQUESTS, 1000, 1)], "l")
                if windows.fallbacks == before:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.2)
            else:
                pytest.fail("the rate-limit counters did not come back to the cluster")
            for counter in tenants:
                for _attempt in range(20):
                    try:
                        await asyncio.to_thread(a.sync.set, counter + ":sync", 1)
                        break
                    except a.failures:
                        await asyncio.sleep(0.2)
                else:
                    pytest.fail("the synchronous client did not come back to the cluster")
            await a.aclose()
            await b.aclose()

        # Bounded well under pytest-timeout's 300 s: if an await hangs (seen once), the cancellation's
        # traceback names it, where the timeout plugin shows only idle threads.
        asyncio.run(asyncio.wait_for(go(), timeout=150))


def test_a_dead_seed_is_passed_over(redis_cluster_server: str) -> None:
    """The first seed refuses connections: the clients and the subscription use the next one."""
    live = parse_redis_url(redis_cluster_server).seeds[0]

    async def go() -> None:
        state = RedisState(f"redis+cluster://127.0.0.1:1,{live.netloc}")
        await state.start()
        for _ in range(100):
            if state.connected:
                break
            await asyncio.sleep(0.05)
        assert state.connected and state.subscribed_to != "127.0.0.1:1"
        await state.ping()
        windows = state.windows(600)
        assert (await windows.admit([Charge("{x}:r", Scope.KEY, Kind.REQUESTS, 5, 1)], "l")).admitted
        assert windows.fallbacks == 0  # type: ignore[attr-defined]  (counted on the cluster)
        await state.aclose()

    asyncio.run(go())
