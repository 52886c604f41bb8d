"""Associative memory (关联记忆) per end user and session: what a single-turn check cannot see.

Two checks read the session's memory through ``Context.memory``:

- `SplitTurnCheck` runs an inner check (a deny-list, a lexicon) over the previous turns joined to the
  current one, and reports matches that *cross* into the current turn: a banned term typed in pieces
  over several turns is caught, with its span clipped to the current text.
- `NearDuplicateCheck` compares the current text with the prompts this session had refused, by MinHash
  (bottom-k sketches of character shingles); a light rewording of a refused prompt is refused too.

`remember` writes a turn after its verdict: refused or masked turns are marked ``trainable=False`` so
nothing downstream may put them in a training pool, and refused ones leave a sketch (never the text)
for near-duplicate detection. Storage is the small `MemoryStore` protocol; the records room implements
it on Redis or the database, `InMemoryMemoryStore` serves tests and a single process. Nothing here
does I/O.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast, runtime_checkable

from hegui.guard.types import Action, Check, Context, Finding, Stage, Verdict, blocks

# --- MinHash over character shingles ---------------------------------------------------------------

SKETCH_SIZE = 64
SHINGLE = 2


def _fold(text: str) -> str:
    """NFKC, case-folded, without whitespace, punctuation and symbols: what a rewording keeps."""
    t = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in t if unicodedata.category(c)[0] in "LN")


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    t = _fold(text)
    return {t[i : i + k] for i in range(len(t) - k + 1)}


def _h(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True, slots=True)
class Sketch:
    """A bottom-k MinHash sketch: the ``size`` smallest 64-bit shingle hashes. Holds no text."""

    hashes: tuple[int, ...]
    size: int = SKETCH_SIZE
    #: The risk categories the sketched prompt was refused for.
    categories: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, text: str, size: int = SKETCH_SIZE, k: int = SHINGLE, categories: tuple[str, ...] = ()
    ) -> Sketch:
        return cls(tuple(sorted({_h(s) for s in shingles(text, k)})[:size]), size, categories)

    def similarity(self, other: Sketch) -> float:
        """Estimated Jaccard similarity of the two shingle sets (exact when both sets are small)."""
        if not self.hashes or not other.hashes:
            return 0.0
        size = min(self.size, other.size)
        union = sorted(set(self.hashes) | set(other.hashes))[:size]
        both = set(self.hashes) & set(other.hashes)
        return sum(1 for h in union if h in both) / len(union)


# --- storage ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionKey:
    tenant: str
    user: str | None
    session: str | None

    @classmethod
    def of(cls, ctx: Context) -> SessionKey:
        return cls(ctx.tenant, ctx.user, ctx.session)


@dataclass(frozen=True, slots=True)
class Turn:
    text: str
    at: datetime
    action: Action

    @property
    def refused(self) -> bool:
        return self.action.stops

    @property
    def trainable(self) -> bool:
        """False for a refused or masked turn: nothing downstream may store it for training."""
        return self.action < Action.MASK


@runtime_checkable
class MemoryStore(Protocol):
    """Turns and refused-prompt sketches per session. Implementations must be thread-safe."""

    def append_turn(self, key: SessionKey, turn: Turn) -> None: ...

    def turns(self, key: SessionKey, limit: int) -> Sequence[Turn]: ...

    def add_refused(self, key: SessionKey, sketch: Sketch) -> None: ...

    def refused(self, key: SessionKey) -> Sequence[Sketch]: ...


class InMemoryMemoryStore:
    """A bounded `MemoryStore` in process memory; the least recently used sessions are forgotten."""

    #: Reading it never waits on I/O (see `memory_blocks`).
    blocking = False

    def __init__(self, *, max_sessions: int = 10_000, max_turns: int = 64, max_refused: int = 256) -> None:
        self._lock = threading.Lock()
        self._sessions: OrderedDict[SessionKey, tuple[deque[Turn], deque[Sketch]]] = OrderedDict()
        self._max_sessions, self._max_turns, self._max_refused = max_sessions, max_turns, max_refused

    def _slot(self, key: SessionKey) -> tuple[deque[Turn], deque[Sketch]]:
        slot = self._sessions.get(key)
        if slot is None:
            slot = (deque(maxlen=self._max_turns), deque(maxlen=self._max_refused))
            self._sessions[key] = slot
            while len(self._sessions) > self._max_sessions:
                self._sessions.popitem(last=False)
        self._sessions.move_to_end(key)
        return slot

    def append_turn(self, key: SessionKey, turn: Turn) -> None:
        with self._lock:
            self._slot(key)[0].append(turn)

    def turns(self, key: SessionKey, limit: int) -> Sequence[Turn]:
        with self._lock:
            found = self._slot(key)[0]
            return tuple(found)[-limit:] if limit > 0 else ()

    def add_refused(self, key: SessionKey, sketch: Sketch) -> None:
        with self._lock:
            self._slot(key)[1].append(sketch)

    def refused(self, key: SessionKey) -> Sequence[Sketch]:
        with self._lock:
            return tuple(self._slot(key)[1])


@runtime_checkable
class AssociativeMemory(Protocol):
    """What ``Context.memory`` offers beyond `hegui.guard.types.SessionMemory`."""

    def recent_turns(self, limit: int) -> Sequence[str]: ...

    def violations(self) -> int: ...

    def refused_sketches(self) -> Sequence[Sketch]: ...


class SessionView:
    """One session's memory, as a check sees it through ``Context.memory``."""

    def __init__(self, store: MemoryStore, key: SessionKey) -> None:
        self.store, self.key = store, key
        #: Whether reading this memory may wait on I/O: a store says so with ``blocking = False``;
        #: any other (a database) is taken to block.
        self.blocking: bool = getattr(store, "blocking", True) is not False

    def recent_turns(self, limit: int) -> Sequence[str]:
        return [t.text for t in self.store.turns(self.key, limit)]

    def violations(self) -> int:
        return len(self.store.refused(self.key))

    def refused_sketches(self) -> Sequence[Sketch]:
        return self.store.refused(self.key)


