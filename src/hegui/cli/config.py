"""`hegui config validate|show`: check the settings and the policy file without starting."""

from __future__ import annotations

from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.common import settings
from hegui.gateway.preflight import preflight
from hegui.policy import bundled_policy_text, load_policy
from hegui.records.audit_setup import audit_protection

app = typer.Typer(help="Settings and the policy file.", no_args_is_help=True)


@app.command("validate")
@handled
def validate(
    policy: Path | None = typer.Argument(
        None, help="Policy file (default: HEGUI_POLICY_FILE, else bundled)."
    ),
) -> None:
    """Validate the environment and the policy file exactly as `hegui serve` does before it opens the
    database (upstream API keys included); exit 2 naming the bad key. Warnings go to stderr."""
    s = settings(policy)
    checked = preflight(load_policy(s.policy_file))
    pol = checked.policy
    for warning in audit_protection(s).warnings:  # the audit keys and checkpoints, as serve reads them
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"policy OK: {pol.source}, version {pol.full_version}, "
        f"{len(pol.upstreams)} upstream(s), {checked.checks} check(s)"
    )
    for line in checked.upstreams:
        typer.echo(f"  {line}")
    for warning in checked.warnings:
        typer.echo(f"warning: {warning}", err=True)


@app.command("default")
def default() -> None:
    """Print the bundled default policy (a starting point for your own hegui.toml)."""
    typer.echo(bundled_policy_text(), nl=False)
