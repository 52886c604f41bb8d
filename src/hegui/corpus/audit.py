"""Training-corpus audit (GB/T 45654 5.1, 9.2; SEC-07, SEC-08): a manual-review sample and a technical scan.

- **Sample**: the ``n`` items with the smallest keyed hash of (seed, source, line): a uniform random
  sample that does not depend on the order files are read in, the number of workers or the engine, so
  a second run (or another machine) draws the same items.
- **Scan**: every item whose keyed hash falls below ``fraction`` of the hash range (≥ 10 % by default,
  or all), judged by the policy's checks at one stage. An item fails when the stage would mask or
  refuse it; a check that errors fails the item (fail closed).
- **Per source**: pass rate; a source with more than 5 % failing items is flagged for the blacklist
  (SEC-08). Per risk: failing items per category.

Workers are processes, each building the pipeline once (a pipeline is not picklable and costs seconds
to build); items travel in chunks.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hegui.errors import ConfigError, RequestError

CHUNK = 500


@dataclass(frozen=True, slots=True)
class CorpusItem:
    source: str
    line: int
    text: str

    @property
    def key(self) -> str:
        return f"{self.source}:{self.line}"


def keyed_hash(seed: int, source: str, line: int) -> int:
    digest = hashlib.blake2b(f"{seed}\0{source}\0{line}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def row_text(row: object, text_field: str) -> str | None:
    """The text of a JSON row: ``text_field``, or several comma-separated fields joined by a newline
    (a dialogue turn is both its prompt and its answer: both are training text). None when a field is
    missing or not a string."""
    if not isinstance(row, dict):
        return None
    parts = [row.get(f) for f in text_field.split(",")]
    if not all(isinstance(p, str) for p in parts):
        return None
    return "\n".join(p for p in parts if isinstance(p, str) and p)


def read_corpus(
    path: Path, text_field: str = "text", source_field: str | None = None
) -> Iterator[CorpusItem]:
    """Items of a JSONL, CSV, Parquet or plain-text file (one item per line or row); the source is the
    file name, or ``source_field`` of the row when given."""
    suffix = path.suffix.lower()
    name = path.name
    if suffix == ".parquet":
        yield from read_parquet(path, text_field, source_field)
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        if suffix in (".jsonl", ".json"):
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RequestError(f"{path}:{n}: not JSON: {exc}") from exc
                text = row_text(row, text_field)
                if text is None:
                    raise RequestError(f"{path}:{n}: no string field {text_field!r}")
                src = str(row.get(source_field, name)) if source_field else name
                yield CorpusItem(src, n, text)
        elif suffix == ".csv":
            for n, row in enumerate(csv.DictReader(fh), 2):
                text = row_text({k: v or "" for k, v in row.items()}, text_field)
                if text is None:
                    raise RequestError(f"{path}: no column {text_field!r}")
                src = str(row.get(source_field) or name) if source_field else name
                yield CorpusItem(src, n, text)
        elif suffix == ".txt":
            for n, line in enumerate(fh, 1):
                if line.strip():
                    yield CorpusItem(name, n, line.rstrip("\n"))
        else:
            raise RequestError(
                f"{path}: unknown corpus format {suffix!r}; expected .jsonl, .csv, .parquet or .txt"
            )


def parquet_columns(text_field: str, source_field: str | None) -> list[str]:
    """The columns an audit reads from a Parquet file: the text fields, then the source field."""
    wanted = [*text_field.split(","), *([source_field] if source_field else [])]
    return list(dict.fromkeys(wanted))


def parquet_item(
    row: dict[str, object], n: int, name: str, text_field: str, source_field: str | None
) -> CorpusItem:
    """One Parquet row as an item, numbered from 1 in file order. A null text is empty (as an empty CSV
    cell); a text column of another type is an error. Shared with the Spark engine."""
    text = row_text({k: "" if v is None else v for k, v in row.items()}, text_field)
    if text is None:
        raise RequestError(f"{name}: row {n}: no string column {text_field!r}")
    src = str(row.get(source_field) or name) if source_field else name
    return CorpusItem(src, n, text)


def read_parquet(path: Path, text_field: str, source_field: str | None) -> Iterator[CorpusItem]:
    """Rows of a Parquet file in file order, a row group at a time (a corpus need not fit in memory)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("reading Parquet needs pyarrow: pip install 'hegui[parquet]'") from None
    try:
        pf = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise RequestError(f"{path}: not a Parquet file: {exc}") from exc
    columns = parquet_columns(text_field, source_field)
    missing = [c for c in columns if c not in pf.schema_arrow.names]
    if missing:
        raise RequestError(f"{path}: no column {', '.join(map(repr, missing))}")
    n = 0
    for batch in pf.iter_batches(batch_size=CHUNK * 20, columns=columns):
        for row in batch.to_pylist():
            n += 1
            yield parquet_item(row, n, path.name, text_field, source_field)


