"""`hegui persons consent add|list|revoke`: separate consents of edited persons (DS-02, docs/persons.md).

Thin: storing lives in `hegui.records.edit_consents`; every change is an audit entry (stage ``persons``).
"""

from __future__ import annotations

import getpass
import hashlib
import json
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.common import engine, iso_time, settings
from hegui.policy import load_policy
from hegui.records.audit import write_batch
from hegui.records.edit_consents import EditConsent, EditConsents, consent_draft

app = typer.Typer(
    help="Separate consents of persons whose face or voice is edited (DS-02).", no_args_is_help=True
)


def _store() -> EditConsents:
    return EditConsents(engine(settings()))


def _audit(action: str, c: EditConsent, by: str | None = None) -> None:
    s = settings()
    who = f"cli:{getpass.getuser()}"
    draft = consent_draft(action, c, load_policy(s.policy_file).full_version, f"{by} ({who})" if by else who)
    write_batch(engine(s), [draft])


@app.command("add")
@handled
def add(
    subject: str = typer.Option(..., "--subject", help="The edited person, as you identify them."),
    tenant: str = typer.Option(..., "--tenant", help="The tenant whose users may make the edit."),
    scope: list[str] = typer.Option(..., "--scope", help="likeness, voice, brand or document (repeatable)."),
    purpose: str = typer.Option(..., "--purpose", help="What the edits are for."),
    consented_by: str = typer.Option(
        ..., "--consented-by", help="Who gave the consent (the person, or their guardian or agent)."
    ),
    evidence: str = typer.Option(..., "--evidence", help="The evidence: a file (hashed) or a reference."),
    person: str | None = typer.Option(None, "--person", help="The person's registry key, if registered."),
    expires: str | None = typer.Option(None, "--expires", help="ISO date or time it ends (UTC if no zone)."),
) -> None:
    """Record an edited person's separate consent; prints its id (sent as X-Hegui-Consent)."""

    path = Path(evidence)
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    c = _store().record(
        tenant=tenant,
        subject=subject,
        scopes=tuple(scope),
        purpose=purpose,
        consented_by=consented_by,
        evidence=evidence,
        evidence_sha256=digest,
        recorded_by=f"cli:{getpass.getuser()}",
        person_key=person,
        expires_at=iso_time(expires, "--expires"),
    )
    _audit("consent", c)
    typer.echo(f"edit consent {c.id}: {subject} · {', '.join(c.scopes)} · tenant {tenant}")


@app.command("list")
@handled
def list_(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The recorded edit consents (active, expired or revoked)."""
    consents = _store().list(tenant)
    if as_json:
        typer.echo(json.dumps([c.to_json() for c in consents], ensure_ascii=False, indent=2))
        return
    for c in consents:
        state = "revoked" if c.revoked_at else "active"
        until = c.expires_at.date().isoformat() if c.expires_at else "no expiry"
        typer.echo(f"{c.id}  {c.tenant}  {c.subject}  {','.join(c.scopes)}  {state}  until {until}")
    typer.echo(f"{len(consents)} edit consent(s)")


@app.command("revoke")
@handled
def revoke(
    consent_id: str = typer.Argument(..., help="The consent's id."),
    by: str = typer.Option(..., "--by", help="Who revokes it."),
    reason: str = typer.Option(..., "--reason", help="Why."),
) -> None:
    """Revoke an edit consent (kept with who and why)."""
    c = _store().revoke(consent_id, by=by, reason=reason)
    _audit("revoke_consent", c, by)
    typer.echo(f"edit consent {c.id} revoked ({c.subject} · tenant {c.tenant})")
