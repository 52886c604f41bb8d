"""`hegui audit verify|show`: check the audit chain; find the entries of a request."""

from __future__ import annotations

import json

import typer

from hegui.cli import handled
from hegui.cli.common import engine, progress, settings
from hegui.records.audit import chain_length, find_by_request, verify_chain

app = typer.Typer(help="The tamper-evident audit chain.", no_args_is_help=True)


@app.command("verify")
@handled
def verify(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Walk the whole chain. Exit 0 when every entry verifies; 1 naming the first broken entry."""
    eng = engine(settings(), migrate_schema=False)
    with progress("verifying the audit chain", chain_length(eng)) as advance:
        report = verify_chain(eng, progress=advance)
    if as_json:
        typer.echo(json.dumps({"ok": True, "entries": report.entries, "head": report.head_hash}))
    else:
        typer.echo(f"audit chain OK: {report.entries} entries, head {report.head_hash[:16]}…")


@app.command("show")
@handled
def show(request_id: str = typer.Argument(..., help="A response id (the ProduceID of a label).")) -> None:
    """Print the audit entries of one request as JSON lines (exit 1 when there are none)."""
    entries = find_by_request(engine(settings(), migrate_schema=False), request_id)
    for entry in entries:
        typer.echo(json.dumps(entry.to_json(), ensure_ascii=False))
    if not entries:
        typer.echo(f"no audit entry for {request_id!r}", err=True)
        raise typer.Exit(1)
