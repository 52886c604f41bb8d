"""`hegui config validate|default|reload`: check the settings and the policy file without starting, print
the bundled policy, and ask a running gateway to reload its policy file."""

from __future__ import annotations

from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.common import settings
from hegui.errors import HeguiError, PolicyNotReloaded
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


@app.command("reload")
@handled
def reload(
    url: str = typer.Option(
        "http://127.0.0.1:8000", "--url", help="The gateway (one replica; it tells the others)."
    ),
    key: str = typer.Option(..., "--key", envvar="HEGUI_ADMIN_KEY", help="An admin API key."),
) -> None:
    """Ask a running gateway to reload its policy file (POST /hegui/api/policy/reload): it swaps its
    checks, wording and labels in place, and tells the other replicas. A file that does not load, or that
    changes a section needing a restart, is refused (exit 2) and the running policy stays."""
    import httpx

    try:
        answer = httpx.post(
            f"{url.rstrip('/')}/hegui/api/policy/reload",
            headers={"authorization": f"Bearer {key}"},
            timeout=120,  # a large lexicon takes seconds to build
        )
    except httpx.HTTPError as exc:
        raise HeguiError(f"cannot reach the gateway at {url}: {exc}") from None
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    if answer.status_code == PolicyNotReloaded.http_status:
        raise PolicyNotReloaded(body["error"]["message"])
    if answer.status_code != 200:
        message = (body.get("error") or {}).get("message") or answer.text[:200]
        raise HeguiError(f"the gateway answered {answer.status_code}: {message}")
    if body["changed"]:
        typer.echo(
            f"policy reloaded: {body['previous']} -> {body['version']} in {body['build_seconds']} s "
            f"(changed: {', '.join(body['sections'])})"
        )
    else:
        typer.echo(f"policy unchanged: {body['version']} (the file is the one in service)")
