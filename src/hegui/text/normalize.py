"""Normalization for matching, with an offset map back to the original text.

One table, built once, folds every code point to the one character it is matched as: NFKC (full-width
forms, compatibility ideographs, styled letters and digits), case, look-alike letters of other scripts
(`homoglyphs`), and traditional → simplified Chinese (OpenCC ``t2s``, character by character). The same
table marks the characters that are dropped: invisible ones (zero-width, bidi and tag characters,
variation selectors, combining marks) and separators (white space, punctuation, symbols, emoji) that
can be inserted between the characters of a term. Runs of the same character are then collapsed to
one, and the length of each run is kept so that a matcher can ask for a term's own doubled letters.

Every step works on whole arrays (numpy over the text's UTF-32 code units), never character by
character in Python: a 2,000-character prompt normalizes in microseconds, and the offset map costs two
array operations. Every folded character comes from exactly one original character, which is what
makes spans exact.

This module must never change the text it is given, and never report a span that is not a span of the
original text.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import itertools
import os
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import opencc

from hegui.text.homoglyphs import HOMOGLYPHS, INVISIBLE_EXTRA

#: Value of a dropped character in the fold table.
DROP = 0
#: How many texts' normalizations each thread keeps for the next caller that asks for the same string
#: object (`Normalizer.normalize`), and how many characters the ones before the newest may hold in all
#: (the newest is always kept, as when one was): about 30 bytes of arrays per character, so at most
#: about 2 MB per thread beyond the newest text.
REMEMBERED = 4
REMEMBERED_CHARS = 1 << 16

_SEPARATOR_CATEGORIES = ("Z", "P", "S", "C", "M")
# Code points above the BMP/SMP that need folding: CJK extensions (t2s) and plane 14 (tags, selectors).
_RANGES = (range(0x20000), range(0x20000, 0x32000), range(0xE0000, 0xE1000))

Codes = npt.NDArray[np.uint32]
Index = npt.NDArray[np.intp]


def _fold_char(c: str) -> str:
    nf = unicodedata.normalize("NFKC", c)
    if len(nf) != 1:
        nf = c
    low = nf.casefold()
    if len(low) != 1:
        low = nf.lower() if len(nf.lower()) == 1 else nf
    return HOMOGLYPHS.get(low, low)


def _dropped(c: str, folded: str) -> bool:
    if c in INVISIBLE_EXTRA or c == "\x00":
        return True
    # The folded character decides: a Kangxi radical (a symbol) folds to an ideograph and is kept.
    return unicodedata.category(folded)[0] in _SEPARATOR_CATEGORIES


def code_points(text: str) -> Codes:
    """The code points of ``text`` as an array (lone surrogates included), without a Python loop."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@lru_cache(maxsize=1)
def fold_table() -> Codes:
    """The fold table: code point → folded code point, or DROP. Built once per machine (~0.3 s of CPU,
    most of a short command's start-up) and kept in the cache directory (`cached_fold_table`)."""
    path = fold_table_cache()
    if path is not None:
        with contextlib.suppress(OSError, ValueError):
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (0x110000,) and cached.dtype == np.uint32:
                return cast(Codes, cached)
    table = build_fold_table()
    if path is not None:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with partial.open("wb") as out:
                np.save(out, table, allow_pickle=False)
            os.replace(partial, path)  # readers see the whole file or none
    return table


def cache_dir() -> Path | None:
    """hegui's cache directory: ``$HEGUI_CACHE_DIR`` (``none`` turns every cache off), else
    ``$XDG_CACHE_HOME/hegui``, else ``~/.cache/hegui``."""
    base = os.environ.get("HEGUI_CACHE_DIR")
    if base is not None and base.strip().lower() in ("none", "off", ""):
        return None
    if base is None:
        base = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hegui")
    return Path(base)


