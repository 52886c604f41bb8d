"""`hegui filing build`: the filing package (security self-assessment report, keyword list, test
questions, algorithm-filing form, checklist). Thin: everything lives in `hegui.filing`."""

from __future__ import annotations

from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.lexicon import _Cat, _Fmt, _load, _Map, _Tags

app = typer.Typer(help="The filing package (大模型备案 / 算法备案).", no_args_is_help=True)


@app.command("build")
@handled
def build_(
    out: Path = typer.Option(..., "--out", help="Directory to write the package into."),
    policy: Path | None = typer.Option(
        None, "--policy", help="The policy in service (default: HEGUI_POLICY_FILE or the bundled one)."
    ),
    eval_dir: Path | None = typer.Option(
        None, "--eval", help="The --out directory of the last `hegui eval run`."
    ),
    lexicon: Path | None = typer.Option(
        None, "--lexicon", help="The keyword library (read as `hegui lexicon stats` reads it)."
    ),
    corpus: Path | None = typer.Option(
        None,
        "--corpus",
        help="The --out directory of `hegui corpus audit`, review sheet completed: decides 5.2-a.",
    ),
    fmt: str | None = _Fmt,
    tags: Path | None = _Tags,
    maps: list[str] = _Map,
    category: str = _Cat,
    form: Path | None = typer.Option(
        None, "--form", help="The completed filing form (YAML); without it a template is written."
    ),
    clauses: Path | None = typer.Option(
        None, "--clauses", help="A YAML clause table replacing the built-in one."
    ),
    minimums: Path | None = typer.Option(
        None, "--minimums", help="A TOML file overriding the spec's numbers."
    ),
    pdf: bool = typer.Option(
        True, "--pdf/--no-pdf", help="Also print the report to PDF with headless Chromium."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 unless the conclusion is compliant."),
    no_records: bool = typer.Option(
        False,
        "--no-records",
        help="Do not read the configured database: clauses 7-c and 7-d are then taken from the form.",
    ),
    on: str | None = typer.Option(
        None, "--on", help="Judge deadlines as of this day (YYYY-MM-DD; default today in provider.time_zone)."
    ),
) -> None:
    """Write the self-assessment report (DOCX, PDF), keywords.xlsx, test_questions.xlsx, the form and a checklist."""
    from hegui.cli.assess import database, service_day, storage_errors
    from hegui.evaluation.minimums import load_minimums
    from hegui.filing.assess_records import RecordsContext
    from hegui.filing.build import FilingInputs, build
    from hegui.filing.clauses import load_clauses
    from hegui.filing.form import load_form
    from hegui.policy import load_policy

    lex = _load(lexicon, fmt, tags, None, maps, category) if lexicon is not None else None
    filing_form = load_form(form)
    model = load_policy(policy)
    today = service_day(model, on)
    eng = None if no_records else database()
    try:
        with storage_errors():
            result = build(
                FilingInputs(
                    form=filing_form,
                    clauses=load_clauses(clauses),
                    out=out,
                    form_path=form,
                    policy_path=policy,
                    eval_dir=eval_dir,
                    lexicon_path=lexicon,
                    lexicon=lex,
                    minimums=load_minimums(minimums),
                    pdf=pdf,
                    records=RecordsContext(eng, model, filing_form, today) if eng is not None else None,
                    corpus_dir=corpus,
                )
            )
    finally:
        if eng is not None:
            eng.dispose()
    counts: dict[str, int] = {}
    for v in result.verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    typer.echo(result.conclusion.text)
    typer.echo(
        ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + f" of {len(result.verdicts)} clauses"
    )
    for p in result.files:
        typer.echo(f"  {p}")
    typer.echo(f"{len(result.missing)} items on the checklist ({out / 'checklist.md'})")
    if strict and not result.conclusion.compliant:
        raise typer.Exit(1)