@dataclass(frozen=True, slots=True)
class ScanResult:
    key: str
    source: str
    failed: bool
    categories: tuple[str, ...]
    reason: str


# --- worker side: one pipeline per process -------------------------------------------------------

_WORKER: dict[str, object] = {}  # set by _init in each worker process only; never at import


def _init(policy: str | None, stage: str) -> None:
    """Build the pipeline in this process, once per (policy, stage): Spark calls it per partition."""
    from hegui.pipelines import build_pipeline
    from hegui.policy import load_policy

    if _WORKER.get("key") == (policy, stage):
        return
    _WORKER["pipeline"] = build_pipeline(load_policy(Path(policy) if policy else None))
    _WORKER["stage"] = stage
    _WORKER["key"] = (policy, stage)


def _scan_chunk(chunk: Sequence[CorpusItem]) -> list[ScanResult]:
    from hegui.errors import CheckFailed
    from hegui.guard.pipeline import Pipeline
    from hegui.guard.types import Action, Context, Stage

    pipe = _WORKER["pipeline"]
    assert isinstance(pipe, Pipeline)
    stage = Stage(str(_WORKER["stage"]))
    out = []
    for it in chunk:
        try:
            v = pipe.run(stage, it.text, Context(request_id="corpus-audit"))
        except CheckFailed as exc:
            out.append(ScanResult(it.key, it.source, True, (), f"check failed: {exc.message}"))
            continue
        failed = v.action >= Action.MASK
        cats = tuple(sorted({f.category for f in v.findings if f.action >= Action.MASK})) if failed else ()
        out.append(ScanResult(it.key, it.source, failed, cats, v.action.value))
    return out


# --- driver -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditOptions:
    sample: int = 4000
    fraction: float = 0.10
    seed: int = 0
    workers: int = 0  # 0: every core
    policy: Path | None = None
    stage: str = "input"
    text_field: str = "text"
    source_field: str | None = None
    blacklist_above: float = 0.05
    #: "local" (processes on this machine) or "spark" (pyspark; local mode unless a master is given).
    engine: str = "local"
    spark_master: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRate:
    source: str
    items: int
    scanned: int
    failed: int

    @property
    def failure_rate(self) -> float:
        return self.failed / self.scanned if self.scanned else 0.0


@dataclass
class AuditResult:
    items: int = 0
    sample: list[CorpusItem] = field(default_factory=list)
    sources: dict[str, SourceRate] = field(default_factory=dict)
    per_risk: Counter[str] = field(default_factory=Counter)
    failures: list[ScanResult] = field(default_factory=list)

    @property
    def scanned(self) -> int:
        return sum(s.scanned for s in self.sources.values())

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.sources.values())

    @property
    def pass_rate(self) -> float:
        return 1 - self.failed / self.scanned if self.scanned else 0.0


def scan_cut(fraction: float) -> int:
    """Items whose keyed hash is below this are scanned."""
    if not 0 < fraction <= 1:
        raise RequestError("the scan fraction must be in (0, 1]")
    return int(fraction * 2**64) if fraction < 1 else 2**64


