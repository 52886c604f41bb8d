"""The replicas' shared state: `LocalShared` without Redis, `RedisState` with ``HEGUI_REDIS_URL``.

Both offer the same small surface to the gateway: `ping` (readiness), `publish` and `subscribe`
(events between replicas), `windows` (rate-limit counters) and, for `RedisState`, the synchronous
client the session memory uses from the check workers. Handlers of events run in a thread (a lexicon
reload reads files), one event at a time, in the order received.

`RedisState.connected` is true only while the event subscription is up, and `generation` changes at
every (re)connection: a cache kept honest by events (the sanction standing cache) must not be trusted
while events may be lost, so it checks both. Publishing never fails a request: the database already
holds the change, and every cache it concerns also expires by itself within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Protocol

from hegui.cluster.events import Event, EventKind, Handler
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
    except ImportError:
        raise ConfigError(
            "HEGUI_REDIS_URL is set but the redis package is not installed: pip install 'hegui[redis]'",
            key="HEGUI_REDIS_URL",
        ) from None
    return redis, aioredis


class RedisState:
    """Redis: a synchronous client (check workers, publishing from threads) and an asyncio one (the
    event subscription, rate-limit counters on the event loop)."""

    def __init__(self, url: str) -> None:
        redis_mod, aioredis = _import_redis()
        self.url = url
        self.origin = uuid.uuid4().hex[:12]
        self.connected = False
        self.generation = 0
        self.errors: type[Exception] = redis_mod.RedisError
        self.no_script: type[Exception] = redis_mod.exceptions.NoScriptError
        options: dict[str, Any] = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}
        try:
            self.sync: redis.Redis = redis_mod.Redis.from_url(url, **options)
            self.aio: AsyncRedis = aioredis.Redis.from_url(url, **options)
            # The subscription waits for events as long as there are none: no read timeout there.
            self._listener: AsyncRedis = aioredis.Redis.from_url(url, socket_connect_timeout=TIMEOUT)
        except ValueError as exc:
            raise ConfigError(f"not a Redis URL: {exc}", key="HEGUI_REDIS_URL") from None
        self._handlers: dict[EventKind, list[Handler]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self.published_failures = 0
        self._windows: list[RedisWindows] = []

    async def ping(self) -> None:
        try:
            await self.aio.ping()
        except (self.errors, OSError) as exc:
            raise StorageError(f"Redis does not answer: {type(exc).__name__}: {exc}") from exc

    def publish(self, event: Event) -> None:
        """Tell every replica (this one ignores its own events). A failure is logged, not raised."""
        sent = Event(event.kind, self.origin, event.data)
        try:
            self.sync.publish(CHANNEL, sent.encode())
        except (self.errors, OSError) as exc:
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

    async def _listen(self, first: asyncio.Future[None]) -> None:
        backoff = 0.1
        while True:
            pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                self.generation += 1
                self.connected = True
                backoff = 0.1
                await self._dispatch(Event(EventKind.RESYNC, self.origin))
                if not first.done():
                    first.set_result(None)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        event = Event.decode(message["data"])
                    except ValueError as exc:
                        log.warning("ignored a message on %s: %s", CHANNEL, exc)
                        continue
                    if event.origin != self.origin:
                        await self._dispatch(event)
                raise ConnectionError("the Redis subscription ended")
            except (self.errors, OSError) as exc:
                if self.connected or not first.done():  # said once per outage, not once per retry
                    log.error("no Redis event subscription (%r); retrying in the background", exc)
                self.connected = False
                self.generation += 1
                if not first.done():
                    first.set_result(None)
                await asyncio.sleep(backoff)
                backoff = min(5.0, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self.connected = False
        for windows in self._windows:  # token corrections still queued
            await windows.aclose()
        for client in (self.aio, self._listener):
            with contextlib.suppress(Exception):
                await client.aclose()
        self.sync.close()


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
