"""`hegui works index|test`: build a protected-works index, and try an answer against it.

Thin: reading the corpus, fingerprinting and lookup live in `hegui.works`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.errors import RequestError
from hegui.guard.types import Context
from hegui.works.index import DEFAULT_K, DEFAULT_W, IndexFormatError, WorksIndex

app = typer.Typer(help="Protected works: a fingerprint index and overlap trials.", no_args_is_help=True)


@app.command("index")
@handled
def index(
    paths: list[Path] = typer.Argument(..., help="Text, Markdown or JSONL files, or directories of them."),
    out: Path = typer.Option(..., "--out", "-o", help="The index file to write (.npz)."),
    k: int = typer.Option(DEFAULT_K, "--k", help="Characters per k-gram (normalized)."),
    w: int = typer.Option(DEFAULT_W, "--w", help="Winnowing window in k-grams (1 keeps every k-gram)."),
    engine: str = typer.Option("local", "--engine", help="local (this machine's cores) or spark."),
    workers: int = typer.Option(
        0, "--workers", min=0, help="Processes (local) or Spark local threads; 0: one per core."
    ),
    spark_master: str | None = typer.Option(
        None, "--spark-master", help="Spark master URL (default local[N])."
    ),
) -> None:
    """Build the fingerprint index of a protected corpus, with every core or on Apache Spark."""
    from hegui.cli.common import progress
    from hegui.works.engines import build

    if k < 2 or w < 1:
        raise RequestError("--k must be 2 or more and --w 1 or more")
    started = time.perf_counter()
    with progress("fingerprinting works", None) as advance:
        built = build(paths, k=k, w=w, engine=engine, workers=workers, master=spark_master, advance=advance)
    if not built.names:
        raise RequestError("no works found in the given paths (.txt, .md or .jsonl)")
    built.save(out)
    s = built.stats()
    typer.echo(
        f"{s.works:,} works · {s.characters:,} normalized characters · {s.fingerprints:,} fingerprints "
        f"→ {out} ({out.stat().st_size:,} bytes, version {built.version}, {time.perf_counter() - started:.1f} s)"
    )


@app.command("test")
@handled
def test(
    index_file: Path = typer.Argument(..., help="An index built by `hegui works index`."),
    text: str = typer.Argument(..., help="The answer to try, or - for standard input."),
    min_run: int = typer.Option(50, "--min-run", help="Minimum shared run (normalized characters)."),
    containment: float = typer.Option(0.5, "--containment", help="Window containment threshold (1.0: off)."),
) -> None:
    """Print what the works_overlap check would flag in TEXT; exit 1 when it flags anything."""
    from hegui.works.check import WorksOverlapCheck

    try:
        loaded = WorksIndex.load(index_file)
    except (OSError, IndexFormatError) as exc:
        raise RequestError(f"cannot load works index: {exc}") from None
    answer = sys.stdin.read() if text == "-" else text
    try:
        check = WorksOverlapCheck("works", loaded, min_run=min_run, containment=containment)
    except ValueError as exc:
        raise RequestError(str(exc)) from None
    findings = check.inspect(answer, Context())
    for f in findings:
        typer.echo(f"{f.start}-{f.end}  {f.explanation}")
    typer.echo(f"{len(findings)} finding(s) · index version {loaded.version}")
    if findings:
        raise typer.Exit(1)
