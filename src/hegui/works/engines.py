"""Building a works index with every core of one machine, or on Apache Spark for a large catalogue.

Both engines fingerprint each work on its own (`fingerprint_work`: normalize, k-gram hashes, winnow)
and the driver assembles the parts in corpus order (`WorksIndex.assemble`), so one corpus gives the
same index file whichever engine built it and however many workers it had; the tests compare them.
The one-process build (`WorksIndex.build`) is the reference.

Spark reads a JSONL file line by line with Hadoop's line splitting (``\\n``, ``\\r``, ``\\r\\n``) and a
``.txt`` / ``.md`` file whole. The local engine splits JSONL with `str.splitlines`, which also breaks at
rarer separators (U+2028, form feed, …): a JSONL line that holds one of them raw is an error locally and
one work on Spark. The Spark session, the line reading and the failures are the corpus audit's
(`hegui.corpus.sparkjob`, one code path for both): pyspark is optional (``hegui[spark]``, Java 17+); the
master defaults to ``local[N]``; on a cluster every executor needs hegui installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Any

from hegui.errors import RequestError
from hegui.works.index import FingerprintedWork, Work, WorksIndex, check_kw, fingerprint_work
from hegui.works.sources import CorpusError, files, read_works, work_of_line

ENGINES = ("local", "spark")
#: Works sent to a worker process at a time: large enough that pickling is not the cost, small enough
#: that both cores stay busy on a corpus of a few hundred works.
CHUNK = 256


def build_local(
    paths: Sequence[Path],
    *,
    k: int,
    w: int,
    workers: int = 0,
    advance: Callable[[int], None] | None = None,
) -> WorksIndex:
    """The index built on this machine: ``workers`` processes (0: one per core; 1: in this process)."""
    check_kw(k, w)
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        return WorksIndex.assemble(
            _counted(map(_fingerprint, read_works(paths), repeat(k), repeat(w)), advance), k=k, w=w
        )
    with ProcessPoolExecutor(workers) as pool:
        parts = pool.map(_fingerprint, read_works(paths), repeat(k), repeat(w), chunksize=CHUNK)
        return WorksIndex.assemble(_counted(parts, advance), k=k, w=w)


def _fingerprint(work: Work, k: int, w: int) -> FingerprintedWork:
    return fingerprint_work(work, k, w)


def _counted(
    parts: Iterable[FingerprintedWork], advance: Callable[[int], None] | None
) -> Iterator[FingerprintedWork]:
    for part in parts:
        if advance is not None:
            advance(1)
        yield part


# --- Spark -----------------------------------------------------------------------------------------------

#: One work as it travels back from an executor: (file number, line number or -1, name, text, hashes,
#: positions). The first two order the parts as the local engine reads them.
_Row = tuple[int, int, str, str, Any, Any]


def _fingerprinter(k: int, w: int) -> Callable[[Iterable[tuple[int, int, str, str]]], Iterator[_Row]]:
    def run(rows: Iterable[tuple[int, int, str, str]]) -> Iterator[_Row]:
        for file_no, line_no, path, raw in rows:
            if line_no < 0:  # a whole text file: one work
                work: Work | None = Work(path, raw.removeprefix("\ufeff"))
            else:
                work = work_of_line(path, line_no + 1, raw.removeprefix("\ufeff") if line_no == 0 else raw)
            if work is None:
                continue
            part = fingerprint_work(work, k, w)
            yield (file_no, line_no, part.name, part.text, part.hashes, part.positions)

    return run


def build_spark(
    paths: Sequence[Path], *, k: int, w: int, workers: int = 0, master: str | None = None
) -> WorksIndex:
    """The index built on Spark (local mode by default, ``local[workers]``), through the corpus audit's
    Spark path (`hegui.corpus.sparkjob.run`)."""
    check_kw(k, w)
    from hegui.corpus import sparkjob

    corpus = list(files(paths))
    if not corpus:
        return WorksIndex.assemble([], k=k, w=w)
    for path in corpus:
        if not path.is_file():
            raise RequestError(f"cannot read {path}: no such file")

    def job(sc: Any) -> list[_Row]:
        rdds = []
        for file_no, path in enumerate(corpus):
            name = str(path)
            if path.suffix.lower() == ".jsonl":
                rdds.append(sparkjob.lines(sc, path).map(lambda p, f=file_no, n=name: (f, p[1], n, p[0])))
            else:
                rdd = sc.wholeTextFiles(str(path.resolve()))
                rdds.append(rdd.map(lambda p, f=file_no, n=name: (f, -1, n, p[1])))
        rows: list[_Row] = sc.union(rdds).mapPartitions(_fingerprinter(k, w)).collect()
        return rows

    # A bad line in the corpus fails on an executor: the same message as the local build.
    rows = sparkjob.run(
        "hegui-works-index",
        job,
        workers=workers,
        master=master,
        failure="the Spark build failed",
        named=CorpusError.__name__,
    )
    rows.sort(key=lambda r: (r[0], r[1]))
    return WorksIndex.assemble((FingerprintedWork(r[2], r[3], r[4], r[5]) for r in rows), k=k, w=w)


def build(
    paths: Sequence[Path],
    *,
    k: int,
    w: int,
    engine: str = "local",
    workers: int = 0,
    master: str | None = None,
    advance: Callable[[int], None] | None = None,
) -> WorksIndex:
    """The index of the corpus at ``paths`` by the named engine (see `ENGINES`)."""
    if engine not in ENGINES:
        raise RequestError(f"unknown engine {engine!r}; expected {' or '.join(ENGINES)}")
    try:
        if engine == "spark":
            return build_spark(paths, k=k, w=w, workers=workers, master=master)
        return build_local(paths, k=k, w=w, workers=workers, advance=advance)
    except CorpusError as exc:
        raise RequestError(str(exc)) from None
