"""The command line: thin; every command calls into a room and maps HeguiError to an exit code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperGroup

from hegui import __version__
from hegui.errors import HeguiError


def _usage_errors() -> tuple[type[Exception], type[Exception]]:
    """(UsageError, NoArgsIsHelpError) of the click that typer runs on: recent typer vendors click as
    ``typer._click``, older typer uses click itself."""
    try:
        from typer._click import exceptions  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from click import exceptions  # type: ignore[no-redef,unused-ignore]
    return exceptions.UsageError, exceptions.NoArgsIsHelpError


class OneLineErrors(TyperGroup):
    """Usage errors (a missing option, an unknown command or option) as one ``error:`` line naming the
    command, like every other hegui error, instead of a framed box; exit 2 as before."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        with _one_line():  # the root's own options (`hegui --bogus`) are parsed here
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _one_line():  # every subcommand's arguments are parsed under this
            return super().invoke(ctx)


@contextmanager
def _one_line() -> Iterator[None]:
    usage_error, no_args_is_help = _usage_errors()
    try:
        yield
    except no_args_is_help:
        raise
    except usage_error as exc:
        ctx_of = getattr(exc, "ctx", None)
        where = ctx_of.command_path if ctx_of is not None else "hegui"
        message = str(getattr(exc, "format_message", exc.__str__)()).rstrip(".").replace("Value error, ", "")
        typer.echo(f"error: {where}: {message[:1].lower()}{message[1:]} (see {where} --help)", err=True)
        raise typer.Exit(2) from None


app = typer.Typer(
    cls=OneLineErrors,
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
    from hegui.cli import (
        assess,
        audit,
        cases,
        check,
        config,
        corpus,
        data,
        egress,
        filing,
        keys,
        label,
        lexicon,
        licenses,
        persons,
        serve,
        works,
    )
    from hegui.cli import eval as eval_

    for module in (serve, check, assess):
        module.register(app)
    for name, module in (
        ("audit", audit),
        ("cases", cases),
        ("config", config),
        ("corpus", corpus),
        ("data", data),
        ("egress", egress),
        ("eval", eval_),
        ("filing", filing),
        ("keys", keys),
        ("label", label),
        ("lexicon", lexicon),
        ("licenses", licenses),
        ("persons", persons),
        ("works", works),
    ):
        app.add_typer(module.app, name=name)


_register()


def main() -> None:
    app(prog_name="hegui")


if __name__ == "__main__":  # pragma: no cover
    main()
