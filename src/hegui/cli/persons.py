"""`hegui persons add|list|import|remove|authorize|revoke|export`: the person registry (docs/persons.md).

Thin: storing lives in `hegui.records.persons_store`, reading tables in `hegui.persons.importer`.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.common import engine, iso_time, settings
from hegui.errors import RequestError
from hegui.persons.importer import PersonsTableError, default_key, parse_kind, read_persons
from hegui.persons.model import Person, Scope
from hegui.policy import load_policy
from hegui.records.audit import AuditDraft, write_batch
from hegui.records.persons_store import (
    PersonRegistry,
    authorization_draft,
    registration_draft,
    removal_draft,
)

app = typer.Typer(help="The person registry: names, kinds and authorizations.", no_args_is_help=True)


def _registry() -> PersonRegistry:
    return PersonRegistry(engine(settings()))


def _audit(draft: Callable[[str, str], AuditDraft]) -> None:
    """Write the change to the audit chain (``draft(policy_version, by)``), like the admin API does."""
    s = settings()
    write_batch(engine(s), [draft(load_policy(s.policy_file).full_version, f"cli:{getpass.getuser()}")])


def _with_pinyin(person: Person) -> Person:
    """The full pinyin of the name added when none was given (initials would hit ordinary words)."""
    if person.pinyin:
        return person
    from hegui.text.pinyin import spellings

    sp = spellings(person.name)
    if sp is None:
        return person
    return Person(
        person.key, person.name, person.kind, person.aliases, (sp.full,), person.misspellings, person.note
    )


@app.command("add")
@handled
def add(
    name: str = typer.Argument(..., help="The person's name as usually written."),
    kind: str = typer.Option(..., "--kind", help="public_figure, employee, licensed or private."),
    key: str | None = typer.Option(None, "--key", help="Your identifier (default: from the name's pinyin)."),
    alias: list[str] = typer.Option([], "--alias", help="Another name (repeatable)."),
    pinyin: list[str] = typer.Option(
        [], "--pinyin", help="A pinyin spelling (default: the name's full pinyin)."
    ),
    misspelling: list[str] = typer.Option([], "--misspelling", help="A common misspelling (repeatable)."),
    note: str = typer.Option("", "--note", help="Free text for the provider (never shown to users)."),
    replace: bool = typer.Option(False, "--replace", help="Update the person if the key exists."),
) -> None:
    """Register a person (or, with --replace, update one)."""
    try:
        k = parse_kind(kind)
    except ValueError as exc:
        raise RequestError(f"--kind: {exc}") from None
    person = _with_pinyin(
        Person(key or default_key(name), name, k, tuple(alias), tuple(pinyin), tuple(misspelling), note)
    )
    changed = _registry().add(person, replace=replace)
    if changed:
        _audit(lambda version, by: registration_draft([person.key], version, by))
    typer.echo(
        f"{person.key}: {person.name} ({person.kind.value}) {'registered' if changed else 'unchanged'}"
    )


@app.command("import")
@handled
def import_(
    table: Path = typer.Argument(..., help="A CSV or XLSX table of persons (docs/persons.md)."),
    no_replace: bool = typer.Option(False, "--no-replace", help="Fail on a key already registered."),
) -> None:
    """Register every person of a table in one transaction (updating changed ones)."""
    try:
        persons = [_with_pinyin(p) for p in read_persons(table)]
    except PersonsTableError as exc:
        raise RequestError(str(exc)) from None
    c = _registry().import_persons(persons, replace=not no_replace)
    if c.changed:
        _audit(lambda version, by: registration_draft(list(c.changed), version, by))
    typer.echo(f"{c.added} added · {c.updated} updated · {c.unchanged} unchanged")


@app.command("list")
@handled
def list_(
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON snapshot (persons and authorizations)."
    ),
) -> None:
    """The registered persons, each with its authorizations (active, expired or revoked)."""
    snap = _registry().snapshot()
    if as_json:
        typer.echo(json.dumps(snap.to_json(), ensure_ascii=False, indent=2))
        return
    for p in snap.persons:
        names = ", ".join(p.spellings()[1:])
        typer.echo(f"{p.key}  {p.name}  {p.kind.value}" + (f"  ({names})" if names else ""))
        for a in (a for a in snap.authorizations if a.person == p.key):
            state = (
                "revoked"
                if a.revoked_at is not None
                else "expired"
                if a.expires_at is not None and a.expires_at <= snap.taken_at
                else "active"
            )
            until = a.expires_at.date().isoformat() if a.expires_at else "no expiry"
            typer.echo(f"    {a.id}  {a.tenant}  {a.scope.value}  {state}  until {until}  {a.purpose}")
    typer.echo(f"{len(snap.persons)} person(s) · {len(snap.authorizations)} authorization(s)")


@app.command("authorize")
@handled
def authorize(
    key: str = typer.Argument(..., help="The person's key."),
    scope: str = typer.Option(..., "--scope", help="name, likeness or voice."),
    tenant: str = typer.Option(..., "--tenant", help="The tenant the authorization is for."),
    purpose: str = typer.Option(..., "--purpose", help="What the use is for."),
    grantor: str = typer.Option(..., "--grantor", help="Who granted it (the person, or their agent)."),
    evidence: str = typer.Option(..., "--evidence", help="The evidence: a file (hashed) or a reference."),
    expires: str | None = typer.Option(None, "--expires", help="ISO date or time it ends (UTC if no zone)."),
) -> None:
    """Record an authorization of one scope for one tenant."""
    try:
        s = Scope(scope)
    except ValueError:
        raise RequestError(
            f"--scope must be one of {', '.join(x.value for x in Scope)}, not {scope!r}"
        ) from None
    path = Path(evidence)
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    a = _registry().authorize(
        key,
        tenant=tenant,
        scope=s,
        purpose=purpose,
        grantor=grantor,
        evidence=evidence,
        evidence_sha256=digest,
        expires_at=iso_time(expires, "--expires"),
    )
    _audit(lambda version, by: authorization_draft("authorize", a, version, by))
    hashed = f" (evidence sha256 {digest[:12]}…)" if digest else ""
    typer.echo(f"authorization {a.id}: {key} · {s.value} · tenant {tenant}{hashed}")


@app.command("revoke")
@handled
def revoke(
    auth_id: str = typer.Argument(..., help="The authorization's id (from `hegui persons list`)."),
    by: str = typer.Option(..., "--by", help="Who revokes it."),
    reason: str = typer.Option(..., "--reason", help="Why."),
) -> None:
    """Revoke an authorization (kept in the registry with who and why)."""
    a = _registry().revoke(auth_id, by=by, reason=reason)
    _audit(lambda version, who: authorization_draft("revoke", a, version, f"{by} ({who})"))
    typer.echo(f"authorization {a.id} revoked ({a.person} · {a.scope.value} · tenant {a.tenant})")


@app.command("remove")
@handled
def remove(
    key: str = typer.Argument(..., help="The person's key (from `hegui persons list`)."),
    by: str = typer.Option(..., "--by", help="Who removes the person."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with each revoked authorization)."),
) -> None:
    """Take a person out of the registry; the person's authorizations still in force are revoked (kept,
    with who and why). The persona check stops matching the name at its next start or reload."""
    removal = _registry().remove(key, by=by, reason=reason)
    _audit(lambda version, who: removal_draft(removal, version, f"{by} ({who})", reason))
    p = removal.person
    typer.echo(f"{p.key}: {p.name} removed; {len(removal.revoked)} authorization(s) revoked")


@app.command("export")
@handled
def export(out: Path = typer.Option(..., "--out", "-o", help="The snapshot file to write (JSON).")) -> None:
    """Write a snapshot of the registry, for a `persona` check with `registry = "FILE"`."""
    snap = _registry().snapshot()
    out.write_text(json.dumps(snap.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    typer.echo(f"{len(snap.persons)} person(s) · {len(snap.authorizations)} authorization(s) → {out}")


def _consents() -> None:
    from hegui.cli import consents

    app.add_typer(consents.app, name="consent")


_consents()
