"""`hegui audit verify|show|keygen|checkpoint`: check the audit chain against its MACs and signed
checkpoints; find the entries of a request; create a signing key; sign the head now."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.common import engine, progress, settings
from hegui.errors import AuditChainBroken, ConfigError
from hegui.records.audit import chain_length, find_by_request, verify_chain
from hegui.records.audit_keys import (
    SIGNING_KEY_ENV,
    MacKeyRing,
    generate_signing_key,
    load_public_key,
    load_signing_key,
)
from hegui.records.audit_verify import ChainReport, TrustedCheckpoints
from hegui.records.checkpoints import CheckpointDir, Checkpointer, CheckpointPolicy, trusted_keys
from hegui.settings import Settings

app = typer.Typer(help="The tamper-evident audit chain.", no_args_is_help=True)

EXIT_INCOMPLETE = 3


def trusted_checkpoints(
    s: Settings, directory: Path | None, public_keys: list[Path], at_least: int = 0
) -> TrustedCheckpoints | None:
    """The checkpoints to check the chain against: the directory given or configured, with the keys
    given or the configured signing key's; None when no directory is. Shared with `hegui assess`."""
    directory = directory or s.audit_checkpoint_dir
    if directory is None:
        return None
    if not directory.is_dir():
        raise ConfigError("no such checkpoint directory", file=str(directory))
    keys = [load_public_key(p) for p in public_keys]
    if not keys and s.audit_signing_key:
        keys = [load_signing_key(s.audit_signing_key).public_key()]
    if not keys:
        raise ConfigError(f"checking checkpoints needs --public-key FILE (or {SIGNING_KEY_ENV})")
    return TrustedCheckpoints(CheckpointDir(directory), trusted_keys(keys), at_least)


def summary_lines(report: ChainReport, checked: TrustedCheckpoints | None) -> list[str]:
    """What a verification checked and what it could not (MACs without a key, no checkpoints)."""
    lines = [f"audit chain OK: {report.entries} entries, head {report.head_hash[:16]}…"]
    if report.macs_checked:
        lines.append(f"  authenticated: {report.macs_checked} entries, MACs checked")
    if report.macs_unchecked:
        lines.append(
            f"  warning: {report.macs_unchecked} entries carry MACs not checked: set HEGUI_AUDIT_KEY"
        )
    if report.unauthenticated:
        lines.append(
            f"  warning: entries 1–{report.unauthenticated} are unauthenticated (written without HEGUI_AUDIT_KEY)"
        )
    last = report.last_checkpoint
    if checked is None:
        lines.append(
            "  warning: no checkpoints checked (--checkpoints DIR): truncation and deletion not checked"
        )
    elif last is None:
        lines.append(f"  warning: no checkpoints in {checked.directory.path}")
    else:
        lines.append(
            f"  checkpoints: {report.checkpoints} verified; the last (#{last.number}, {last.time}) "
            f"covers entries 1–{last.entries}"
        )
        if last.entries < report.entries:
            lines.append(f"  entries {last.entries + 1}–{report.entries} are newer than the last checkpoint")
    lines += [f"  note: {n}" for n in report.notes]
    return lines


