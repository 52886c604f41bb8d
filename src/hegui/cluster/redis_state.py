"""The replicas' shared state: `LocalShared` without Redis, `RedisState` with ``HEGUI_REDIS_URL``.

Both offer the same small surface to the gateway: `ping` (readiness), `publish` and `subscribe`
(events between replicas), `windows` (rate-limit counters) and, for `RedisState`, the synchronous
client the session memory uses from the check workers. Handlers of events run in a thread (a lexicon
reload reads files), one event at a time, in the order received.

`RedisState.connected` is true only while the event subscription is up, and `generation` changes at
every (re)connection: a cache kept honest by events (the sanction standing cache) must not be trusted
while events may be lost, so it checks both. Publishing never fails a request: the database already
holds the change, and every cache it concerns also expires by itself within seconds.

With a Redis Cluster (``redis+cluster://…``, `hegui.cluster.redis_url`) the commands go through
redis-py's cluster clients, and the event subscription is a plain connection to one node of the
cluster: a classic PUBLISH reaches every node over the cluster bus, so any node will do. That node is
watched (``CLUSTER INFO`` every `WATCH_SECONDS`); when it fails or leaves the cluster, the
subscription moves to the next node, and the gap is a new `generation` with a ``RESYNC``, exactly as
a reconnection to a single server is. redis-py's own cluster pub/sub is not used: its asyncio client
has none before redis-py 8 (``hegui[redis]`` accepts 5), and it picks the node by the channel's slot,
with no say in what happens when that node fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Protocol

from hegui.cluster.events import Event, EventKind, Handler
from hegui.cluster.redis_url import Node, RedisTarget, parse_redis_url
from hegui.cluster.windows import LocalWindows, Windows
from hegui.errors import ConfigError, StorageError

if TYPE_CHECKING:
    import redis
    from redis.asyncio import Redis as AsyncRedis

    from hegui.cluster.redis_windows import RedisWindows

log = logging.getLogger(__name__)

CHANNEL = "hegui:events"
#: How long a Redis call may take before it counts as failed (seconds).
TIMEOUT = 2.0
#: On a cluster, how often the node that carries the event subscription is asked whether it is still
#: in a healthy cluster (seconds).
WATCH_SECONDS = 1.0
#: Redis Cluster's hash slots: a cluster is ready only when every one of them is served.
SLOTS = 16384


class Shared(Protocol):
    """What `GatewayState.shared` offers, with or without Redis."""

    origin: str
    connected: bool
    generation: int

    async def ping(self) -> None:
        """Raise StorageError when the shared state cannot be reached (readiness)."""

    def publish(self, event: Event) -> None: ...

    def subscribe(self, kind: EventKind, handler: Handler) -> None: ...

    def windows(self, lease_seconds: float) -> Windows: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class LocalShared:
    """One process: nothing to share, nothing to tell; counters in process memory."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex[:12]
        self.connected = False
        self.generation = 0

    async def ping(self) -> None:
        return None

    def publish(self, event: Event) -> None:
        return None

    def subscribe(self, kind: EventKind, handler: Handler) -> None:
        return None

    def windows(self, lease_seconds: float) -> Windows:
        return LocalWindows(lease_seconds=lease_seconds)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def _import_redis() -> tuple[Any, Any]:
    try:
        import redis
        import redis.asyncio as aioredis
        import redis.asyncio.cluster
        import redis.cluster
    except ImportError:
        raise ConfigError(
            "HEGUI_REDIS_URL is set but the redis package is not installed: pip install 'hegui[redis]'",
            key="HEGUI_REDIS_URL",
        ) from None
    return redis, aioredis


