"""`hegui egress crossborder-report|consent add|list|revoke`: cross-border transfer figures and PIPL 39
separate consents from the command line. Thin: each command calls one function of `hegui.records.egress`.

`crossborder_report` is also exposed as a plain function so that it can be hung under `hegui data`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Literal

import typer

from hegui.cli import handled
from hegui.cli.common import engine, settings
from hegui.policy import load_policy
from hegui.records import egress as eg

app = typer.Typer(
    help="Cross-border egress: transfer report and PIPL 39 separate consents.", no_args_is_help=True
)
consent = typer.Typer(help="Separate consents to cross-border transfer (PIPL 39).", no_args_is_help=True)
app.add_typer(consent, name="consent")

TENANT = typer.Option("default", "--tenant", help="The tenant the user belongs to.")
POLICY = typer.Option(None, "--policy", help="Policy file (default: HEGUI_POLICY_FILE or the bundled one).")


def crossborder_report(
    year: int | None = typer.Option(None, "--year", help="Counting year (default: the current one)."),
    fmt: Literal["json", "markdown"] = typer.Option("markdown", "--format", help="json or markdown."),
    policy_file: Path | None = POLICY,
) -> None:
    """Persons exported this year, the DCB route (exempt / standard contract / security assessment), alerts."""
    s = settings(policy_file)
    policy = load_policy(s.policy_file)
    report = eg.crossborder_report(engine(s), policy.egress, year=year, provider=policy.provider.name)
    if fmt == "json":
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.to_markdown())


app.command("crossborder-report")(handled(crossborder_report))


@consent.command("add")
@handled
def consent_add(
    user: str = typer.Argument(..., help="The end-user id."),
    recipient: str = typer.Option(..., "--recipient", help="The foreign recipient's name."),
    contact: str = typer.Option(..., "--contact", help="The recipient's contact."),
    purpose: str = typer.Option(..., "--purpose", help="Purpose of the transfer."),
    method: str = typer.Option(..., "--method", help="Method of processing."),
    data_type: list[str] = typer.Option(..., "--data-type", help="A type of data transferred (repeatable)."),
    rights: str = typer.Option(
        ..., "--rights", help="How the person exercises rights against the recipient."
    ),
    upstream: str = typer.Option("*", "--upstream", help="The policy upstream covered, or * for all."),
    tenant: str = TENANT,
) -> None:
    """Record a separate consent with everything the person was told (XB-02)."""
    c = eg.add_consent(
        engine(settings()),
        tenant,
        user,
        recipient=recipient,
        contact=contact,
        purpose=purpose,
        method=method,
        data_types=data_type,
        rights_process=rights,
        upstream=upstream,
        source="cli",
    )
    typer.echo(f"consent {c.id} recorded for {c.user} (upstream {c.upstream}) at {c.granted_at}")


@consent.command("list")
@handled
def consent_list(
    user: str | None = typer.Option(None, "--user", help="Only this end user."),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant."),
) -> None:
    """Every separate consent as JSON lines, revoked ones included."""
    for c in eg.list_consents(engine(settings()), tenant=tenant, user=user):
        typer.echo(json.dumps(asdict(c), ensure_ascii=False))


@consent.command("revoke")
@handled
def consent_revoke(consent_id: int = typer.Argument(..., help="The consent id.")) -> None:
    """Withdraw a separate consent; later requests that need it are refused."""
    c = eg.revoke_consent(engine(settings()), consent_id)
    typer.echo(f"consent {c.id} revoked at {c.revoked_at}")
