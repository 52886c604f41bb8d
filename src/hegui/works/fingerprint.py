"""k-gram hashes and winnowing (Schleimer, Wilkerson, Aiken 2003) over normalized character codes.

The text is first folded by `hegui.text.normalize` (traditional → simplified, width, case, look-alikes;
punctuation, white space and invisible characters dropped; repeats collapsed), so a copy that only
changes those meets its source. Every k consecutive normalized characters give one 64-bit hash;
winnowing keeps the smallest hash of every window of ``w`` consecutive hashes. Any shared stretch of at
least ``w + k - 1`` normalized characters therefore shares at least one kept hash: that is the
guarantee the index relies on, and why ``w + k - 1`` must stay well below the policy's minimum run.

Everything is numpy over whole arrays: no Python loop per character.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Hashes = npt.NDArray[np.uint64]
Positions = npt.NDArray[np.int64]

_BASE = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """Kept hashes and the normalized position of the k-gram each one starts at."""

    hashes: Hashes
    positions: Positions


def codes(text: str) -> npt.NDArray[np.uint64]:
    """The text's code points as uint64 (normalized text is given; nothing is folded here)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


def kgram_hashes(text: str, k: int) -> Hashes:
    """One hash per k-gram of ``text`` (``len(text) - k + 1`` of them; none when shorter than k)."""
    c = codes(text)
    n = len(c) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = np.zeros(n, dtype=np.uint64)
        for j in range(k):
            h = h * _BASE + c[j : j + n]
        # A finaliser (murmur3's fmix64) so that the minimum of a window is a fair random pick.
        h ^= h >> np.uint64(33)
        h *= _MIX1
        h ^= h >> np.uint64(33)
        h *= _MIX2
        h ^= h >> np.uint64(33)
    return h


def winnow(hashes: Hashes, w: int) -> Fingerprints:
    """The minimum hash of every window of ``w`` hashes (rightmost on ties), each position kept once.

    ``w = 1`` keeps every k-gram (the full index, the baseline winnowing is measured against).
    """
    n = len(hashes)
    if n == 0:
        return Fingerprints(hashes, np.zeros(0, dtype=np.int64))
    if w <= 1 or n <= w:
        if w <= 1:
            return Fingerprints(hashes.copy(), np.arange(n, dtype=np.int64))
        pos = int(n - 1 - np.argmin(hashes[::-1]))
        return Fingerprints(hashes[pos : pos + 1].copy(), np.array([pos], dtype=np.int64))
    windows = np.lib.stride_tricks.sliding_window_view(hashes[::-1], w)
    # argmin over the reversed windows finds the rightmost minimum of each original window.
    rev_first = np.argmin(windows, axis=1)
    rev_start = np.arange(len(windows), dtype=np.int64)
    picked = (n - 1) - (rev_start + rev_first)
    positions = np.unique(picked)
    return Fingerprints(hashes[positions], positions.astype(np.int64))
