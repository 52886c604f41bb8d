"""`hegui corpus audit`: the manual-review sample and the technical scan of a training corpus
(SEC-07, SEC-08). Thin: sampling and scanning live in `hegui.corpus.audit`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hegui.cli import handled

app = typer.Typer(
    help="Training corpora: sampling for manual review and a technical scan (SEC-07/08).",
    no_args_is_help=True,
)

REVIEW_HEADER = ("编号", "来源", "行", "文本", "审核结果", "风险类别", "备注")


@app.command("audit")
@handled
def audit_(
    paths: list[Path] = typer.Argument(
        ..., help="Corpus files: .jsonl (a text field), .csv (a text column) or .txt (a line each)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Directory for the review sheet, failures, summary and blacklist."
    ),
    sample: int = typer.Option(
        4000, "--sample", min=0, help="Items drawn for manual review (SEC-07: ≥ 4,000)."
    ),
    fraction: float = typer.Option(
        0.10, "--fraction", min=0.0001, max=1.0, help="Share of the corpus scanned (SEC-07: ≥ 0.10; 1 = all)."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the sample and the scan selection (same seed, same items)."
    ),
    workers: int = typer.Option(0, "--workers", min=0, help="Worker processes (0: every core)."),
    policy: Path | None = typer.Option(
        None, "--policy", help="Policy whose checks scan (default: HEGUI_POLICY_FILE or the bundled one)."
    ),
    stage: str = typer.Option("input", "--stage", help="The stage whose checks scan: input or output."),
    text_field: str = typer.Option(
        "text",
        "--text-field",
        help="JSONL field or CSV column holding the text; several, comma-separated, are joined by a newline (e.g. prompt,answer).",
    ),
    source_field: str | None = typer.Option(
        None, "--source-field", help="Field naming each row's source (default: the file name)."
    ),
    engine: str = typer.Option(
        "local", "--engine", help="local (worker processes) or spark (pyspark; local mode by default)."
    ),
    spark_master: str | None = typer.Option(
        None, "--spark-master", help="Spark master URL (default local[WORKERS])."
    ),
    blacklist_above: float = typer.Option(
        0.05,
        "--blacklist-above",
        min=0.0,
        max=1.0,
        help="Failure share above which a source is flagged (SEC-08: 0.05).",
    ),
) -> None:
    """Draw a reproducible review sample and scan a share of the corpus with the guard; flag sources."""
    from hegui.corpus.audit import AuditOptions, audit, summary
    from hegui.errors import RequestError
    from hegui.evaluation.tables import write_rows

    if stage not in ("input", "output"):
        raise RequestError(f"--stage must be input or output, not {stage!r}")
    opts = AuditOptions(
        sample,
        fraction,
        seed,
        workers,
        policy,
        stage,
        text_field,
        source_field,
        blacklist_above,
        engine,
        spark_master,
    )
    result = audit(paths, opts)
    out.mkdir(parents=True, exist_ok=True)
    rows = [
        {"编号": str(i), "来源": it.source, "行": str(it.line), "文本": it.text}
        for i, it in enumerate(result.sample, 1)
    ]
    write_rows(out / "review_sample.xlsx", REVIEW_HEADER, rows, sheet="人工抽检")
    with (out / "failures.jsonl").open("w", encoding="utf-8") as fh:
        for r in result.failures:
            fh.write(
                json.dumps(
                    {"key": r.key, "source": r.source, "categories": list(r.categories), "reason": r.reason},
                    ensure_ascii=False,
                )
                + "\n"
            )
    doc = summary(result, opts)
    (out / "summary.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    blacklist = doc["blacklist"]
    assert isinstance(blacklist, list)
    (out / "blacklist.txt").write_text("".join(f"{s}\n" for s in blacklist), encoding="utf-8")
    typer.echo(
        f"{result.items:,} items; review sample {len(result.sample):,}; scanned {result.scanned:,}; pass rate {result.pass_rate:.2%}"
    )
    for s in result.sources.values():
        mark = "  BLACKLIST" if s.source in blacklist else ""
        typer.echo(f"  {s.source}: {s.scanned:,} scanned, {s.failed:,} failed ({s.failure_rate:.2%}){mark}")
    if sample and len(result.sample) < 4000:
        typer.echo(
            f"note: the review sample has {len(result.sample):,} items, fewer than the 4,000 SEC-07 asks for"
        )
