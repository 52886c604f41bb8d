"""`hegui config validate|show`: check the settings and the policy file without starting."""

from __future__ import annotations

from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.common import settings
from hegui.guard.registry import build_pipeline
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
    """Validate the environment and the policy file the way `hegui serve` does; exit 2 naming the bad key."""
    s = settings(policy)
    pol = load_policy(s.policy_file)
    pipeline = build_pipeline(pol)
    for warning in audit_protection(
        s
    ).warnings:  # the audit keys and checkpoint settings, as serve reads them
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"policy OK: {pol.source}, version {pipeline.policy_version}, "
        f"{len(pol.upstreams)} upstream(s), {len(pipeline.checks)} check(s)"
    )


@app.command("default")
def default() -> None:
    """Print the bundled default policy (a starting point for your own hegui.toml)."""
    typer.echo(bundled_policy_text(), nl=False)
