"""`hegui licenses ...`: scan a stack for license findings, and list the knowledge base.

Exit codes of `scan`: 0 no finding at or above --fail-on; 3 at least one (blocked by default);
2 bad command-line input; 1 an internal error. Thin: all logic is in hegui.licenses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.errors import RequestError
from hegui.licenses.cyclonedx import to_cyclonedx
from hegui.licenses.discover import DEFAULT_EXCLUDES, discover
from hegui.licenses.evaluate import evaluate
from hegui.licenses.knowledge import load_knowledge_base
from hegui.licenses.pypi import DEFAULT_INDEX, PyPIResolver, resolve_inventory
from hegui.licenses.pypi import Progress as OnProgress
from hegui.licenses.report import NOT_COMMERCIAL_NOTE, to_json, to_markdown, to_notice, to_table
from hegui.licenses.types import Profile, Severity

app = typer.Typer(help="License analyzer: model, data, PyPI and npm dependencies.", no_args_is_help=True)
EXIT_FINDINGS = 3


class Format(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"
    cyclonedx = "cyclonedx"
    notice = "notice"


class DeploymentOpt(StrEnum):
    saas = "saas"
    distributed = "distributed"
    on_device = "on_device"
    internal = "internal"


class Resolve(StrEnum):
    none = "none"
    pypi = "pypi"


class FailOn(StrEnum):
    blocked = "blocked"
    conflict = "conflict"
    review = "review"
    never = "never"


_RENDER = {
    Format.table: to_table,
    Format.markdown: to_markdown,
    Format.json: to_json,
    Format.cyclonedx: to_cyclonedx,
    Format.notice: to_notice,
}


@app.command("scan")
@handled
def scan(
    path: Path = typer.Argument(..., help="Folder or file to scan."),
    profile: DeploymentOpt = typer.Option(DeploymentOpt.saas, "--profile", help="How the product ships."),
    commercial: bool | None = typer.Option(
        None,
        "--commercial/--non-commercial",
        help="Commercial use. Neither given: non-commercial is assumed, and the output says so.",
    ),
    modified: bool = typer.Option(False, "--modified", help="You modify third-party components."),
    mau: int = typer.Option(0, "--mau", min=0, help="Monthly active users (licensee and affiliates)."),
    dau: int = typer.Option(0, "--dau", min=0, help="Daily active users."),
    revenue: int = typer.Option(0, "--revenue", min=0, help="Annual revenue, US$."),
    region: str = typer.Option("", "--region", help="Licensee's domicile: ISO country code or EU."),
    cloud_provider: bool = typer.Option(
        False, "--cloud-provider", help="Licensee is a software/cloud provider."
    ),
    output_format: Format = typer.Option(Format.table, "--format", help="Output format."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    python_env: list[Path] = typer.Option(
        [], "--python-env", help="Extra virtualenv or site-packages to scan."
    ),
    exclude: list[str] = typer.Option(
        list(DEFAULT_EXCLUDES), "--exclude", help="Folder name patterns to skip."
    ),
    fail_on: FailOn = typer.Option(
        FailOn.blocked, "--fail-on", help="Lowest severity that makes the exit 3."
    ),
    resolve: Resolve = typer.Option(
        Resolve.none,
        "--resolve",
        help="Look up declared packages that are not installed: `pypi` asks the PyPI JSON API (network).",
    ),
    pypi_url: str = typer.Option(
        DEFAULT_INDEX, "--pypi-url", envvar="HEGUI_PYPI_URL", help="PyPI JSON API base for --resolve pypi."
    ),
    pypi_cache: Path | None = typer.Option(
        None,
        "--pypi-cache",
        envvar="HEGUI_PYPI_CACHE",
        help="Cache folder for --resolve pypi (default ~/.cache/hegui/pypi).",
    ),
    no_pypi_cache: bool = typer.Option(False, "--no-pypi-cache", help="Neither read nor write the cache."),
    pypi_timeout: float = typer.Option(10.0, "--pypi-timeout", min=0.1, help="Seconds per PyPI request."),
    pypi_concurrency: int = typer.Option(
        8, "--pypi-concurrency", min=1, max=64, help="PyPI requests in flight at once."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Progress bar on stderr while resolving."
    ),
) -> None:
    """Inventory PATH and judge each component against the deployment profile."""
    prof = Profile(
        deployment=profile.value,
        commercial=bool(commercial),
        modified=modified,
        mau=mau,
        dau=dau,
        revenue=revenue,
        licensee_region=region,
        is_cloud_provider=cloud_provider,
    )
    if not path.exists():  # a typo in a CI step must fail the step, not scan nothing and pass
        raise RequestError(f"{path}: no such file or folder")
    start = time.perf_counter()
    inventory = discover(path, python_envs=list(python_env), excludes=tuple(exclude))
    if resolve is Resolve.pypi:
        resolver = PyPIResolver(
            index_url=pypi_url,
            cache_dir=pypi_cache,
            timeout=pypi_timeout,
            concurrency=pypi_concurrency,
            use_cache=not no_pypi_cache,
        )
        with _progress_bar(progress) as tick:
            resolve_inventory(inventory, resolver, tick)
    report = evaluate(inventory, prof)
    report.seconds = time.perf_counter() - start
    if commercial is None:
        report.notes.append(NOT_COMMERCIAL_NOTE)
    text = _RENDER[output_format](report)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)
    if fail_on is not FailOn.never and report.worst is not None and report.worst >= Severity[fail_on.value]:
        typer.echo(
            f"hegui licenses: {report.count(Severity.blocked)} blocked, "
            f"{report.count(Severity.conflict)} conflict finding(s)",
            err=True,
        )
        raise typer.Exit(EXIT_FINDINGS)


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[OnProgress | None]:
    """A rich progress bar on stderr (so that --format json on stdout stays clean)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("PyPI look-ups"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True)
    ) as bar:
        task = bar.add_task("pypi", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield tick


@app.command("kb")
def knowledge_base() -> None:
    """List every license in the knowledge base with its ids."""
    kb = load_knowledge_base()
    for lic in kb.licenses.values():
        ids = ", ".join(dict.fromkeys(x for x in (lic.spdx, *lic.hf, lic.scancode) if x))
        typer.echo(f"{lic.id:28} {lic.category:16} {lic.name}  [{ids}]")
