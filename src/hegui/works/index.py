"""The works index: winnowed fingerprints of a protected corpus, and the runs an answer shares with it.

Built once (``hegui works index``), saved as one ``.npz`` file, loaded at start-up. It keeps

- the kept hashes, sorted, and the position of each in the concatenated normalized corpus: a lookup
  is one ``searchsorted`` over all k-gram hashes of the answer;
- the normalized text of every work, so that a run found through fingerprints is extended character
  by character to its exact ends (winnowing alone only says "somewhere within ``w`` characters"),
  and the work's own span can be named;
- the works' names.

A *run* is a chain of hits on one work that keep (nearly) the same offset between answer and work:
hits at most ``max_gap`` answer characters apart and at most ``max_shift`` characters off the chain's
offset. So a copy with a swapped character, a dropped or inserted one, or changed punctuation (dropped
by the normalizer anyway) stays one run; its length is measured in normalized characters of the answer.

The *containment* of a window of the answer in a work is the share of the window's own winnowed
fingerprints that the work also has: near 1 for a copy, near 0 for unrelated text, and still high for a
copy edited too often for a long run to survive.

Nothing here decides an action: `hegui.works.check` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hegui.text.normalize import Normalizer, default_normalizer
from hegui.works.fingerprint import kgram_hashes, winnow

#: Defaults: k-grams of 8 normalized characters, windows of 8 hashes: any shared stretch of 15
#: characters shares a fingerprint, well under the default minimum run of 50.
DEFAULT_K = 8
DEFAULT_W = 8
#: A hash seen at more places than this in the corpus (boilerplate) is looked up at this many only,
#: so that a lookup's cost stays bounded whatever the corpus repeats.
MAX_POSTINGS = 32
FORMAT = "hegui-works-index/1"
_SEP = "\x00"  # never in normalized text (the normalizer drops it): stops extension at a work's end


class IndexFormatError(ValueError):
    """The file is not a works index this version can read."""


@dataclass(frozen=True, slots=True)
class Work:
    """One protected work: its name (a path or a JSONL record's id) and its text."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of the answer shared with one work, in normalized characters of both."""

    work: int
    answer_start: int
    answer_end: int
    work_start: int
    work_end: int
    hits: int

    @property
    def length(self) -> int:
        return self.answer_end - self.answer_start


@dataclass(frozen=True, slots=True)
class Containment:
    """The share of a window's fingerprints found in one work."""

    work: int
    answer_start: int
    answer_end: int
    score: float


@dataclass(frozen=True, slots=True)
class IndexStats:
    works: int
    characters: int
    fingerprints: int


@dataclass(frozen=True, slots=True)
class FingerprintedWork:
    """One work ready for the index: its name, normalized text and winnowed fingerprints (positions
    within the work). Plain data, so that worker processes and Spark executors can return it."""

    name: str
    text: str
    hashes: npt.NDArray[np.uint64]
    positions: npt.NDArray[np.int64]


def check_kw(k: int, w: int) -> None:
    if k < 2 or w < 1:
        raise ValueError("k must be 2 or more and w 1 or more")


def fingerprint_work(work: Work, k: int, w: int, normalizer: Normalizer | None = None) -> FingerprintedWork:
    """Normalize one work and winnow its k-gram hashes: the part of a build that runs in parallel."""
    text = (normalizer or default_normalizer()).normalize(work.text).text
    fp = winnow(kgram_hashes(text, k), w)
    return FingerprintedWork(work.name, text, fp.hashes, fp.positions)


class WorksIndex:
    """Immutable after construction: safe to share between threads; a reload loads a new one."""

    def __init__(
        self,
        names: list[str],
        texts: list[str],
        hashes: npt.NDArray[np.uint64],
        positions: npt.NDArray[np.int64],
        *,
        k: int,
        w: int,
        normalizer: Normalizer | None = None,
    ) -> None:
        if len(names) != len(texts):
            raise ValueError("one name per work")
        self.names = names
        self.k = k
        self.w = w
        self.normalizer = normalizer or default_normalizer()
        self._texts = texts
        self._corpus = _SEP.join(texts)
        starts = [0]
        for t in texts[:-1]:
            starts.append(starts[-1] + len(t) + 1)
        self._starts = np.array(starts, dtype=np.int64)
        order = np.argsort(hashes, kind="stable")
        self._hashes = hashes[order]
        self._positions = positions[order]
        digest = hashlib.sha256(f"{FORMAT}:{k}:{w}".encode())
        digest.update(self._hashes.tobytes())
        digest.update("\n".join(names).encode())
        self.version = digest.hexdigest()[:12]

    # -- building, saving, loading ---------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        works: Iterable[Work],
        *,
        k: int = DEFAULT_K,
        w: int = DEFAULT_W,
        normalizer: Normalizer | None = None,
    ) -> WorksIndex:
        check_kw(k, w)
        norm = normalizer or default_normalizer()
        return cls.assemble((fingerprint_work(work, k, w, norm) for work in works), k=k, w=w, normalizer=norm)

    @classmethod
    def assemble(
        cls,
        parts: Iterable[FingerprintedWork],
        *,
        k: int,
        w: int,
        normalizer: Normalizer | None = None,
    ) -> WorksIndex:
        """The index of works fingerprinted one by one (here, in worker processes or on Spark), in the
        order given: the same parts in the same order give the same index, whoever computed them."""
        check_kw(k, w)
        names: list[str] = []
        texts: list[str] = []
        all_hashes: list[npt.NDArray[np.uint64]] = []
        all_positions: list[npt.NDArray[np.int64]] = []
        offset = 0
        for part in parts:
            names.append(part.name)
            texts.append(part.text)
            all_hashes.append(part.hashes)
            all_positions.append(part.positions + offset)
            offset += len(part.text) + 1
        hashes = np.concatenate(all_hashes) if all_hashes else np.zeros(0, dtype=np.uint64)
        positions = np.concatenate(all_positions) if all_positions else np.zeros(0, dtype=np.int64)
        return cls(names, texts, hashes, positions, k=k, w=w, normalizer=normalizer)

    def save(self, path: Path) -> None:
        meta = json.dumps(
            {"format": FORMAT, "k": self.k, "w": self.w, "names": self.names}, ensure_ascii=False
        )
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                meta=np.frombuffer(meta.encode("utf-8"), dtype=np.uint8),
                text=np.frombuffer(self._corpus.encode("utf-8"), dtype=np.uint8),
                hashes=self._hashes,
                positions=self._positions.astype(np.uint32 if len(self._corpus) < 2**32 else np.int64),
            )

    @classmethod
    def load(cls, path: Path, *, normalizer: Normalizer | None = None) -> WorksIndex:
        """Load an index file; `IndexFormatError` (or OSError) when it cannot be read as one."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf-8"))
                corpus = bytes(data["text"]).decode("utf-8")
                hashes = data["hashes"].astype(np.uint64)
                positions = data["positions"].astype(np.int64)
        except (KeyError, ValueError, UnicodeDecodeError, EOFError) as exc:
            raise IndexFormatError(f"{path} is not a works index: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise IndexFormatError(f"{path} is not a {FORMAT} file")
        names = [str(n) for n in meta["names"]]
        texts = corpus.split(_SEP) if names else []
        if len(texts) != len(names) or len(hashes) != len(positions):
            raise IndexFormatError(f"{path} is inconsistent (works, texts or fingerprints do not agree)")
        return cls(names, texts, hashes, positions, k=int(meta["k"]), w=int(meta["w"]), normalizer=normalizer)

    def stats(self) -> IndexStats:
        return IndexStats(len(self.names), sum(len(t) for t in self._texts), len(self._hashes))

    # -- lookup -------------------------------------------------------------------------------------------

    def _hits(self, hashes: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(answer position, corpus position) of every k-gram hash of the answer found in the index."""
        left = np.searchsorted(self._hashes, hashes, side="left")
        right = np.searchsorted(self._hashes, hashes, side="right")
        counts = np.minimum(right - left, MAX_POSTINGS)
        found = np.flatnonzero(counts)
        if len(found) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        reps = counts[found]
        answer_pos = np.repeat(found, reps).astype(np.int64)
        # Index of each posting: left[i] + 0, 1, … reps-1 for every found i.
        within = np.arange(int(reps.sum()), dtype=np.int64) - np.repeat(np.cumsum(reps) - reps, reps)
        corpus_pos = self._positions[np.repeat(left[found], reps) + within]
        return answer_pos, corpus_pos

    def runs(self, answer: str, *, max_gap: int | None = None, max_shift: int = 3) -> list[Run]:
        """Every run the normalized ``answer`` shares with an indexed work, longest first."""
        gap = max_gap if max_gap is not None else 2 * self.k + self.w
        answer_pos, corpus_pos = self._hits(kgram_hashes(answer, self.k))
        if len(answer_pos) == 0:
            return []
        work = np.searchsorted(self._starts, corpus_pos, side="right") - 1
        order = np.lexsort((answer_pos, work))
        chains: list[
            list[int]
        ] = []  # [work, first answer pos, last answer pos, offset, first corpus, last corpus, hits]
        open_by_work: dict[int, list[list[int]]] = {}
        for i in order.tolist():
            wk, a, c = int(work[i]), int(answer_pos[i]), int(corpus_pos[i])
            offset = c - a
            best: list[int] | None = None
            for chain in open_by_work.get(wk, ()):
                if a - chain[2] <= gap and abs(offset - chain[3]) <= max_shift and c >= chain[5]:
                    best = chain
                    break
            if best is None:
                chain = [wk, a, a, offset, c, c, 1]
                chains.append(chain)
                open_by_work.setdefault(wk, []).append(chain)
            else:
                best[2], best[3], best[5], best[6] = a, offset, c, best[6] + 1
            # Chains that can no longer grow are closed, so the inner loop stays short.
            open_by_work[wk] = [ch for ch in open_by_work[wk] if a - ch[2] <= gap]
        out = [self._extend(answer, ch) for ch in chains]
        out.sort(key=lambda r: (-r.length, r.answer_start))
        return out

    def _extend(self, answer: str, chain: list[int]) -> Run:
        wk, a0, a1, _offset, c0, c1, hits = chain
        corpus = self._corpus
        a_end, c_end = a1 + self.k, c1 + self.k
        while a0 > 0 and c0 > 0 and answer[a0 - 1] == corpus[c0 - 1]:
            a0, c0 = a0 - 1, c0 - 1
        while a_end < len(answer) and c_end < len(corpus) and answer[a_end] == corpus[c_end]:
            a_end, c_end = a_end + 1, c_end + 1
        start = int(self._starts[wk])
        return Run(wk, a0, a_end, c0 - start, c_end - start, hits)

    def containment(self, answer: str, *, window: int, step: int | None = None) -> list[Containment]:
        """For every window of ``window`` normalized characters (by ``step``, default half a window),
        the best work's share of the window's winnowed fingerprints; windows with no shared one are
        left out. A text shorter than one window is one window."""
        fp = winnow(kgram_hashes(answer, self.k), self.w)
        if len(fp.hashes) == 0:
            return []
        left = np.searchsorted(self._hashes, fp.hashes, side="left")
        right = np.searchsorted(self._hashes, fp.hashes, side="right")
        # The works each fingerprint occurs in (bounded like a lookup).
        works_of: list[set[int]] = []
        for lo, hi in zip(left.tolist(), right.tolist(), strict=True):
            pos = self._positions[lo : min(hi, lo + MAX_POSTINGS)]
            works_of.append(set((np.searchsorted(self._starts, pos, side="right") - 1).tolist()))
        step = step or max(1, window // 2)
        starts = list(range(0, max(1, len(answer) - window + step), step))
        out: list[Containment] = []
        positions = fp.positions
        for s in starts:
            e = min(s + window, len(answer))
            lo, hi = np.searchsorted(positions, [s, e - self.k + 1])
            total = int(hi - lo)
            if total == 0:
                continue
            counts: dict[int, int] = {}
            for j in range(int(lo), int(hi)):
                for wk in works_of[j]:
                    counts[wk] = counts.get(wk, 0) + 1
            if counts:
                wk, n = max(counts.items(), key=lambda kv: (kv[1], -kv[0]))
                out.append(Containment(wk, s, e, n / total))
        return out

    def work_text(self, work: int, start: int, end: int) -> str:
        """The normalized text of ``work`` between ``start`` and ``end``."""
        return self._texts[work][start:end]
