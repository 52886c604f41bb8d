"""`hegui audit ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="audit", no_args_is_help=True)


@app.command("status")
def status() -> None:
    """Not built yet."""
    raise typer.Exit(2)