def fold_table_cache() -> Path | None:
    """Where the fold table is kept (in `cache_dir`). The file name carries a digest of everything the
    table is built from (this module's source, the Unicode version of this Python, OpenCC's version, the
    homoglyph and invisible-character tables), so a change to any of them builds a new one."""
    base = cache_dir()
    if base is None:
        return None
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    digest.update(unicodedata.unidata_version.encode())
    try:
        digest.update(importlib.metadata.version("OpenCC").encode())
    except importlib.metadata.PackageNotFoundError:
        digest.update(b"opencc-unknown")
    digest.update(repr(sorted(HOMOGLYPHS.items())).encode())
    digest.update(repr(sorted(INVISIBLE_EXTRA)).encode())
    return base / f"fold-table-{digest.hexdigest()[:20]}.npy"


def build_fold_table() -> Codes:
    """The fold table computed from Unicode, OpenCC and the homoglyph tables (what the cache holds)."""
    table = np.arange(0x110000, dtype=np.uint32)
    cjk: list[str] = []
    for rng in _RANGES:
        for cp in rng:
            c = chr(cp)
            if 0xD800 <= cp < 0xE000:
                continue
            folded = _fold_char(c)
            if _dropped(c, folded):
                table[cp] = DROP
                continue
            if folded != c:
                table[cp] = ord(folded)
            if unicodedata.category(folded) == "Lo" and ord(folded) >= 0x3400:
                cjk.append(folded)
    # t2s character by character: one character per line, so that no phrase rule spans two of them.
    simplified = opencc.OpenCC("t2s").convert("\n".join(cjk)).split("\n")
    if len(simplified) == len(cjk):
        for trad, simp in zip(cjk, simplified, strict=True):
            if len(simp) == 1 and simp != trad:
                table[ord(trad)] = table[ord(simp)]
    # Re-folding a folded character must not change it again (the table is applied once).
    table[:] = table[table]
    return table


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """The normalized text and the map back to the original.

    ``text[i]`` stands for a run of ``runs[i]`` equal folded characters; the first of them is the
    original character ``kept[first[i]]``, the last ``kept[first[i] + runs[i] - 1]``. ``kept`` lists
    the original positions of the characters that were not dropped. ``folded`` is the fold of every
    original character (DROP for dropped ones), for context checks such as word boundaries. ``codes``
    holds the code points of ``text``, for searches that read arrays.
    """

    original: str
    text: str
    folded: Codes
    kept: Index
    first: Index
    runs: Index
    codes: Codes

    def span(self, start: int, end: int, need_first: int = 1, need_last: int = 1) -> tuple[int, int]:
        """The original span of normalized ``text[start:end]``.

        Of the first run only its last ``need_first`` characters belong to the span, of the last run
        only its first ``need_last``: extra repetitions on the outside are not part of a match.
        """
        k_first = int(self.first[start] + self.runs[start] - need_first)
        k_last = int(self.first[end - 1] + need_last - 1)
        return int(self.kept[k_first]), int(self.kept[k_last]) + 1

    def run_bounds(self, index: int) -> tuple[int, int]:
        """Original positions of the first and the last character of normalized character ``index``."""
        k = int(self.first[index])
        return int(self.kept[k]), int(self.kept[k + int(self.runs[index]) - 1])


