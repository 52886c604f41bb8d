"""`hegui keys create|list|revoke`: API keys (stored hashed; shown once)."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from hegui.cli import handled
from hegui.cli.common import engine, settings
from hegui.records.keys import KeyStore

app = typer.Typer(help="API keys for the gateway.", no_args_is_help=True)


def _store() -> KeyStore:
    return KeyStore(engine(settings()))


@app.command("create")
@handled
def create(
    name: str = typer.Option(..., "--name", help="What the key is for."),
    tenant: str = typer.Option("default", "--tenant", help="The tenant its requests belong to."),
    role: str = typer.Option(
        "client",
        "--role",
        help="client (model API), admin (also management), frontend (only agreement acceptance, consent "
        "and DSR submission for its tenant's users, and reading the current agreements) or reviewer (the "
        "staff console, without admin-only actions).",
    ),
    channel: str = typer.Option(
        "api", "--channel", help="api (API customers) or chat (your own chat product)."
    ),
) -> None:
    """Create a key and print it; the last line of output is the key, shown only this once."""
    key, info = _store().create(name=name, tenant=tenant, role=role, channel=channel)
    typer.echo(f"created {info.role} key {info.prefix}… (id {info.id}) for tenant {info.tenant}", err=True)
    typer.echo(key)


@app.command("list")
@handled
def list_(
    include_revoked: bool = typer.Option(False, "--all", help="Include revoked keys."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines."),
) -> None:
    """List keys (prefixes only; the keys themselves are not stored)."""
    for key in _store().list(include_revoked=include_revoked):
        if as_json:
            typer.echo(json.dumps(asdict(key)))
        else:
            state = "active" if key.active else f"revoked {key.revoked_at}"
            typer.echo(
                f"{key.id}\t{key.prefix}…\t{key.role}\t{key.channel}\t{key.tenant}\t{key.name}\t{state}"
            )


@app.command("revoke")
@handled
def revoke(
    ident: str = typer.Argument(..., help="The key's id or prefix (as `hegui keys list` shows)."),
) -> None:
    """Revoke a key: its requests are refused from now on."""
    key = _store().revoke(ident)
    typer.echo(f"revoked {key.prefix}… (id {key.id})")
