"""The audit chain's protection, built once from Settings: MAC keys, the checkpointer, and what is missing.

An honest compliance product says plainly what it does not protect. Without `HEGUI_AUDIT_KEY` the
entries carry no MAC and without a signing key and a checkpoint directory there are no checkpoints; both
are allowed (a first run, a test), and both are said at start, as warnings naming the attack left open.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from hegui.errors import ConfigError
from hegui.records.audit import read_head
from hegui.records.audit_keys import MacKeyRing, load_signing_key
from hegui.records.checkpoints import (
    CheckpointCopy,
    CheckpointDir,
    Checkpointer,
    CheckpointPolicy,
    SyslogCopy,
)
from hegui.settings import Settings

NO_MAC_WARNING = (
    "audit entries are written WITHOUT MACs (HEGUI_AUDIT_KEY is unset): whoever can write the database "
    "can change an entry and recompute the chain undetected. Set HEGUI_AUDIT_KEY (openssl rand -hex 32)."
)
NO_CHECKPOINT_WARNING = (
    "no signed audit checkpoints (HEGUI_AUDIT_SIGNING_KEY and HEGUI_AUDIT_CHECKPOINT_DIR are unset): "
    "entries cut off the end of the chain, or the whole chain deleted, cannot be detected."
)


@dataclass(frozen=True, slots=True)
class AuditProtection:
    keys: MacKeyRing
    checkpointer: Checkpointer | None
    warnings: tuple[str, ...]


def audit_protection(settings: Settings) -> AuditProtection:
    """Parse the keys and set up the checkpointer (not started). Misconfiguration is a ConfigError."""
    keys = MacKeyRing.parse(settings.audit_key)
    warnings = [] if keys.enabled else [NO_MAC_WARNING]
    directory, signing = settings.audit_checkpoint_dir, settings.audit_signing_key
    if directory is None and settings.audit_checkpoint_syslog:
        raise ConfigError(
            "syslog receives copies of the checkpoints in HEGUI_AUDIT_CHECKPOINT_DIR, which is unset",
            key="HEGUI_AUDIT_CHECKPOINT_SYSLOG",
        )
    if (directory is None) != (signing is None):
        missing = "HEGUI_AUDIT_SIGNING_KEY" if signing is None else "HEGUI_AUDIT_CHECKPOINT_DIR"
        raise ConfigError("signed checkpoints need both a signing key and a directory", key=missing)
    if directory is None or signing is None:
        return AuditProtection(keys, None, (*warnings, NO_CHECKPOINT_WARNING))
    copies: list[CheckpointCopy] = []
    if settings.audit_checkpoint_syslog:
        copies.append(SyslogCopy(settings.audit_checkpoint_syslog))
    checkpointer = Checkpointer(
        load_signing_key(signing),
        CheckpointDir(directory),
        policy=CheckpointPolicy(settings.audit_checkpoint_every, settings.audit_checkpoint_seconds),
        copies=copies,
        mac_key_id=keys.current.key_id if keys.current else None,
    )
    return AuditProtection(keys, checkpointer, tuple(warnings))


def require_writer_key(engine: Engine, keys: MacKeyRing) -> None:
    """Refuse to start without a MAC key on a chain that is already authenticated (its head has a MAC):
    every entry this writer appended would be refused anyway, so say why now."""
    seq, _, mac = read_head(engine)
    if mac is not None and not keys.enabled:
        raise ConfigError(
            f"the audit chain is authenticated up to entry {seq}; set the same HEGUI_AUDIT_KEY to append to it",
            key="HEGUI_AUDIT_KEY",
        )


def checkpoint_gap(engine: Engine, checkpointer: Checkpointer) -> str | None:
    """A warning when the chain holds entries and the checkpoint directory none: checkpoints are new
    here, or someone deleted them (the directory starts a new chain of checkpoints either way)."""
    seq, _, _ = read_head(engine)
    if seq and checkpointer.newest is None:
        return (
            f"the audit chain holds {seq} entries but {checkpointer.directory} holds no checkpoint: "
            "either checkpoints are new here, or they were deleted. A new chain of checkpoints starts now."
        )
    return None
