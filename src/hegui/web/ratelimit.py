"""A sliding-window rate limit per client address (the /report form's guard against floods).

In process memory: each replica counts its own clients, which bounds a flood per replica; a captcha or a
shared limiter in front of the gateway can replace it. Old entries are dropped as they age, and the
table is bounded, so a spray of addresses cannot grow it without limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self, per_hour: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 100_000
    ) -> None:
        self.per_hour = per_hour
        self._clock = clock
        self._max = max_clients
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        """Count one attempt of ``client``; False when it is over the limit (the attempt is not counted)."""
        now = self._clock()
        with self._lock:
            hits = self._hits.get(client)
            if hits is None:
                if len(self._hits) >= self._max:
                    self._prune(now)
                hits = self._hits[client] = deque()
            while hits and hits[0] <= now - 3600:
                hits.popleft()
            if len(hits) >= self.per_hour:
                return False
            hits.append(now)
            return True

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - 3600]:
            del self._hits[key]
        if len(self._hits) >= self._max:  # still full of live clients: start again rather than grow
            self._hits.clear()
