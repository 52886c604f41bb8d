"""What one replica tells the others: an API key changed, a lexicon or the policy was reloaded, a
sanction step, an end user's data key shredded (every replica must drop its cached copy, or it could
still read the user's remembered turns).

An event names what changed, never the content (no key, no user text): a receiver drops its cache or
reads its files again, and the database or the files stay the truth. ``RESYNC`` is not published:
a replica raises it for itself after (re)connecting to Redis, since events sent while it was away
are lost (pub/sub keeps nothing), so every cache that events keep honest is dropped then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import orjson


class EventKind(StrEnum):
    KEY_CHANGED = "key-changed"
    LEXICON_RELOAD = "lexicon-reload"
    POLICY_RELOAD = "policy-reload"
    SANCTION_CHANGED = "sanction-changed"
    USER_ERASED = "user-erased"
    RESYNC = "resync"


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    #: The replica that sent it (`hegui.cluster.redis_state.RedisState.origin`).
    origin: str = ""
    data: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return orjson.dumps({"kind": self.kind.value, "origin": self.origin, "data": self.data})

    @classmethod
    def decode(cls, raw: bytes | str) -> Event:
        """The event in ``raw``; ValueError for anything that is not one of ours."""
        try:
            obj = orjson.loads(raw)
            data = obj.get("data") or {}
            return cls(
                EventKind(obj["kind"]),
                str(obj.get("origin", "")),
                {str(k): str(v) for k, v in data.items()},
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"not a hegui event: {raw[:80]!r}") from exc


Handler = Callable[[Event], None]
