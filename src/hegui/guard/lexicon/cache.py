"""Compiled lexicons kept on disk between processes.

Reading a 64k-term lexicon, assigning its tiers and compiling it costs about 1.5 s of CPU, most of a
short command's start-up (``hegui check --batch``) and of every replica's. The compiled form (terms,
patterns and what each pattern stands for; not the automaton, which is rebuilt in 0.1–0.2 s) is kept in
the cache directory (`hegui.text.normalize.cache_dir`; ``HEGUI_CACHE_DIR=none`` turns it off) under a
key that digests everything the result depends on: the bytes of every file read, every option, this
package's source, the bundled allow-list, the normalizer's fold table and the segmenter's version. A
change to any of them compiles anew; a damaged, truncated or foreign file is compiled anew, never used.

The file holds only plain values (strings, numbers, tuples) and is read by an unpickler that refuses every
class, so a planted file cannot run code; one file is kept per lexicon path. Written by hand: no
maintained library caches an object graph under a content key with a refusing reader in a few lines
(joblib's Memory pickles whole objects and loads them with the full unpickler).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import os
import pickle
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TypedDict, cast

from hegui.guard.lexicon.matcher import LexiconState, Reach, Via, _Entry
from hegui.guard.lexicon.model import Lexicon, Term, Tier
from hegui.guard.types import Action
from hegui.text.normalize import cache_dir, fold_table_cache

#: Bumped when the file's layout changes.
FORMAT = 2

_ACTIONS: dict[str | None, Action | None] = {None: None, **{a.value: a for a in Action}}
_TIERS: dict[str | None, Tier | None] = {None: None, **{t.value: t for t in Tier}}


def cache_key(files: Sequence[Path | None], options: Mapping[str, object]) -> str | None:
    """The key of a lexicon compiled from ``files`` (None: not given) with ``options`` (their ``repr``s
    are digested), or None when the cache is off or a file cannot be read (compiling then says why)."""
    fold = fold_table_cache()
    if fold is None:
        return None
    digest = hashlib.sha256(f"hegui-lexicon-cache-v{FORMAT}\n{fold.name}\n".encode())
    package = resources.files("hegui.guard.lexicon")
    for name in sorted(p.name for p in package.iterdir() if p.name.endswith((".py", ".txt"))):
        digest.update(name.encode() + b"\n" + package.joinpath(name).read_bytes())
    for dist in ("rjieba", "jieba", "pypinyin"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            digest.update(f"{dist}={importlib.metadata.version(dist)}\n".encode())
    try:
        for path in files:
            digest.update(b"\x00file " + (str(path).encode() if path else b"-") + b"\n")
            if path is not None:
                digest.update(path.read_bytes())
    except OSError:
        return None
    for key in sorted(options):
        digest.update(f"\x00{key}={options[key]!r}\n".encode())
    return digest.hexdigest()[:32]


def cache_file(source: Path, key: str) -> Path | None:
    """Where the lexicon read from ``source`` under ``key`` is kept (None: the cache is off)."""
    base = cache_dir()
    if base is None:
        return None
    slot = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
    return base / "lexicon" / f"{slot}-{key}.pickle"


def load(path: Path) -> LexiconState | None:
    """The state kept in ``path``, or None when there is none or it is damaged or foreign."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        plain = _PlainUnpickler(io.BytesIO(data)).load()
        return _from_plain(cast(_Plain, plain)) if isinstance(plain, dict) else None
    except Exception:  # whatever is wrong with the file (a missing column, a bad type), it is compiled anew
        return None


def save(path: Path, state: LexiconState) -> None:
    """Keep ``state`` in ``path`` (whole or not at all) and drop the older files of the same lexicon
    path. A cache that cannot be written is skipped silently: it only saves time."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with partial.open("wb") as out:
            pickle.dump(_to_plain(state), out, protocol=5)
        os.replace(partial, path)  # readers see the whole file or none
        slot = path.name.split("-", 1)[0]
        for old in path.parent.glob(f"{slot}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)


class _PlainUnpickler(pickle.Unpickler):
    """Plain values only: a file that names any class or function is refused."""

    def find_class(self, module: str, name: str) -> object:
        raise pickle.UnpicklingError(f"the lexicon cache holds plain values only, not {module}.{name}")


class _Plain(TypedDict):
    """The file's layout: the state in columns of plain values."""

    format: int
    texts: list[str]
    categories: list[tuple[str, ...]]
    category: list[int]
    action: list[str | None]
    pinyin: list[bool]
    tier: list[str | None]
    allow: tuple[str, ...]
    source: str
    lexicon_version: str
    max_gap: int
    skipped: tuple[str, ...]
    patterns: tuple[str, ...]
    entries: list[list[tuple[int, tuple[int, ...] | None, int, bool, bool, Via, bool]]]
    reach: tuple[int, int, bool]
    version: str


def _to_plain(state: LexiconState) -> _Plain:
    lex = state.lexicon
    categories = list(dict.fromkeys(t.categories for t in lex.terms))
    index = {c: i for i, c in enumerate(categories)}
    return {
        "format": FORMAT,
        "texts": [t.text for t in lex.terms],
        "categories": categories,
        "category": [index[t.categories] for t in lex.terms],
        "action": [t.action.value if t.action is not None else None for t in lex.terms],
        "pinyin": [t.pinyin for t in lex.terms],
        "tier": [t.tier.value if t.tier is not None else None for t in lex.terms],
        "allow": lex.allow,
        "source": lex.source,
        "lexicon_version": lex.version,
        "max_gap": state.max_gap,
        "skipped": state.skipped,
        "patterns": state.patterns,
        "entries": [
            [(e.term, e.runs, e.size, e.left, e.right, e.via, e.bounded) for e in es] for es in state.entries
        ],
        "reach": (state.reach.widest, state.reach.longest, state.reach.bounded),
        "version": state.version,
    }


def _from_plain(d: _Plain) -> LexiconState | None:
    if d.get("format") != FORMAT:
        return None
    categories = d["categories"]
    rows = zip(d["texts"], d["category"], d["action"], d["pinyin"], d["tier"], strict=True)
    terms = tuple(Term(t, categories[c], _ACTIONS[a], p, _TIERS[r]) for t, c, a, p, r in rows)
    lexicon = Lexicon(terms, d["allow"], d["source"], d["lexicon_version"])
    entries = tuple(tuple(_Entry(*e) for e in es) for es in d["entries"])
    reach = Reach(*d["reach"])
    return LexiconState(lexicon, d["max_gap"], d["skipped"], d["patterns"], entries, reach, d["version"])
