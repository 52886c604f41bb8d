"""`hegui data export|check|delete|purge|dsr|sanctions|lift …`: the training pool, erasure, retention,
data-subject requests and end users' sanctions from the command line. Thin: every command calls one function of `hegui.records`."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy import Engine

from hegui.cli import handled
from hegui.cli.common import engine, settings
from hegui.cli.egress import crossborder_report
from hegui.errors import ConfigError
from hegui.guard.sanctions import SanctionLadder
from hegui.policy import Policy, load_policy
from hegui.records import dsr as dsr_mod
from hegui.records.audit import write_batch
from hegui.records.dsr import erase_user
from hegui.records.export import check_export, export_pool
from hegui.records.keep import settle
from hegui.records.retention import purge as purge_job
from hegui.records.sanctions_store import DbSanctionStore, lift_draft, parse_lift, record_json, step_json
from hegui.records.vault import Vault, master_key
from hegui.settings import Settings

app = typer.Typer(
    help="Training pool, erasure, retention, data-subject requests and sanctions.", no_args_is_help=True
)
dsr = typer.Typer(help="Data-subject requests (PIPL 44–47).", no_args_is_help=True)
app.add_typer(dsr, name="dsr")

TENANT = typer.Option("default", "--tenant", help="The tenant the user belongs to.")


def _settle(eng: Engine, s: Settings, policy: Policy | None = None) -> None:
    """Keep what running gateways have journaled (records/keep.py) before reading the stores."""
    policy = policy or load_policy(s.policy_file)
    left = settle(eng, Vault(eng, master_key(s)), policy.records)
    if left:
        typer.echo(f"warning: {left} journaled turns are not kept yet (a gateway is keeping them)", err=True)


@app.command("export")
@handled
def export(
    out_dir: Path = typer.Argument(..., help="New directory for records.jsonl and manifest.json."),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's records (default: all)."),
) -> None:
    """Export the training pool without tombstoned records."""
    s = settings()
    eng = engine(s)
    _settle(eng, s)
    report = export_pool(eng, out_dir, tenant=tenant)
    typer.echo(f"exported {report.records} records to {report.path} (export {report.export_id})")
    for item in report.left_out:
        typer.echo(f"  left out: {item.count} {item.reason}: {item.meaning}")


@app.command("check")
@handled
def check(export_dir: Path = typer.Argument(..., help="An earlier export directory.")) -> None:
    """Flag records of an earlier export that must now be purged. Exit 1 when any is flagged."""
    report = check_export(engine(settings()), export_dir)
    for flag in report.flagged:
        typer.echo(f"{flag.record_hash}\t{flag.reason}")
    if not report.intact:
        typer.echo("records.jsonl does not match the manifest (changed or missing)", err=True)
    typer.echo(f"{len(report.flagged)} of {report.records} records must be purged", err=True)
    if not report.clean:
        raise typer.Exit(1)


def _vault(s: Settings, eng: Engine) -> Vault:
    """The vault; with HEGUI_REDIS_URL, a shredded key is announced to the running gateways, which drop
    their cached copies (or they could still read the user's remembered turns)."""
    vault = Vault(eng, master_key(s))
    if s.redis_url:
        from hegui.cluster.events import Event, EventKind
        from hegui.cluster.redis_state import tell_replicas

        url = s.redis_url
        vault.on_forget = lambda tenant, user: tell_replicas(
            url, Event(EventKind.USER_ERASED, data={"tenant": tenant, "user": user})
        )
    return vault


@app.command("delete")
@handled
def delete(user: str = typer.Argument(..., help="The end-user id."), tenant: str = TENANT) -> None:
    """Erase an end user: delete their data key (crypto-shredding), turns and pool records."""
    s = settings()
    eng = engine(s)
    _settle(eng, s)
    result = erase_user(eng, _vault(s, eng), tenant, user)
    typer.echo(json.dumps(asdict(result)))


@app.command("purge")
@handled
def purge() -> None:
    """Remove what the [retention] policy no longer allows; print what was removed."""
    s = settings()
    policy = load_policy(s.policy_file)
    report = purge_job(engine(s), policy.retention, policy_version=policy.full_version)
    typer.echo(json.dumps(asdict(report)))


def _sanction_store(policy: Policy, eng: Engine) -> DbSanctionStore:
    if policy.records.sanction_store != "database":
        raise ConfigError(
            'sanctions are kept in the gateway\'s process memory ([records] sanction_store = "memory"); '
            "use GET/POST /hegui/api/users/USER/sanctions on the running gateway",
            key="records.sanction_store",
        )
    return DbSanctionStore(eng)


@app.command("sanctions")
@handled
def sanctions(user: str = typer.Argument(..., help="The end-user id."), tenant: str = TENANT) -> None:
    """Show an end user's sanction level now and every recorded step (IM 14), as JSON."""
    s = settings()
    policy = load_policy(s.policy_file)
    store = _sanction_store(policy, engine(s))
    record = record_json(SanctionLadder(policy.sanctions), store, tenant, user, datetime.now(UTC))
    typer.echo(json.dumps(record, ensure_ascii=False))


@app.command("lift")
@handled
def lift(
    user: str = typer.Argument(..., help="The end-user id."),
    to: str = typer.Option(..., "--to", help="The new level: none, warn, restrict, suspend or terminate."),
    by: str = typer.Option(..., "--by", help="Who decided (a staff id); recorded with the step."),
    reason: str = typer.Option(..., "--reason", help="Why (an appeal upheld, say); recorded with the step."),
    tenant: str = TENANT,
) -> None:
    """Set an end user's sanction level by hand: a recorded step and an audit entry. Prints the step."""
    s = settings()
    policy = load_policy(s.policy_file)
    eng = engine(s)
    level, who, why = parse_lift(to, by, reason)
    step = SanctionLadder(policy.sanctions).lift(
        _sanction_store(policy, eng), tenant, user, to=level, by=who, reason=why, now=datetime.now(UTC)
    )
    write_batch(eng, [lift_draft(step, policy.full_version)])
    typer.echo(json.dumps(step_json(step), ensure_ascii=False))


@dsr.command("open")
@handled
def dsr_open(
    user: str = typer.Argument(...),
    kind: str = typer.Argument(..., help="access, correction, deletion or withdrawal."),
    tenant: str = TENANT,
) -> None:
    """Record a request; prints it with its due date."""
    s = settings()
    policy = load_policy(s.policy_file)
    req = dsr_mod.open_request(
        engine(s),
        tenant,
        user,
        kind,
        deadline_days=policy.records.dsr_deadline_days,
        policy_version=policy.full_version,
    )
    typer.echo(json.dumps(asdict(req), ensure_ascii=False))


@dsr.command("list")
@handled
def dsr_list(
    overdue: bool = typer.Option(False, "--overdue", help="Only open requests past their due date."),
) -> None:
    """List requests as JSON lines."""
    today = datetime.now(UTC).date()
    for req in dsr_mod.list_requests(engine(settings()), overdue_on=today if overdue else None):
        typer.echo(json.dumps(asdict(req), ensure_ascii=False))


@dsr.command("complete")
@handled
def dsr_complete(
    request_id: int = typer.Argument(...),
    resolution: str = typer.Option("", "--resolution", help="What was done (required for a correction)."),
) -> None:
    """Carry out and close a request; prints its result (for access: everything held about the user)."""
    s = settings()
    eng = engine(s)
    policy = load_policy(s.policy_file)
    _settle(eng, s, policy)
    _, result = dsr_mod.complete_request(
        eng, _vault(s, eng), request_id, resolution=resolution, policy_version=policy.full_version
    )
    typer.echo(json.dumps(result, ensure_ascii=False))


# The same report as `hegui egress crossborder-report`, where issue 5 and the filing practice look for it.
app.command("crossborder-report")(crossborder_report)