class RedisState:
    """Redis: a synchronous client (check workers, publishing from threads) and an asyncio one (the
    event subscription, rate-limit counters on the event loop); cluster clients for a Redis Cluster."""

    def __init__(self, url: str) -> None:
        redis_mod, aioredis = _import_redis()
        self.url = url
        self.target: RedisTarget = parse_redis_url(url)
        self.cluster = self.target.cluster
        self.origin = uuid.uuid4().hex[:12]
        self.connected = False
        self.generation = 0
        #: What a failed Redis call raises: a cluster client also raises RedisClusterException (not a
        #: RedisError), for example SlotNotCoveredError while a slot has no node.
        self.errors: tuple[type[Exception], ...] = (
            redis_mod.RedisError,
            redis_mod.exceptions.RedisClusterException,
        )
        #: `errors` and OSError (a refused or reset socket): every way a Redis call fails.
        self.failures: tuple[type[Exception], ...] = (*self.errors, OSError)
        self.no_script: type[Exception] = redis_mod.exceptions.NoScriptError
        options: dict[str, Any] = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}
        self._aioredis = aioredis
        #: On a cluster, the node the event subscription last tried (an index into `_candidates`).
        self._turn = -1
        #: Whether the last node tried was the last of the round (then the retry waits).
        self._round_done = True
        #: Where the event subscription is (a cluster node's host:port), for logs and tests.
        self.subscribed_to = ""
        try:
            if self.cluster:
                seeds = self.target.seeds[1:]
                self.sync: redis.Redis = redis_mod.cluster.RedisCluster.from_url(
                    self.target.url,
                    startup_nodes=[redis_mod.cluster.ClusterNode(n.host, n.port) for n in seeds],
                    **options,
                )
                self.aio: AsyncRedis = aioredis.cluster.RedisCluster.from_url(
                    self.target.url,
                    startup_nodes=[aioredis.cluster.ClusterNode(n.host, n.port) for n in seeds],
                    **options,
                )
            else:
                self.sync = redis_mod.Redis.from_url(url, **options)
                self.aio = aioredis.Redis.from_url(url, **options)
                # The subscription waits for events as long as there are none: no read timeout there.
                self._listener: AsyncRedis = aioredis.Redis.from_url(url, socket_connect_timeout=TIMEOUT)
        except (ValueError, redis_mod.exceptions.RedisClusterException) as exc:
            raise ConfigError(f"not a Redis URL: {exc}", key="HEGUI_REDIS_URL") from None
        self._handlers: dict[EventKind, list[Handler]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self.published_failures = 0
        self._windows: list[RedisWindows] = []

    async def ping(self) -> None:
        """Readiness. On a cluster: every primary answers ``CLUSTER INFO`` and says the cluster is
        ``ok`` with all `SLOTS` served (a cluster with a failed slot refuses the keys in it)."""
        try:
            if self.cluster:
                try:
                    await self._cluster_ready()
                except self.failures:
                    # The client's map of the cluster may predate a failover (it still names a dead
                    # primary): read the map anew from any node that answers, and ask once more.
                    with contextlib.suppress(*self.failures):
                        await self.aio.nodes_manager.initialize()  # type: ignore[attr-defined]
                    await self._cluster_ready()
            else:
                await self.aio.ping()
        except self.failures as exc:
            raise StorageError(f"Redis does not answer: {type(exc).__name__}: {exc}") from exc

    async def _cluster_ready(self) -> None:
        cluster = self._aioredis.cluster.RedisCluster
        answers = await self.aio.cluster_info(target_nodes=cluster.PRIMARIES)  # type: ignore[attr-defined]
        if not isinstance(answers, dict) or not answers:
            raise StorageError(f"Redis Cluster: no answer to CLUSTER INFO ({answers!r})")
        if "cluster_state" in answers:  # one primary: redis-py gives its answer alone
            answers = {"node": answers}
        for node, info in answers.items():
            problem = cluster_problem(info)
            if problem:
                raise StorageError(f"Redis Cluster is not ready: {node} says {problem}")

    def publish(self, event: Event) -> None:
        """Tell every replica (this one ignores its own events). A failure is logged, not raised."""
        sent = Event(event.kind, self.origin, event.data)
        try:
            self.sync.publish(CHANNEL, sent.encode())
        except self.failures as exc:
            self.published_failures += 1
            log.error(
                "could not tell the other replicas about %s (%r); their caches catch up when they expire",
                event.kind.value,
                exc,
            )

    def subscribe(self, kind: EventKind, handler: Handler) -> None:
        self._handlers[kind].append(handler)

    def windows(self, lease_seconds: float) -> Windows:
        from hegui.cluster.redis_windows import RedisWindows

        windows = RedisWindows(self, lease_seconds=lease_seconds)
        self._windows.append(windows)
        return windows

    async def start(self) -> None:
        """Start the event subscription (on the running loop); returns once it is subscribed or has
        failed once (it keeps retrying in the background)."""
        if self._task is None:
            first = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._listen(first), name="hegui-redis-events")
            try:
                await asyncio.wait_for(asyncio.shield(first), timeout=TIMEOUT * 2)
            except TimeoutError:  # not connected yet: the gateway starts, and readiness says why
                log.error(
                    "Redis did not answer within %.0f s at start; retrying in the background", TIMEOUT * 2
                )

    async def _dispatch(self, event: Event) -> None:
        for handler in self._handlers.get(event.kind, ()):
            try:
                await asyncio.to_thread(handler, event)
            except Exception:  # one handler's failure must not stop the others or the subscription
                log.exception("handling the %s event failed", event.kind.value)

    def _candidates(self) -> list[Node]:
        """The cluster's nodes the subscription may use: the seeds, then every node the cluster
        client has learned of (primaries and replicas: a PUBLISH reaches them all)."""
        nodes = list(self.target.seeds)
        with contextlib.suppress(Exception):  # before the client's first command it knows none
            for known in self.aio.get_nodes():  # type: ignore[attr-defined]
                node = Node(str(known.host), int(known.port))
                if node not in nodes:
                    nodes.append(node)
        return nodes

    def _subscriber(self) -> tuple[AsyncRedis, AsyncRedis | None, str]:
        """A connection for the subscription and, on a cluster, one to watch its node with (the next
        node each time: after a failure the subscription moves on)."""
        if not self.cluster:
            return self._listener, None, "redis"
        nodes = self._candidates()
        self._turn = (self._turn + 1) % len(nodes)
        self._round_done = self._turn == len(nodes) - 1
        node = nodes[self._turn]
        url = self.target.node_url(node)
        aioredis = self._aioredis
        listener = aioredis.Redis.from_url(url, socket_connect_timeout=TIMEOUT)
        watch = aioredis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
        return listener, watch, node.netloc

    async def _watch(self, watch: AsyncRedis | None, where: str) -> None:
        """Raise ConnectionError unless the subscription's node is in a healthy cluster."""
        if watch is None:
            return
        raw = await watch.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call]
        problem = cluster_problem(raw, slots=False)
        if problem:
            raise ConnectionError(f"the node {where} carrying the event subscription says {problem}")

    async def _listen(self, first: asyncio.Future[None]) -> None:
        backoff = 0.1
        while True:
            listener, watch, where = self._subscriber()
            pubsub = listener.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                await self._watch(watch, where)  # after subscribing: no gap between check and listen
                self.generation += 1
                self.connected = True
                self.subscribed_to = where
                backoff = 0.1
                await self._dispatch(Event(EventKind.RESYNC, self.origin))
                if not first.done():
                    first.set_result(None)
                await self._receive(pubsub, watch, where)
                raise ConnectionError("the Redis subscription ended")
            except self.failures as exc:
                if self.connected or not first.done():  # said once per outage, not once per retry
                    log.error("no Redis event subscription (%r); retrying in the background", exc)
                self.connected = False
                self.generation += 1
                if not first.done():
                    first.set_result(None)
                # On a cluster the next attempt is the next node, at once, until every node was tried.
                if self._round_done:
                    await asyncio.sleep(backoff)
                    backoff = min(5.0, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                if self.cluster:
                    for client in (listener, watch):
                        with contextlib.suppress(Exception):
                            await client.aclose()  # type: ignore[union-attr]

    async def _receive(self, pubsub: Any, watch: AsyncRedis | None, where: str) -> None:
        """Dispatch events until the subscription ends (or, on a cluster, its node fails its watch)."""
        loop = asyncio.get_running_loop()
        watched = loop.time()
        while True:
            message = await pubsub.get_message(timeout=WATCH_SECONDS if watch is not None else None)
            if watch is not None and loop.time() - watched >= WATCH_SECONDS:
                await self._watch(watch, where)
                watched = loop.time()
            if message is None or message.get("type") != "message":
                continue
            try:
                event = Event.decode(message["data"])
            except ValueError as exc:
                log.warning("ignored a message on %s: %s", CHANNEL, exc)
                continue
            if event.origin != self.origin:
                await self._dispatch(event)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self.connected = False
        for windows in self._windows:  # token corrections still queued
            await windows.aclose()
        clients = [self.aio] if self.cluster else [self.aio, self._listener]
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()
        self.sync.close()


def cluster_problem(info: object, *, slots: bool = True) -> str:
    """What is wrong with a cluster, from one node's ``CLUSTER INFO`` (parsed or raw); "" when it
    is ``ok`` (and, with ``slots``, serves every slot)."""
    if isinstance(info, bytes):
        info = info.decode("utf-8", "replace")
    if isinstance(info, str):
        info = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    if not isinstance(info, dict):
        return f"an unreadable CLUSTER INFO ({info!r:.80})"
    fields = {str(k): str(v).strip() for k, v in info.items()}
    state = fields.get("cluster_state", "?")
    if state != "ok":
        return f"cluster_state={state}"
    if slots:
        ok = fields.get("cluster_slots_ok", "?")
        if ok != str(SLOTS):
            return (
                f"{ok} of {SLOTS} slots ok (pfail {fields.get('cluster_slots_pfail', '?')}, "
                f"fail {fields.get('cluster_slots_fail', '?')})"
            )
    return ""


def tell_replicas(redis_url: str | None, event: Event) -> None:
    """Publish one event from a process that is not a gateway (the CLI), when there is a Redis."""
    if not redis_url:
        return
    shared = RedisState(redis_url)
    try:
        shared.publish(event)
    finally:
        shared.sync.close()


def shared_state(redis_url: str | None) -> Shared:
    """The shared state the settings ask for."""
    return RedisState(redis_url) if redis_url else LocalShared()
