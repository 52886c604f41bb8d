"""Usage errors print one `error:` line naming the command, like every other hegui error (issue 12.3)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hegui.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["keys", "create"],
            "error: hegui keys create: missing option '--name' (see hegui keys create --help)\n",
        ),
        (["nosuch"], "error: hegui: no such command 'nosuch' (see hegui --help)\n"),
        (["--bogus"], "error: hegui: no such option: --bogus (see hegui --help)\n"),
        (
            ["licenses", "scan"],
            "error: hegui licenses scan: missing argument 'path' (see hegui licenses scan --help)\n",
        ),
        (
            ["licenses", "scan", ".", "--format", "x"],
            "error: hegui licenses scan: invalid value for '--format': 'x' is not one of 'table', "
            "'markdown', 'json', 'cyclonedx', 'notice' (see hegui licenses scan --help)\n",
        ),
    ],
)
def test_usage_errors_are_one_line(args: list[str], line: str) -> None:
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", line)


def test_a_group_without_a_command_still_shows_its_help() -> None:
    result = runner.invoke(app, ["keys"])
    assert "Usage: hegui keys" in result.output
