"""An exact, vectorized look-up from n-gram hash ids to weight rows: the explicit vocabulary of the
judgement models and the comment classifier.

A model with an explicit vocabulary has a weight row only for the n-grams seen in enough training texts;
every other n-gram must count nothing. The look-up therefore has to be exact (an id is either in the
vocabulary or not) and fast: a 2,000-character prompt has about 8,000 n-grams, and the whole input stage
has 2 ms. numpy has no hash map, and a binary search (`np.searchsorted` over ~500k sorted ids) costs about
1 ms for 8,000 ids; a Python dict costs more (one interpreter step per id). So this module is a small
open-addressing hash table written by hand with numpy array operations (a dozen array operations per
look-up, whatever the number of ids):

* **Layout.** ``2**k`` home slots, ``k`` the smallest with ``2**k >= 4 × len(ids)`` (load ≤ 0.25, so
  almost every id is at its home slot), plus a tail so that probing never wraps. One int64 per slot
  holds the id (low 32 bits) and its row (bits 32–62): one gather reads both. An empty slot holds a
  sentinel id (a value that is not in the table) and the *missing* row. Bit 63 of a slot says that an
  id whose home is this slot lives further on (it was displaced).
* **Home slot.** Fibonacci hashing of the uint32 id: ``(id * 0x9E3779B1 mod 2**32) >> (32 - k)``, so ids
  that differ only in their high or low bits still spread.
* **Linear probing, two rounds.** An id lives at its home slot or after it, with no empty slot between.
  Round one reads every id's home slot: found, or absent unless the slot's displaced bit is set (a few
  percent of slots). Round two reads, for those few ids at once, the ``max_probe - 1`` slots after their
  home (in chunks of 32 when a table is crowded); ids are distinct, so a match there is the id.
* **Build.** Rounds at load time: every unplaced id tries its current slot; of those trying one empty
  slot the first (in the given order) takes it, the others move one slot on. About 0.1 s for 500k ids.

``lookup`` returns, for each id, its row (``0 … len(ids) - 1``, the id's position in the ``ids`` given to
the constructor) or ``missing`` (= ``len(ids)``): a model appends one zero row to its weights so that a
missing id gathers zeros. Ids given first win their home slot, so a model lists its most frequent n-grams
first. Immutable after construction; safe to share between threads.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.uint32]
Rows = npt.NDArray[np.intp]

_FIB = np.uint32(0x9E3779B1)
_ROW_SHIFT = np.int64(32)
_ROW_MASK = np.int64(0x7FFFFFFF)
_DISPLACED = np.int64(-(1 << 63))  # bit 63
#: Round two reads at most this many slots per id at once.
_CHUNK = 32
#: Load factor bound: home slots >= this many times the number of ids.
SLOTS_PER_ID = 4


def _sentinel(ids: Ids) -> np.uint32:
    """The largest uint32 value that is not an id (empty slots hold it). Of the ``len(ids) + 1`` largest
    values at least one is free."""
    low = 0xFFFFFFFF - len(ids)
    taken = set(ids[ids >= np.uint32(low)].tolist())
    value = 0xFFFFFFFF
    while value in taken:
        value -= 1
    return np.uint32(value)


class IdTable:
    """An exact map from uint32 ids to row numbers (see the module doc)."""

    __slots__ = ("_bits", "_sentinel", "_shift", "_slots", "max_probe", "missing")

    def __init__(self, ids: npt.ArrayLike, *, slots_log2: int | None = None) -> None:
        keys = np.asarray(ids)
        if keys.ndim != 1:
            raise ValueError("ids must be a vector")
        if len(keys) and (int(keys.min()) < 0 or int(keys.max()) > 0xFFFFFFFF):
            raise ValueError("ids must fit in uint32")
        keys = keys.astype(np.uint32)
        ordered = np.sort(keys)
        if np.any(ordered[1:] == ordered[:-1]):
            raise ValueError("ids must be distinct")
        if slots_log2 is None:
            slots_log2 = max(4, int(np.ceil(np.log2(max(1, SLOTS_PER_ID * len(keys))))))
        if not 1 <= slots_log2 <= 31 or (1 << slots_log2) < len(keys):
            raise ValueError(f"slots_log2 {slots_log2} cannot hold {len(keys)} ids")
        self._bits = slots_log2
        self.missing = len(keys)
        self._sentinel = _sentinel(keys)
        place, home = self._place(keys)
        #: The most slots a look-up reads for an id in the table (its home slot and the ones after it).
        self.max_probe = int((place - home).max()) + 1 if len(keys) else 1
        # Every probe window ends inside the arrays: empty slots after the last used one.
        length = max(1 << slots_log2, int(place.max()) + 1 if len(keys) else 0) + self.max_probe
        slots = np.full(length, (np.int64(self.missing) << _ROW_SHIFT) | np.int64(self._sentinel), np.int64)
        slots[place] = (np.arange(len(keys), dtype=np.int64) << _ROW_SHIFT) | keys.astype(np.int64)
        displaced = home[place != home]
        slots[displaced] |= _DISPLACED
        self._slots = slots
        self._shift = np.uint32(32 - slots_log2)

    def _home(self, ids: Ids) -> Ids:
        return (ids * _FIB) >> np.uint32(32 - self._bits)

    def _place(self, keys: Ids) -> tuple[Rows, Rows]:
        """The slot of every id (rounds of linear probing; see the module doc) and its home slot."""
        home = self._home(keys).astype(np.intp)
        taken = np.zeros((1 << self._bits) + 16, dtype=bool)
        claim = np.zeros(len(taken), dtype=np.intp)
        where = home.copy()  # the slot each id tries now
        place = np.empty(len(keys), dtype=np.intp)
        pending = np.arange(len(keys))
        while pending.size:
            cand = where[pending]
            if int(cand.max()) >= len(taken):  # past the end: grow the tail (probing never wraps)
                grow = len(taken) // 8
                taken = np.concatenate([taken, np.zeros(grow, dtype=bool)])
                claim = np.concatenate([claim, np.zeros(grow, dtype=np.intp)])
            # Of the ids trying one slot, the first in ``keys`` order claims it (written last, so it stays).
            claim[cand[::-1]] = pending[::-1]
            wins = (claim[cand] == pending) & ~taken[cand]
            won = pending[wins]
            place[won] = where[won]
            taken[where[won]] = True
            pending = pending[~wins]
            where[pending] += 1
        return place, home

    @property
    def nbytes(self) -> int:
        return int(self._slots.nbytes)

    def lookup(self, ids: npt.NDArray[np.uint32]) -> Rows:
        """The row of every id (any shape; uint32), ``missing`` where an id is not in the table."""
        flat = np.ascontiguousarray(ids, dtype=np.uint32).reshape(-1)
        home = (flat * _FIB) >> self._shift
        slot = np.take(self._slots, home)
        found = slot.astype(np.uint32) == flat  # the low 32 bits: the id
        rows = np.where(found, (slot >> _ROW_SHIFT) & _ROW_MASK, self.missing)
        todo = np.flatnonzero((slot < 0) & ~found)  # not at home, and someone was displaced from it
        start = 1
        while todo.size and start < self.max_probe:
            width = min(_CHUNK, self.max_probe - start)
            window = np.take(self._slots, home[todo, None] + np.arange(start, start + width))
            ids_in = window.astype(np.uint32)
            match = ids_in == flat[todo, None]
            hit = np.flatnonzero(match)  # at most one per row: ids are distinct
            rows[todo[hit // width]] = (window.reshape(-1)[hit] >> _ROW_SHIFT) & _ROW_MASK
            # Go on only for ids not found whose window held no empty slot.
            todo = todo[~match.any(axis=1) & (ids_in != self._sentinel).all(axis=1)]
            start += width
        return rows.reshape(np.shape(ids))