def memory_blocks(ctx: Context) -> bool:
    """Whether the request's session memory may wait on I/O when read (None: there is none)."""
    return ctx.memory is not None and getattr(ctx.memory, "blocking", True) is not False


def remember(store: MemoryStore, key: SessionKey, text: str, verdict: Verdict, at: datetime) -> Turn:
    """Record a user turn after its verdict. The stored text is the released (masked) text."""
    turn = Turn(verdict.text if verdict.action == Action.MASK else text, at, verdict.action)
    store.append_turn(key, turn)
    if verdict.stops:
        cats = tuple(dict.fromkeys(f.category for f in verdict.findings if f.action.stops))
        store.add_refused(key, Sketch.of(text, categories=cats))
    return turn


# --- checks -----------------------------------------------------------------------------------------


class SplitTurnCheck:
    """Runs ``inner`` over the last ``turns`` turns joined to the current text (input stage)."""

    def __init__(self, name: str, inner: Check, *, turns: int = 4, separator: str = "") -> None:
        if turns < 1:
            raise ValueError("split-turn detection needs at least one earlier turn")
        self.name = name
        self.inner = inner
        self.turns = turns
        self.separator = separator
        self.stages = frozenset({Stage.INPUT})
        self.horizon: int | None = inner.horizon
        self.version = f"split-turns:{turns}:{inner.version}"

    def blocking(self, ctx: Context) -> bool:
        """Reads the session memory, which blocks when it is a database."""
        return memory_blocks(ctx) or blocks(self.inner, ctx)

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        if ctx.memory is None:
            return []
        earlier = list(ctx.memory.recent_turns(self.turns))
        if not earlier:
            return []
        prefix = self.separator.join(earlier) + self.separator
        offset = len(prefix)
        joined = prefix + text
        out: list[Finding] = []
        for f in self.inner.inspect(joined, ctx):
            if f.start < offset < f.end:  # crosses from earlier turns into this one
                out.append(
                    Finding(
                        self.name,
                        f.category,
                        0,
                        f.end - offset,
                        text[: f.end - offset],
                        f.action,
                        f.score,
                        f"{f.check} matched {joined[f.start : f.end]!r} across {self.turns} recent turns",
                    )
                )
        return out


class NearDuplicateCheck:
    """Refuses a light rewording of a prompt this session had refused (MinHash similarity)."""

    def __init__(
        self,
        name: str,
        *,
        threshold: float = 0.5,
        min_shingles: int = 6,
        action: Action = Action.REFUSE,
        category: str = "A.1h",
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"similarity threshold must be in (0, 1], got {threshold}")
        self.name = name
        self.threshold = threshold
        self.min_shingles = min_shingles
        self.action = action
        self.category = category
        self.stages = frozenset({Stage.INPUT})
        self.horizon: int | None = None
        self.version = f"near-duplicate:minhash{SKETCH_SIZE}x{SHINGLE}@{threshold}"

    def blocking(self, ctx: Context) -> bool:
        """Reads the session memory, which blocks when it is a database."""
        return memory_blocks(ctx)

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        # Not isinstance(ctx.memory, AssociativeMemory): a runtime-checkable Protocol's check costs about
        # 20 µs a call; a memory that has refused sketches offers the rest of the protocol.
        if not callable(getattr(ctx.memory, "refused_sketches", None)):
            return []
        refused = cast(AssociativeMemory, ctx.memory).refused_sketches()
        if not refused or len(shingles(text)) < self.min_shingles:
            return []
        sketch = Sketch.of(text)
        best, match = max(((sketch.similarity(r), r) for r in refused), key=lambda sr: sr[0])
        if best < self.threshold:
            return []
        category = match.categories[0] if match.categories else self.category
        return [
            Finding(
                self.name,
                category,
                0,
                len(text),
                text,
                self.action,
                round(best, 4),
                f"near-duplicate of a prompt refused earlier in this session (similarity {best:.2f})",
            )
        ]
