"""`hegui keys create|list|revoke|limit`: API keys (stored hashed; shown once) and their own quotas."""

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


def _tell_replicas() -> None:
    """With HEGUI_REDIS_URL: tell the running gateways a key changed, so that they drop their caches
    at once rather than within their 5 s expiry."""
    from hegui.cluster.events import Event, EventKind
    from hegui.cluster.redis_state import tell_replicas

    tell_replicas(settings().redis_url, Event(EventKind.KEY_CHANGED))


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
    _tell_replicas()
    typer.echo(f"revoked {key.prefix}… (id {key.id})")


@app.command("limit")
@handled
def limit(
    ident: str = typer.Argument(..., help="The key's id or prefix (as `hegui keys list` shows)."),
    requests_per_minute: int = typer.Option(0, "--requests-per-minute", min=0, help="0: unlimited."),
    tokens_per_minute: int = typer.Option(0, "--tokens-per-minute", min=0, help="0: unlimited."),
    concurrent_streams: int = typer.Option(0, "--concurrent-streams", min=0, help="0: unlimited."),
    clear: bool = typer.Option(False, "--clear", help="Remove the key's own quota: [limits.key] applies."),
) -> None:
    """Give a key its own quota, replacing the policy's [limits.key] for it (0: unlimited)."""
    from hegui.cluster.config import Quota
    from hegui.records.key_limits import KeyLimits

    quota = (
        None
        if clear
        else Quota(
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            concurrent_streams=concurrent_streams,
        )
    )
    store = _store()
    key_id = KeyLimits(engine(settings())).set(store, ident, quota)
    _tell_replicas()
    if quota is None:
        typer.echo(f"key {key_id}: own quota removed; [limits.key] applies")
    else:
        typer.echo(
            f"key {key_id}: {quota.requests_per_minute} requests/min, {quota.tokens_per_minute} tokens/min, "
            f"{quota.concurrent_streams} concurrent streams (0: unlimited)"
        )
