"""`hegui label ...`: placeholder until its issue lands."""

from __future__ import annotations

import typer

app = typer.Typer(help="(label: not built yet)", no_args_is_help=True)


@app.command("status")
def status() -> None:
    """Say that this command group is not built yet."""
    typer.echo("hegui label: not built yet", err=True)
    raise typer.Exit(2)