class Normalizer:
    """Folds, drops invisible characters and separators, and collapses repeats; see the module doc."""

    def __init__(self) -> None:
        self._table = fold_table()
        #: This thread's last few ``normalize`` calls (text object, result; the newest first): a stage's
        #: checks run one after another over the same string (the lexicon, the prompt model, …), so
        #: each text is normalized once per stage, not once per check. More than one is kept because
        #: the output stage's checks alternate between texts: the answer model reads the answer, the
        #: question and the answer again, then the lexicon reads the answer (with one entry, the answer
        #: was normalized two or three times).
        self._last = threading.local()

    def fold_codes(self, text: str) -> Codes:
        return self._table[code_points(text)]

    def normalize(self, text: str) -> NormalizedText:
        """``text`` normalized, with its offset map. The arrays of the result are read-only: the same
        result is handed to every caller that asks for the same string object in this thread."""
        recent: list[tuple[str, NormalizedText]] | None = getattr(self._last, "recent", None)
        if recent is None:
            recent = self._last.recent = []
        for i, (seen, result) in enumerate(recent):
            if seen is text:  # identity: the same object, never a lookup by content
                if i:
                    recent.insert(0, recent.pop(i))
                return result
        result = self._normalize(text)
        for array in (result.folded, result.kept, result.first, result.runs, result.codes):
            array.setflags(write=False)
        recent.insert(0, (text, result))
        del recent[REMEMBERED:]
        while len(recent) > 1 and sum(len(seen) for seen, _ in recent[1:]) > REMEMBERED_CHARS:
            recent.pop()
        return result

    def _normalize(self, text: str) -> NormalizedText:
        # ndarray methods and ufuncs with ``out``, not np.flatnonzero / np.diff: those wrappers cost more
        # than the work on a chat-length text.
        folded = self.fold_codes(text)
        kept = folded.nonzero()[0]
        chars = folded[kept]
        n = len(chars)
        if n == 0:
            empty = np.zeros(0, dtype=np.intp)
            return NormalizedText(text, "", folded, kept, empty, empty, chars)
        starts = np.empty(n, dtype=bool)
        starts[0] = True
        np.not_equal(chars[1:], chars[:-1], out=starts[1:])
        first = starts.nonzero()[0]
        runs = np.empty(len(first), dtype=first.dtype)
        np.subtract(first[1:], first[:-1], out=runs[:-1])
        runs[-1] = n - first[-1]
        codes = chars[first]
        out = codes.tobytes().decode("utf-32-le", "surrogatepass")
        return NormalizedText(text, out, folded, kept, first, runs, codes)

    def fold_runs(self, text: str) -> tuple[str, tuple[int, ...]]:
        """``normalize(text).text`` and its ``runs``, without the offset map, in plain Python: for short
        strings (lexicon terms, tens of thousands of them at load) a loop beats numpy's per-call cost."""
        table = self._table
        chars: list[int] = []
        runs: list[int] = []
        for ch in text:
            code = int(table[ord(ch)])
            if code == DROP:
                continue
            if chars and chars[-1] == code:
                runs[-1] += 1
            else:
                chars.append(code)
                runs.append(1)
        return "".join(map(chr, chars)), tuple(runs)

    def fold_runs_many(self, texts: Sequence[str]) -> list[tuple[str, tuple[int, ...]]]:
        """``fold_runs`` of every text (a lexicon's 64k terms at load), with array operations over all of
        them: one table lookup, the runs found across the whole array (a run never crosses from one text
        into the next), one decoding; Python then only slices each text's part out."""
        if not texts:
            return []
        folded = self.fold_codes("".join(texts))
        lengths = np.fromiter(map(len, texts), dtype=np.intp, count=len(texts))
        owner = np.repeat(np.arange(len(texts), dtype=np.intp), lengths)  # the text of each character
        kept = folded != DROP
        chars, owner = folded[kept], owner[kept]
        # A run starts where the character or the text changes.
        starts = np.ones(len(chars), dtype=bool)
        starts[1:] = (chars[1:] != chars[:-1]) | (owner[1:] != owner[:-1])
        first = starts.nonzero()[0]
        runs = np.diff(first, append=len(chars)).tolist()
        # Each text's runs are a slice of ``first``: from the first run of the text to the next text's.
        bounds = np.searchsorted(owner[first], np.arange(len(texts) + 1), side="left").tolist()
        decoded = chars[first].tobytes().decode("utf-32-le", "surrogatepass")
        return [(decoded[lo:hi], tuple(runs[lo:hi])) for lo, hi in itertools.pairwise(bounds)]

    def fold(self, text: str) -> str:
        """The text with every character folded and dropped ones removed (repeats kept)."""
        folded = self.fold_codes(text)
        return str(folded[folded != DROP].tobytes().decode("utf-32-le", "surrogatepass"))


@lru_cache(maxsize=1)
def default_normalizer() -> Normalizer:
    return Normalizer()
