"""The corpus audit on Apache Spark: the same selection (keyed hash), the same scan function and the
same assembly as the local engine, so both give identical results; only the distribution differs.

JSONL, Parquet and plain-text corpora (a CSV field may span lines, which Spark's line splitting
breaks). A Parquet file is read by Spark itself, its rows numbered in file order as the local engine
numbers them. The session, the line reading and the failures are `hegui.corpus.sparkjob`'s, shared
with the works index build (`hegui works index --engine spark`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from hegui.corpus import sparkjob
from hegui.corpus.audit import (
    AuditOptions,
    AuditResult,
    CorpusItem,
    ScanResult,
    _init,
    _scan_chunk,
    assemble,
    keyed_hash,
    parquet_columns,
    parquet_item,
    row_text,
    scan_cut,
)
from hegui.errors import RequestError


def _parse(fmt: str, text_field: str, source_field: str | None) -> Any:
    def parse(rows: Iterable[tuple[str, Any, int]]) -> Iterator[tuple[str, int, str]]:
        for name, raw, idx in rows:
            if fmt == ".parquet":
                it = parquet_item(raw, idx + 1, name, text_field, source_field)
                yield (it.source, it.line, it.text)
                continue
            line = raw.lstrip("\ufeff") if idx == 0 else raw
            if not line.strip():
                continue
            if fmt == ".txt":
                yield (name, idx + 1, line)
                continue
            row = json.loads(line)
            text = row_text(row, text_field)
            if text is None:
                raise ValueError(f"{name}:{idx + 1}: no string field {text_field!r}")
            yield (str(row.get(source_field, name)) if source_field else name, idx + 1, text)

    return parse


def _as_dict(row: Any) -> dict[str, Any]:
    return dict(row.asDict())


def _rows(sc: Any, path: Path, fmt: str, options: AuditOptions) -> Any:
    """(row, index) pairs of one file: a Parquet file's rows as dicts, read by Spark itself; any other
    file's lines."""
    if fmt != ".parquet":
        return sparkjob.lines(sc, path)
    from pyspark.sql import SparkSession

    columns = parquet_columns(options.text_field, options.source_field)
    frame = SparkSession.builder.getOrCreate().read.parquet(str(path.resolve()))
    return frame.select(*columns).rdd.map(_as_dict).zipWithIndex()


def _tagger(name: str) -> Any:
    def tag(p: tuple[str, int]) -> tuple[str, str, int]:
        return (name, p[0], p[1])

    return tag


def _scanner(policy: str | None, stage: str) -> Any:
    def scan(rows: Iterable[tuple[str, int, str]]) -> Iterator[tuple[str, str, bool, tuple[str, ...], str]]:
        chunk = [CorpusItem(src, line, text) for src, line, text in rows]
        if not chunk:
            return
        _init(policy, stage)
        for r in _scan_chunk(chunk):
            yield (r.key, r.source, r.failed, r.categories, r.reason)

    return scan


def _first(h: tuple[int, str, int, str]) -> int:
    return h[0]


def audit_spark(paths: Sequence[Path], options: AuditOptions) -> AuditResult:
    fmts = {p.suffix.lower() for p in paths}
    if not fmts <= {".jsonl", ".json", ".txt", ".parquet"} or len(fmts) > 1:
        raise RequestError("the Spark engine reads .jsonl, .parquet or .txt corpora, one format per run")
    fmt = fmts.pop()
    cut, seed = scan_cut(options.fraction), options.seed
    policy = str(options.policy.resolve()) if options.policy else None

    def job(sc: Any) -> tuple[Counter[str], list[Any], list[Any]]:
        rdds = [_rows(sc, path, fmt, options).map(_tagger(path.name)) for path in paths]
        items = sc.union(rdds).mapPartitions(_parse(fmt, options.text_field, options.source_field))
        hashed = items.map(lambda it: (keyed_hash(seed, it[0], it[1]), it[0], it[1], it[2])).cache()
        counts = Counter(dict(hashed.map(lambda h: (h[1], 1)).reduceByKey(lambda a, b: a + b).collect()))
        sample = hashed.takeOrdered(options.sample, key=_first) if options.sample else []
        selected = hashed.filter(lambda h: h[0] < cut).map(lambda h: (h[1], h[2], h[3]))
        return counts, sample, selected.mapPartitions(_scanner(policy, options.stage)).collect()

    counts, sample, scanned = sparkjob.run(
        "hegui-corpus-audit",
        job,
        workers=options.workers,
        master=options.spark_master,
        failure="the Spark audit failed",
    )
    results = [ScanResult(k, s, f, tuple(c), r) for k, s, f, c, r in scanned]
    return assemble(counts, [(h, s, line, t) for h, s, line, t in sample], results)
