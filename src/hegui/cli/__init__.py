"""The command line: thin; every command calls into a room and maps HeguiError to an exit code."""

from __future__ import annotations

import functools
import importlib
import sys
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hegui {__version__}")
        raise typer.Exit()


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

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HeguiError as exc:
            raise fail(exc) from None

    return wrapper


#: Commands at the top level (their module's ``register`` adds them) and command groups (their module's
#: ``app`` is added under the name). The module of a group is ``hegui.cli.<name>``.
COMMANDS = ("serve", "check", "assess")
GROUPS = (
    "audit",
    "cases",
    "config",
    "corpus",
    "data",
    "egress",
    "eval",
    "filing",
    "keys",
    "label",
    "lexicon",
    "licenses",
    "persons",
    "works",
)


def build_app(only: str | None = None) -> typer.Typer:
    """The command line with every command, or with only the command or group ``only``: a command
    imports just its own module, so `hegui check` does not wait for the web framework, the database layer
    and every other room (about a second of start-up)."""
    app = typer.Typer(
        cls=OneLineErrors,
        name="hegui",
        help="hegui (合规): runtime compliance for generative-AI services.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for name in COMMANDS:
        if only in (None, name):
            importlib.import_module(f"hegui.cli.{name}").register(app)
    for name in GROUPS:
        if only in (None, name):
            app.add_typer(importlib.import_module(f"hegui.cli.{name}").app, name=name)
    return app


@functools.cache
def _full_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> typer.Typer:
    """``hegui.cli.app``: the whole command line, built on first use."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _full_app()


def main() -> None:
    args = sys.argv[1:]
    only = args[0] if args and args[0] in COMMANDS + GROUPS else None
    build_app(only)(prog_name="hegui")


if __name__ == "__main__":  # pragma: no cover
    main()
