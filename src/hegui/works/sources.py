"""Reading a protected corpus: text files (one work each) and JSONL files (one work per line).

A directory is read recursively (``*.txt``, ``*.md``, ``*.jsonl``, in sorted order so that an index is
the same on every machine). A JSONL line is an object with ``text`` and optionally ``id``, ``title``
or ``name`` naming the work (else ``file:line``). A line that is not such an object is an error naming
the file and the line: a corpus half-read would be an index with holes in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from hegui.works.index import Work

SUFFIXES = (".txt", ".md", ".jsonl")


class CorpusError(ValueError):
    """A corpus file cannot be read as works."""


def files(paths: Iterable[Path]) -> Iterator[Path]:
    """The corpus files of ``paths``: files as given, directories walked in sorted order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        else:
            yield path


def read_works(paths: Iterable[Path]) -> Iterator[Work]:
    for path in files(paths):
        try:
            raw = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"cannot read {path}: {exc}") from None
        if path.suffix.lower() != ".jsonl":
            yield Work(str(path), raw)
            continue
        for n, line in enumerate(raw.splitlines(), 1):
            work = work_of_line(str(path), n, line)
            if work is not None:
                yield work


def work_of_line(path: str, n: int, line: str) -> Work | None:
    """The work on line ``n`` of a JSONL file (None for a blank line); the local and the Spark build
    share this, so a work has the same name whichever built the index."""
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path}:{n}: not JSON ({exc.msg})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise CorpusError(f"{path}:{n}: a line must be an object with a text string")
    name = next((str(obj[k]) for k in ("id", "title", "name") if obj.get(k) is not None), f"{path}:{n}")
    return Work(name, obj["text"])