def audit(paths: Sequence[Path], options: AuditOptions) -> AuditResult:
    if options.engine == "spark":
        from hegui.corpus.spark import audit_spark

        return audit_spark(paths, options)
    if options.engine != "local":
        raise RequestError(f"unknown engine {options.engine!r}; expected local or spark")
    cut = scan_cut(options.fraction)
    heap: list[tuple[int, str, int, str]] = []  # max-heap by negated hash: the n smallest hashes
    items: Counter[str] = Counter()
    chunks: list[list[CorpusItem]] = [[]]
    for path in paths:
        for it in read_corpus(path, options.text_field, options.source_field):
            items[it.source] += 1
            h = keyed_hash(options.seed, it.source, it.line)
            if options.sample:
                entry = (-h, it.source, it.line, it.text)
                if len(heap) < options.sample:
                    heapq.heappush(heap, entry)
                elif entry > heap[0]:
                    heapq.heapreplace(heap, entry)
            if h < cut:
                if len(chunks[-1]) >= CHUNK:
                    chunks.append([])
                chunks[-1].append(it)
    workers = options.workers or os.cpu_count() or 1
    policy = str(options.policy) if options.policy else None
    results: list[ScanResult] = []
    if workers == 1:
        _init(policy, options.stage)
        for chunk in chunks:
            results.extend(_scan_chunk(chunk))
    else:
        with ProcessPoolExecutor(workers, initializer=_init, initargs=(policy, options.stage)) as pool:
            for part in pool.map(_scan_chunk, chunks):
                results.extend(part)
    return assemble(items, [(-neg, src, line, text) for neg, src, line, text in heap], results)


def assemble(
    items: Counter[str], sample: Sequence[tuple[int, str, int, str]], results: Sequence[ScanResult]
) -> AuditResult:
    """The result from the item counts per source, the sampled (hash, source, line, text) and the scan
    results, whatever engine produced them: sorted so that engines and worker counts compare equal."""
    scanned: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    out = AuditResult(items=sum(items.values()))
    for r in results:
        scanned[r.source] += 1
        if r.failed:
            failed[r.source] += 1
            out.failures.append(r)
            out.per_risk.update(r.categories or ("(check failed)",))
    out.sources = {s: SourceRate(s, items[s], scanned[s], failed[s]) for s in sorted(items)}
    out.sample = sorted(
        (CorpusItem(src, line, text) for _, src, line, text in sample), key=lambda i: (i.source, i.line)
    )
    out.failures.sort(key=lambda r: r.key)
    return out


def flagged(result: AuditResult, above: float) -> list[str]:
    """Sources whose scanned failure rate exceeds ``above`` (SEC-08: > 5 % → blacklist)."""
    return [s.source for s in result.sources.values() if s.failure_rate > above]


def summary(result: AuditResult, options: AuditOptions) -> dict[str, object]:
    by_source = defaultdict(dict)  # type: ignore[var-annotated]
    for s in result.sources.values():
        by_source[s.source] = {
            "items": s.items,
            "scanned": s.scanned,
            "failed": s.failed,
            "pass_rate": round(1 - s.failure_rate, 4) if s.scanned else None,
            "blacklist": s.failure_rate > options.blacklist_above,
        }
    return {
        "items": result.items,
        "sample": len(result.sample),
        "sample_required": 4000,
        "scanned": result.scanned,
        "scan_fraction": options.fraction,
        "failed": result.failed,
        "pass_rate": round(result.pass_rate, 4),
        "technical_required": {"fraction": 0.10, "pass_rate": 0.98},
        "technical_met": options.fraction >= 0.10 and result.pass_rate >= 0.98,
        "seed": options.seed,
        "sources": dict(by_source),
        "per_risk": dict(sorted(result.per_risk.items())),
        "blacklist": flagged(result, options.blacklist_above),
    }