@app.command("verify")
@handled
def verify(
    checkpoints: Path | None = typer.Option(
        None,
        "--checkpoints",
        help="Directory of signed checkpoints (default HEGUI_AUDIT_CHECKPOINT_DIR, if set).",
    ),
    public_key: list[Path] = typer.Option(
        [],
        "--public-key",
        help="Trusted checkpoint public key (PEM; repeat for rotated keys). Default: HEGUI_AUDIT_SIGNING_KEY's.",
    ),
    expect: int = typer.Option(
        0,
        "--expect-checkpoints",
        min=0,
        help="Checkpoints you saw at the last verification: fewer now means the newest were deleted.",
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Exit 3 unless every entry is authenticated and checked and the last checkpoint is at the head.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Walk the whole chain: hashes, links, MACs (HEGUI_AUDIT_KEY) and signed checkpoints. Exit 0 when it
    verifies; 1 naming the kind of tampering and the first entry concerned; 2 on bad input; 3 with
    --strict when part of the chain could not be checked."""
    s = settings()
    trusted = trusted_checkpoints(s, checkpoints, public_key, expect)
    eng = engine(s, migrate_schema=False)
    try:
        with progress("verifying the audit chain", chain_length(eng)) as advance:
            report = verify_chain(
                eng, progress=advance, keys=MacKeyRing.parse(s.audit_key), checkpoints=trusted
            )
    except AuditChainBroken as exc:
        if as_json:
            typer.echo(json.dumps({"ok": False, "kind": exc.kind, "seq": exc.seq, "message": exc.message}))
            raise typer.Exit(exc.exit_code) from None
        raise
    finally:
        eng.dispose()
    if as_json:
        last = report.last_checkpoint
        out = {
            "ok": True,
            "entries": report.entries,
            "head": report.head_hash,
            "authenticated": report.macs_checked,
            "unauthenticated": report.unauthenticated,
            "macs_unchecked": report.macs_unchecked,
            "checkpoints": report.checkpoints,
            "last_checkpoint": None
            if last is None
            else {"number": last.number, "entries": last.entries, "time": last.time},
            "complete": report.complete,
            "notes": list(report.notes),
        }
        typer.echo(json.dumps(out, ensure_ascii=False))
    else:
        for line in summary_lines(report, trusted):
            typer.echo(line)
    if strict and not report.complete:
        typer.echo(
            "error: --strict: part of the chain is not authenticated or not covered by a checkpoint", err=True
        )
        raise typer.Exit(EXIT_INCOMPLETE)


@app.command("show")
@handled
def show(request_id: str = typer.Argument(..., help="A response id (the ProduceID of a label).")) -> None:
    """Print the audit entries of one request as JSON lines (exit 1 when there are none)."""
    entries = find_by_request(engine(settings(), migrate_schema=False), request_id)
    for entry in entries:
        typer.echo(json.dumps(entry.to_json(), ensure_ascii=False))
    if not entries:
        typer.echo(f"no audit entry for {request_id!r}", err=True)
        raise typer.Exit(1)


@app.command("keygen")
@handled
def keygen(path: Path = typer.Argument(..., help="Where to write the private key (PEM, mode 0600).")) -> None:
    """Create an Ed25519 checkpoint signing key: PATH (private) and PATH.pub (public, for verifiers)."""
    made = generate_signing_key(path)
    typer.echo(
        f"wrote {made.private_path} (private, 0600) and {made.public_path} (public); key id {made.key_id}"
    )
    typer.echo(f"set {SIGNING_KEY_ENV}={made.private_path}; give verifiers {made.public_path}")


@app.command("checkpoint")
@handled
def checkpoint() -> None:
    """Verify the chain, then sign a checkpoint of its head now into HEGUI_AUDIT_CHECKPOINT_DIR (for a chain
    written before checkpoints were configured, or from a scheduler). Exit 1 if the chain does not verify."""
    s = settings()
    if s.audit_signing_key is None or s.audit_checkpoint_dir is None:
        raise ConfigError("needs HEGUI_AUDIT_SIGNING_KEY and HEGUI_AUDIT_CHECKPOINT_DIR", key=SIGNING_KEY_ENV)
    keys = MacKeyRing.parse(s.audit_key)
    signing = load_signing_key(s.audit_signing_key)
    directory = CheckpointDir(s.audit_checkpoint_dir)
    directory.ensure()
    eng = engine(s, migrate_schema=False)
    try:
        trusted = TrustedCheckpoints(directory, trusted_keys([signing.public_key()]))
        report = verify_chain(eng, keys=keys, checkpoints=trusted)
    finally:
        eng.dispose()
    writer = Checkpointer(
        signing,
        directory,
        policy=CheckpointPolicy(),
        mac_key_id=keys.current.key_id if keys.current else None,
    )
    writer.start()
    writer.advanced(report.entries, report.head_hash)
    writer.close()
    newest = directory.newest()
    if writer.written and newest is not None:
        typer.echo(f"checkpoint {newest.number}: {newest.entries} entries, head {newest.head_hash[:16]}…")
    elif writer.problem:
        raise ConfigError(f"checkpoint not written: {writer.problem}", file=str(directory.path))
    else:
        typer.echo(f"no new checkpoint: the last one already covers entry {report.entries}")
