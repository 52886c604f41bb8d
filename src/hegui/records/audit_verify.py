"""Verifying the audit chain: hashes and links, entry MACs, and signed checkpoints kept elsewhere.

What each check catches (docs/audit.md says which attacker each one stops):

- hashes and links: any change of a stored entry that was not followed by recomputing the chain;
- MACs (with `HEGUI_AUDIT_KEY`): a change that was, by someone without the key (rewrite-and-rechain);
- checkpoints (with the signing key's public key): a rewrite by someone who holds the MAC key, entries cut
  off the end with the head row fixed, every entry deleted; and forged, removed or reordered checkpoints.

The first problem found ends the walk: everything after a broken entry is unproven anyway.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine

from hegui.errors import AuditChainBroken
from hegui.records.audit import GENESIS, AuditEntry, iter_entries, read_head
from hegui.records.audit_keys import MacKeyRing
from hegui.records.checkpoints import Checkpoint, CheckpointDir


class TamperKind(StrEnum):
    """What the verifier found; the CLI prints it first and `--json` gives it as ``kind``."""

    ENTRY_CHANGED = "entry-changed"  # an entry's fields do not match its hash
    ENTRY_MISSING = "entry-missing"  # a sequence number is missing
    LINK_BROKEN = "link-broken"  # an entry does not name the previous entry's hash
    MAC_MISMATCH = "mac-mismatch"  # rewritten (and re-chained) by someone without the MAC key
    MAC_MISSING = "mac-missing"  # an entry without a MAC after authenticated entries
    UNKNOWN_MAC_KEY = "unknown-mac-key"  # a MAC under a key id HEGUI_AUDIT_KEY does not hold
    HEAD_MISMATCH = "head-mismatch"  # the head row does not match the chain's last entry
    REWRITTEN = "rewritten"  # an entry's hash differs from a signed checkpoint's
    TRUNCATED = "truncated"  # fewer entries than a signed checkpoint saw
    DELETED = "deleted"  # no entries, but signed checkpoints saw some
    CHECKPOINT_FORGED = "checkpoint-forged"  # a checkpoint with a bad signature or an untrusted key
    CHECKPOINT_CHAIN_BROKEN = "checkpoint-chain-broken"  # a checkpoint missing, replaced or out of order


def _broken(kind: TamperKind, message: str, seq: int | None) -> AuditChainBroken:
    return AuditChainBroken(f"{kind.value}: {message}", seq=seq, kind=kind.value)


@dataclass(frozen=True, slots=True)
class TrustedCheckpoints:
    """Where the checkpoints are, and the public keys (by key id) trusted to have signed them."""

    directory: CheckpointDir
    keys: Mapping[str, Ed25519PublicKey]
    at_least: int = 0  # checkpoints the verifier saw before: fewer now means the newest were deleted


@dataclass(frozen=True, slots=True)
class ChainReport:
    """A chain that verified, and how much of it could be verified."""

    entries: int
    head_seq: int
    head_hash: str
    unauthenticated: int = 0  # entries without a MAC (all before the first authenticated one)
    macs_checked: int = 0
    macs_unchecked: int = 0  # entries with a MAC, verified without HEGUI_AUDIT_KEY
    checkpoints: int = 0
    last_checkpoint: Checkpoint | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        """Every entry authenticated and checked, and checkpoints checked (what `--strict` requires)."""
        return (
            self.unauthenticated == 0
            and self.macs_unchecked == 0
            and self.last_checkpoint is not None
            and self.last_checkpoint.entries == self.entries
        )


def verify_checkpoints(trusted: TrustedCheckpoints) -> list[Checkpoint]:
    """Every checkpoint in the directory, each signed by a trusted key and naming its predecessor.
    Raises AuditChainBroken (checkpoint-forged or checkpoint-chain-broken)."""
    out: list[Checkpoint] = []
    for stored in trusted.directory.stored():
        expected = len(out) + 1
        if stored.number != expected:
            raise _broken(
                TamperKind.CHECKPOINT_CHAIN_BROKEN,
                f"checkpoint {expected} is missing from {trusted.directory.path} "
                f"(the next one there is {stored.number})",
                None,
            )
        try:
            cp = Checkpoint.parse(stored.data)
        except ValueError as exc:
            raise _broken(
                TamperKind.CHECKPOINT_FORGED, f"{stored.path} is not a checkpoint: {exc}", None
            ) from None
        key = trusted.keys.get(cp.key_id)
        if key is None:
            raise _broken(
                TamperKind.CHECKPOINT_FORGED,
                f"checkpoint {stored.number} is signed by key {cp.key_id}, which is not a trusted key",
                None,
            )
        if not cp.signature_valid(key):
            raise _broken(
                TamperKind.CHECKPOINT_FORGED,
                f"checkpoint {stored.number}: the signature does not verify",
                None,
            )
        prev = out[-1] if out else None
        if cp.number != stored.number or cp.previous != (prev.digest() if prev else GENESIS):
            raise _broken(
                TamperKind.CHECKPOINT_CHAIN_BROKEN,
                f"checkpoint {stored.number} does not follow checkpoint {stored.number - 1} "
                "(a checkpoint was replaced, reordered or renamed)",
                None,
            )
        if prev is not None and (
            cp.entries < prev.entries or (cp.entries == prev.entries and cp.head_hash != prev.head_hash)
        ):
            raise _broken(
                TamperKind.CHECKPOINT_CHAIN_BROKEN,
                f"checkpoint {cp.number} ({cp.entries} entries) contradicts checkpoint {prev.number} "
                f"({prev.entries} entries)",
                None,
            )
        out.append(cp)
    if len(out) < trusted.at_least:
        raise _broken(
            TamperKind.CHECKPOINT_CHAIN_BROKEN,
            f"{trusted.directory.path} holds {len(out)} checkpoints, but {trusted.at_least} were expected: "
            "the newest checkpoints were deleted",
            None,
        )
    return out


@dataclass
class _Walk:
    """The state of one walk along the chain."""

    keys: MacKeyRing
    expected: dict[int, Checkpoint]
    count: int = 0
    prev_hash: str = GENESIS
    prev_mac: str | None = None
    unauthenticated: int = 0
    macs_checked: int = 0
    macs_unchecked: int = 0

    def step(self, entry: AuditEntry) -> None:
        seq = self.count + 1
        if entry.seq != seq:
            raise _broken(
                TamperKind.ENTRY_MISSING,
                f"entry {seq} is missing (the next stored entry is {entry.seq})",
                seq,
            )
        if entry.prev_hash != self.prev_hash:
            raise _broken(
                TamperKind.LINK_BROKEN,
                f"entry {seq}: prev_hash does not match the hash of entry {seq - 1}",
                seq,
            )
        if entry.compute_hash() != entry.entry_hash:
            raise _broken(
                TamperKind.ENTRY_CHANGED, f"entry {seq}: content does not match its entry_hash", seq
            )
        self._check_mac(entry)
        cp = self.expected.get(seq)
        if cp is not None and cp.head_hash != entry.entry_hash:
            raise _broken(
                TamperKind.REWRITTEN,
                f"entry {seq} differs from signed checkpoint {cp.number} ({cp.time}): the chain up to entry "
                f"{seq} was rewritten and re-chained",
                seq,
            )
        self.count, self.prev_hash, self.prev_mac = seq, entry.entry_hash, entry.mac

    def _check_mac(self, entry: AuditEntry) -> None:
        seq = entry.seq
        if entry.mac is None and entry.key_id is None:
            if self.prev_mac is not None:
                raise _broken(
                    TamperKind.MAC_MISSING,
                    f"entry {seq} has no MAC, but the entries before it are authenticated",
                    seq,
                )
            self.unauthenticated += 1
            return
        if entry.mac is None or entry.key_id is None:
            raise _broken(TamperKind.MAC_MISSING, f"entry {seq}: its MAC or key id was removed", seq)
        if not self.keys.by_id:
            self.macs_unchecked += 1
            return
        key = self.keys.by_id.get(entry.key_id)
        if key is None:
            raise _broken(
                TamperKind.UNKNOWN_MAC_KEY,
                f"entry {seq} is authenticated with key {entry.key_id}, which HEGUI_AUDIT_KEY does not hold "
                "(after a rotation, list the old keys after the current one)",
                seq,
            )
        if entry.compute_mac(key, self.prev_mac) != entry.mac:
            raise _broken(
                TamperKind.MAC_MISMATCH,
                f"entry {seq}: the MAC does not match: the entry was changed, and the chain recomputed, "
                "by someone without the audit key",
                seq,
            )
        self.macs_checked += 1


def verify(
    engine: Engine,
    *,
    progress: Callable[[int], None] | None = None,
    keys: MacKeyRing | None = None,
    checkpoints: TrustedCheckpoints | None = None,
) -> ChainReport:
    """Verify the checkpoints, then walk the chain against them. Raises AuditChainBroken naming the first
    problem and its kind. ``progress(n)`` is called after every ``n`` entries checked."""
    cps = verify_checkpoints(checkpoints) if checkpoints is not None else []
    walk = _Walk(keys or MacKeyRing.empty(), {cp.entries: cp for cp in cps if cp.entries > 0})
    for entry in iter_entries(engine):
        if progress is not None and walk.count and walk.count % 1000 == 0:
            progress(1000)
        walk.step(entry)
    last = cps[-1] if cps else None
    if last is not None and walk.count < last.entries:
        if walk.count == 0:
            raise _broken(
                TamperKind.DELETED,
                f"the database holds no audit entries, but signed checkpoint {last.number} ({last.time}) "
                f"saw {last.entries}: the chain was deleted",
                1,
            )
        raise _broken(
            TamperKind.TRUNCATED,
            f"the chain ends at entry {walk.count}, but signed checkpoint {last.number} ({last.time}) saw "
            f"{last.entries} entries: entries {walk.count + 1}–{last.entries} were removed",
            walk.count + 1,
        )
    head_seq, head_hash, _ = read_head(engine)
    if head_seq != walk.count or head_hash != walk.prev_hash:
        raise _broken(
            TamperKind.HEAD_MISMATCH,
            f"the chain head says entry {head_seq} but the chain ends at entry {walk.count}: "
            "entries were removed from the end, or the head was changed",
            min(head_seq, walk.count) + 1,
        )
    return ChainReport(
        entries=walk.count,
        head_seq=head_seq,
        head_hash=head_hash,
        unauthenticated=walk.unauthenticated,
        macs_checked=walk.macs_checked,
        macs_unchecked=walk.macs_unchecked,
        checkpoints=len(cps),
        last_checkpoint=last,
        notes=tuple(_clock_notes(cps)),
    )


def _clock_notes(cps: list[Checkpoint]) -> list[str]:
    """Checkpoint times come from the writer's clock; going back is worth a look, not proof of tampering."""
    return [
        f"checkpoint {b.number} is dated {b.time}, before checkpoint {a.number} ({a.time}): the clock went back"
        for a, b in itertools.pairwise(cps)
        if b.time < a.time
    ]
