"""`RedisMemoryStore`: the guard's session memory (`MemoryStore`) on Redis, shared by every replica.

A session's turns and refused-prompt sketches are two Redis lists under a key derived from a keyed
hash of (tenant, end user, session), so Redis holds no user id in clear. A turn is stored as
ciphertext under the end user's own data key (`Vault`, as `DbMemoryStore` does): erasing the user
(``hegui data delete``) makes every copy unreadable. Sketches are MinHash hashes and categories, never
text. Both lists keep the newest ``max_turns`` / ``max_refused`` entries and expire ``ttl`` seconds
after the session's last turn.

Every call touches one key, so the store works on a Redis Cluster as on one server (the names carry
no hash tag: nothing needs two of them in one slot).

Sessions without an end-user id never reach this store (the gateway gives them no memory). A Redis
failure raises StorageError: the check that read the memory then fails and the text is refused, never
passed unchecked. Calls block on the network, so the checks that read it run in the check workers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from hegui.errors import ContentErased, StorageError
from hegui.guard.memory import InMemoryMemoryStore, SessionKey, Sketch, Turn
from hegui.guard.types import Action
from hegui.records.sanctions_store import iso, parse_iso
from hegui.records.vault import Vault

if TYPE_CHECKING:
    import redis


_PUSH = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


def _as_tuple(errors: type[Exception] | tuple[type[Exception], ...]) -> tuple[type[Exception], ...]:
    return errors if isinstance(errors, tuple) else (errors,)


class RedisMemoryStore:
    """A thread-safe `MemoryStore` on Redis (redis-py's client keeps a connection pool)."""

    #: Reading it waits on the network: the checks that read it run off the event loop.
    blocking = True

    def __init__(
        self,
        client: redis.Redis,
        vault: Vault,
        secret: bytes,
        *,
        errors: type[Exception] | tuple[type[Exception], ...],
        max_turns: int = 64,
        max_refused: int = 256,
        ttl_seconds: int = 86_400,
    ) -> None:
        if max_turns < 1 or max_refused < 1 or ttl_seconds < 1:
            raise ValueError("the session memory must keep at least one turn and one sketch for a second")
        self._redis = client
        self._vault = vault
        self._secret = secret
        self._failures: tuple[type[Exception], ...] = (*_as_tuple(errors), OSError)
        self._max_turns, self._max_refused, self._ttl = max_turns, max_refused, ttl_seconds
        #: Append, trim and expire in one step: a script, so that a cluster client (whose pipelines
        #: may not run MULTI, depending on redis-py's version) runs it as a single server does.
        self._push_script = client.register_script(_PUSH)
        #: Sessions without an end user (none reach here from the gateway today): this process only.
        self._local = InMemoryMemoryStore(max_turns=max_turns, max_refused=max_refused)

    def _key(self, key: SessionKey, what: str) -> str:
        ident = "\x00".join((key.tenant, key.user or "", "" if key.session is None else "s" + key.session))
        digest = hmac.new(self._secret, ident.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"hegui:mem:{digest[:40]}:{what}"

    @contextmanager
    def _errors_as(self, what: str) -> Iterator[None]:
        try:
            yield
        except self._failures as exc:
            raise StorageError(f"{what} failed: Redis: {type(exc).__name__}: {exc}") from exc

    def _push(self, name: str, value: str, keep: int) -> None:
        self._push_script(keys=[name], args=[value, keep, self._ttl])

    def append_turn(self, key: SessionKey, turn: Turn) -> None:
        if key.user is None:
            self._local.append_turn(key, turn)
            return
        token = self._vault.encrypt(key.tenant, key.user, turn.text)
        value = json.dumps({"c": token, "a": Action(turn.action).value, "at": iso(turn.at)})
        with self._errors_as("remembering a turn"):
            self._push(self._key(key, "turns"), value, self._max_turns)

    def turns(self, key: SessionKey, limit: int) -> Sequence[Turn]:
        if key.user is None:
            return self._local.turns(key, limit)
        if limit <= 0:
            return ()
        with self._errors_as("reading session memory"):
            raw: list[Any] = self._redis.lrange(self._key(key, "turns"), -min(limit, self._max_turns), -1)
        out: list[Turn] = []
        for item in raw:
            row = json.loads(item)
            try:
                text = self._vault.decrypt(key.tenant, key.user, row["c"])
            except ContentErased:  # the user was erased: nothing to remember
                return ()
            out.append(Turn(text, parse_iso(row["at"]), Action(row["a"])))
        return tuple(out)

    def add_refused(self, key: SessionKey, sketch: Sketch) -> None:
        if key.user is None:
            self._local.add_refused(key, sketch)
            return
        value = json.dumps(
            {"hashes": list(sketch.hashes), "size": sketch.size, "categories": list(sketch.categories)}
        )
        with self._errors_as("remembering a refused prompt"):
            self._push(self._key(key, "refused"), value, self._max_refused)

    def refused(self, key: SessionKey) -> Sequence[Sketch]:
        if key.user is None:
            return self._local.refused(key)
        with self._errors_as("reading refused prompts"):
            raw: list[Any] = self._redis.lrange(self._key(key, "refused"), 0, -1)
        out = []
        for item in raw:
            row = json.loads(item)
            out.append(
                Sketch(tuple(int(h) for h in row["hashes"]), int(row["size"]), tuple(row["categories"]))
            )
        return tuple(out)
