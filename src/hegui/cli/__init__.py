"""The command line: thin; every command calls into a room and maps HeguiError to an exit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from hegui import __version__
from hegui.errors import HeguiError

app = typer.Typer(
    name="hegui",
    help="hegui (合规): runtime compliance for generative-AI services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hegui {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """hegui (合规): runtime compliance for generative-AI services."""


def fail(exc: HeguiError) -> typer.Exit:
    """Print a HeguiError the way the CLI prints every error, and give the exit to raise."""
    typer.echo(f"error: {exc.message}", err=True)
    return typer.Exit(exc.exit_code)


def handled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for commands: a HeguiError becomes one line on stderr and its exit code."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HeguiError as exc:
            raise fail(exc) from None

    return wrapper


def _register() -> None:
    from hegui.cli import audit, cases, check, config, data, egress, keys, label, lexicon, licenses, serve

    for module in (serve, check):
        module.register(app)
    for name, module in (
        ("audit", audit),
        ("cases", cases),
        ("config", config),
        ("data", data),
        ("egress", egress),
        ("keys", keys),
        ("label", label),
        ("lexicon", lexicon),
        ("licenses", licenses),
    ):
        app.add_typer(module.app, name=name)


_register()


def main() -> None:
    app(prog_name="hegui")


if __name__ == "__main__":  # pragma: no cover
    main()
