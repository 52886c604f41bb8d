"""The corpus audit on Apache Spark: the same selection (keyed hash), the same scan function and the
same assembly as the local engine, so both give identical results; only the distribution differs.

JSONL, Parquet and plain-text corpora (a CSV field may span lines, which Spark's line splitting
breaks). A Parquet file is read by Spark itself, its rows numbered in file order as the local engine
numbers them.
pyspark is optional: without it the error says how to install it. The master defaults to local mode
with one thread per worker (``local[N]``); give ``spark_master`` for a cluster, where every executor
needs hegui installed.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

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
from hegui.errors import ConfigError, RequestError


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
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "the Spark engine needs pyspark (and Java 17+): pip install 'hegui[spark]'"
        ) from None
    fmts = {p.suffix.lower() for p in paths}
    if not fmts <= {".jsonl", ".json", ".txt", ".parquet"} or len(fmts) > 1:
        raise RequestError("the Spark engine reads .jsonl, .parquet or .txt corpora, one format per run")
    fmt = fmts.pop()
    cut, seed = scan_cut(options.fraction), options.seed
    workers = options.workers or os.cpu_count() or 1
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark: Any = (
        SparkSession.builder.master(options.spark_master or f"local[{workers}]")
        .appName("hegui-corpus-audit")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    try:
        sc = spark.sparkContext
        rdds = []
        for path in paths:
            name = path.name
            if fmt == ".parquet":
                columns = parquet_columns(options.text_field, options.source_field)
                rows = spark.read.parquet(str(path.resolve())).select(*columns).rdd.map(_as_dict)
            else:
                rows = sc.textFile(str(path.resolve()))
            rdds.append(rows.zipWithIndex().map(lambda p, name=name: (name, p[0], p[1])))
        items = sc.union(rdds).mapPartitions(_parse(fmt, options.text_field, options.source_field))
        hashed = items.map(lambda it: (keyed_hash(seed, it[0], it[1]), it[0], it[1], it[2])).cache()
        counts = Counter(dict(hashed.map(lambda h: (h[1], 1)).reduceByKey(lambda a, b: a + b).collect()))
        sample = hashed.takeOrdered(options.sample, key=_first) if options.sample else []
        selected = hashed.filter(lambda h: h[0] < cut).map(lambda h: (h[1], h[2], h[3]))
        policy = str(options.policy.resolve()) if options.policy else None
        scanned = selected.mapPartitions(_scanner(policy, options.stage)).collect()
    except (
        Exception
    ) as exc:  # Py4J wraps a worker's error; name it and stop rather than report a partial audit
        if isinstance(exc, (ConfigError, RequestError)):
            raise
        raise RequestError(f"the Spark audit failed: {str(exc).splitlines()[0][:300]}") from exc
    finally:
        spark.stop()
    results = [ScanResult(k, s, f, tuple(c), r) for k, s, f, c, r in scanned]
    return assemble(counts, [(h, s, line, t) for h, s, line, t in sample], results)
