"""`hegui cases list|overdue|improvements|authority-report`: the cases room from a shell or a cron job.

`overdue` exits 1 when any case is past its due date, so a scheduled run is an overdue alert."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from hegui.cases import actions, store
from hegui.cli import handled
from hegui.cli.common import engine, settings
from hegui.records.audit import utc_now

app = typer.Typer(help="Complaints, takedowns and reports (docs/cases.md).", no_args_is_help=True)

_FIELDS = ("id", "receipt", "tenant", "kind", "state", "produce_id", "user", "due_date", "assignee")


def _line(case: store.Case) -> str:
    return json.dumps({k: v for k, v in asdict(case).items() if k in _FIELDS}, ensure_ascii=False)


@app.command("list")
@handled
def list_(
    state: str | None = typer.Option(
        None, "--state", help="received, triaged, decided, acted, answered, closed."
    ),
    kind: str | None = typer.Option(
        None, "--kind", help="ip, illegal, personal_info, appeal, rumour, other."
    ),
    open_only: bool = typer.Option(False, "--open", help="Only cases not answered yet."),
) -> None:
    """Cases as JSON lines (id, receipt, kind, state, subject, due date), soonest due first. Complainants'
    contacts are not printed."""
    for case in store.list_cases(engine(settings()), state=state, kind=kind, open_only=open_only):
        typer.echo(_line(case))


@app.command("overdue")
@handled
def overdue() -> None:
    """Open cases past their due date (Beijing day), as JSON lines; exit 1 when there are any."""
    late = store.overdue(engine(settings()), store.china_day(utc_now()))
    for case in late:
        typer.echo(_line(case))
    if late:
        typer.echo(f"{len(late)} overdue case(s)", err=True)
        raise typer.Exit(1)


@app.command("improvements")
@handled
def improvements(
    out: Path | None = typer.Option(None, "--out", help="Write to this file instead of stdout."),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's items."),
) -> None:
    """Export the model-improvement queue as JSON Lines (one item per line: ProduceID, category, prompt,
    answer, note)."""
    text = actions.export_improvements(engine(settings()), tenant=tenant)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{text.count(chr(10))} item(s) written to {out}", err=True)


@app.command("authority-report")
@handled
def authority_report(
    report_id: int = typer.Argument(..., help="The report's number (shown in the console)."),
    out: Path | None = typer.Option(None, "--out", help="Write to this file instead of stdout."),
) -> None:
    """The report file of a report to the authority: the report, its case and the actions on it (JSON)."""
    doc = json.dumps(
        actions.export_authority_report(engine(settings()), report_id), ensure_ascii=False, indent=2
    )
    if out is None:
        typer.echo(doc)
    else:
        out.write_text(doc + "\n", encoding="utf-8")
