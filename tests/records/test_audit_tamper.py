"""Tampering with an audit chain protected by entry MACs and signed checkpoints, as someone who can write
the database would, each case checked through `hegui audit verify --checkpoints` (SQLite and PostgreSQL).

The attacker's edits are made with plain SQL, outside hegui's writer: change a field and recompute every
later hash (with or without the MAC key), cut the tail and fix the head row, delete everything, change
each column alone, and forge, remove or reorder checkpoints."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, delete, update
from typer.testing import CliRunner

from hegui.cli import app
from hegui.records.audit import GENESIS, AuditDraft, AuditEntry, AuditLog, iter_entries, with_audit_keys
from hegui.records.audit_keys import MacKeyRing, generate_signing_key, load_signing_key
from hegui.records.checkpoints import Checkpoint, CheckpointDir, Checkpointer, CheckpointPolicy
from hegui.records.tables import AuditEntryRow, AuditHeadRow

runner = CliRunner()
ENTRIES = 20


@dataclass
class Protected:
    """A chain of ENTRIES entries written with a MAC key and checkpoints at entries 5, 10, 15 and 20."""

    engine: Engine
    mac_hex: str
    keys: MacKeyRing
    signing_path: Path
    checkpoints: Path
    env: dict[str, str]

    def verify(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = runner.invoke(
            app, ["audit", "verify", "--checkpoints", str(self.checkpoints), "--json", *args], env=self.env
        )
        assert result.exit_code in (0, 1, 3), result.output
        return result.exit_code, json.loads(result.stdout)

    def entries(self) -> list[AuditEntry]:
        return list(iter_entries(self.engine))

    def stored_checkpoints(self) -> list[Path]:
        return sorted(self.checkpoints.glob("*.json"))


def write_chain(engine: Engine, keys: MacKeyRing, signing: Path, directory: Path, n: int) -> None:
    # Checkpoints at entries 5, 10, 15 and 20 (at close), taken here rather than by the checkpointer's
    # own schedule, so that every test starts from the same four checkpoints.
    checkpointer = Checkpointer(
        load_signing_key(str(signing)),
        CheckpointDir(directory),
        policy=CheckpointPolicy(every=10**9, seconds=3600),
        mac_key_id=keys.current.key_id if keys.current else None,
    )
    checkpointer.start()
    log = AuditLog(with_audit_keys(engine, keys), observer=checkpointer)
    log.start()
    try:
        for i in range(n):
            log.append_sync(
                AuditDraft(
                    request_id=f"r{i}",
                    stage="input" if i % 2 else "output",
                    action="refuse" if i % 3 == 0 else "allow",
                    policy_version="p1",
                    content_hash=f"{i:064x}",
                    tenant="t1",
                    end_user=f"u{i}",
                    findings=[{"check": "demo", "category": "A.1h", "start": 0, "end": 2}]
                    if i % 3 == 0
                    else [],
                    detail={"model": "m"},
                )
            )
            if (i + 1) % 5 == 0 and i + 1 < n:
                assert checkpointer.checkpoint() is not None
    finally:
        log.close()  # the final checkpoint


@pytest.fixture
def chain(engine: Engine, tmp_path: Path) -> Iterator[Protected]:
    mac_hex = secrets.token_hex(32)
    keys = MacKeyRing.parse(mac_hex)
    signing = generate_signing_key(tmp_path / "keys" / "audit-signing.pem").private_path
    checkpoints = tmp_path / "checkpoints"
    write_chain(engine, keys, signing, checkpoints, ENTRIES)
    env = {
        "HEGUI_DATA_DIR": str(tmp_path / "data"),
        "HEGUI_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "HEGUI_POLICY_FILE": "",
        "HEGUI_AUDIT_KEY": mac_hex,
        "HEGUI_AUDIT_SIGNING_KEY": str(signing),
        "HEGUI_AUDIT_CHECKPOINT_DIR": "",
    }
    yield Protected(engine, mac_hex, keys, signing, checkpoints, env)


def rechain(engine: Engine, entries: list[AuditEntry], *, keys: MacKeyRing | None) -> None:
    """Store ``entries`` with every hash (and, given the key, every MAC) recomputed, and fix the head,
    exactly as an attacker who can write the database would."""
    prev_hash, prev_mac = GENESIS, None
    key = keys.current if keys else None
    with engine.begin() as conn:
        for e in entries:
            fixed = replace(e, prev_hash=prev_hash, entry_hash="")
            fixed = replace(fixed, entry_hash=fixed.compute_hash())
            if key is not None:
                fixed = replace(fixed, key_id=key.key_id, mac=fixed.compute_mac(key, prev_mac))
            conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == e.seq).values(**fixed.stored()))
            prev_hash, prev_mac = fixed.entry_hash, fixed.mac
        conn.execute(update(AuditHeadRow).values(seq=len(entries), entry_hash=prev_hash, mac=prev_mac))


def test_a_clean_chain_verifies_completely(chain: Protected) -> None:
    code, out = chain.verify("--strict")
    assert code == 0, out
    assert (out["entries"], out["authenticated"], out["unauthenticated"]) == (ENTRIES, ENTRIES, 0)
    assert out["checkpoints"] == 4 and out["last_checkpoint"]["entries"] == ENTRIES
    assert out["complete"] is True


def test_rewrite_and_rechain_without_the_key_is_a_mac_mismatch(chain: Protected) -> None:
    entries = chain.entries()
    entries[6] = replace(entries[6], action="allow", findings="[]")
    rechain(chain.engine, entries, keys=None)
    code, out = chain.verify()
    assert (code, out["ok"], out["kind"], out["seq"]) == (1, False, "mac-mismatch", 7)
    assert "by someone without the audit key" in out["message"]


def test_rewrite_and_rechain_with_the_key_contradicts_a_checkpoint(chain: Protected) -> None:
    entries = chain.entries()
    entries[6] = replace(entries[6], action="allow", findings="[]")
    rechain(chain.engine, entries, keys=chain.keys)
    without_checkpoints = runner.invoke(app, ["audit", "verify", "--json"], env=chain.env)
    assert without_checkpoints.exit_code == 0  # the MAC key alone cannot tell: that is the point
    code, out = chain.verify()
    assert (code, out["kind"]) == (1, "rewritten")
    assert out["seq"] >= 7


def test_stripping_every_mac_and_rechaining_contradicts_a_checkpoint(chain: Protected) -> None:
    entries = [replace(e, key_id=None, mac=None) for e in chain.entries()]
    entries[6] = replace(entries[6], action="allow")
    rechain(chain.engine, entries, keys=None)
    code, out = chain.verify()
    assert (code, out["kind"]) == (1, "rewritten")


def test_stripping_macs_from_the_end_is_a_missing_mac(chain: Protected) -> None:
    entries = chain.entries()
    entries[10:] = [replace(e, key_id=None, mac=None) for e in entries[10:]]
    entries[12] = replace(entries[12], action="allow")
    rechain(chain.engine, entries, keys=None)
    code, out = chain.verify()
    assert (code, out["kind"], out["seq"]) == (1, "mac-missing", 11)


def test_truncation_with_the_head_fixed(chain: Protected) -> None:
    keep = chain.entries()[14]
    with chain.engine.begin() as conn:
        conn.execute(delete(AuditEntryRow).where(AuditEntryRow.seq > 15))
        conn.execute(update(AuditHeadRow).values(seq=15, entry_hash=keep.entry_hash, mac=keep.mac))
    assert runner.invoke(app, ["audit", "verify"], env=chain.env).exit_code == 0  # consistent without them
    code, out = chain.verify()
    assert (code, out["kind"], out["seq"]) == (1, "truncated", 16)
    assert "entries 16–20 were removed" in out["message"]


def test_delete_all(chain: Protected) -> None:
    with chain.engine.begin() as conn:
        conn.execute(delete(AuditEntryRow))
        conn.execute(update(AuditHeadRow).values(seq=0, entry_hash=GENESIS, mac=None))
    plain = runner.invoke(app, ["audit", "verify"], env=chain.env)
    assert plain.exit_code == 0 and "0 entries" in plain.stdout
    code, out = chain.verify()
    assert (code, out["kind"]) == (1, "deleted")


def _other(value: object) -> object:
    if isinstance(value, int):
        return value + 1000
    return (str(value) + "x")[-64:] if value is not None else "someone"


# Every column of audit_entries and the kind of tampering a change of it alone is reported as. A new
# column without a row here fails the test: it must be covered by the hash or the MAC.
SINGLE_FIELD = {
    "seq": "entry-missing",
    "request_id": "entry-changed",
    "ts": "entry-changed",
    "tenant": "entry-changed",
    "end_user": "entry-changed",
    "stage": "entry-changed",
    "action": "entry-changed",
    "findings": "entry-changed",
    "detail": "entry-changed",
    "policy_version": "entry-changed",
    "content_hash": "entry-changed",
    "prev_hash": "link-broken",
    "entry_hash": "entry-changed",
    "key_id": "unknown-mac-key",
    "mac": "mac-mismatch",
}


def test_the_table_of_single_field_changes_covers_every_column() -> None:
    assert set(SINGLE_FIELD) == {c.name for c in AuditEntryRow.__table__.columns}


@pytest.mark.parametrize(("column", "kind"), list(SINGLE_FIELD.items()))
def test_every_single_field_change_is_detected(chain: Protected, column: str, kind: str) -> None:
    entry = chain.entries()[6]
    value = _other(getattr(entry, column))
    with chain.engine.begin() as conn:
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 7).values({column: value}))
    code, out = chain.verify()
    assert (code, out["kind"], out["seq"]) == (1, kind, 7)


@pytest.mark.parametrize("column", ["key_id", "mac"])
def test_removing_the_mac_of_one_entry_is_detected(chain: Protected, column: str) -> None:
    with chain.engine.begin() as conn:
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 7).values({column: None}))
    code, out = chain.verify()
    assert (code, out["kind"], out["seq"]) == (1, "mac-missing", 7)


def _load(path: Path) -> Checkpoint:
    return Checkpoint.parse(path.read_bytes())


def _overwrite(path: Path, data: bytes) -> None:
    path.chmod(0o644)
    path.write_bytes(data)


def test_a_checkpoint_edited_after_signing_is_forged(chain: Protected) -> None:
    last = chain.stored_checkpoints()[-1]
    _overwrite(last, replace(_load(last), entries=15).to_bytes())
    code, out = chain.verify()
    assert (code, out["kind"]) == (1, "checkpoint-forged")
    assert "signature does not verify" in out["message"]


def test_a_checkpoint_signed_by_another_key_is_forged(chain: Protected) -> None:
    """Truncate, then add a checkpoint for the shorter chain signed with the attacker's own key."""
    with chain.engine.begin() as conn:
        conn.execute(delete(AuditEntryRow).where(AuditEntryRow.seq > 15))
    stored = chain.stored_checkpoints()
    prev = _load(stored[-1])
    forged = replace(prev, number=prev.number + 1, entries=15, previous=prev.digest(), key_id=prev.key_id)
    forged = forged.sign(Ed25519PrivateKey.generate())
    (chain.checkpoints / f"{forged.number:012d}.json").write_bytes(forged.to_bytes())
    code, out = chain.verify()
    assert (code, out["kind"]) == (1, "checkpoint-forged")


@pytest.mark.parametrize("how", ["swap", "remove-middle", "rename-last"])
def test_reordered_or_removed_checkpoints_break_their_chain(chain: Protected, how: str) -> None:
    stored = chain.stored_checkpoints()
    a, b = stored[0], stored[1]
    if how == "swap":
        data_a, data_b = a.read_bytes(), b.read_bytes()
        _overwrite(a, data_b)
        _overwrite(b, data_a)
    elif how == "remove-middle":
        b.unlink()
    else:
        stored[-1].rename(stored[-1].with_name(f"{len(stored) + 1:012d}.json"))
    code, out = chain.verify()
    assert (code, out["kind"]) == (1, "checkpoint-chain-broken")


def test_deleting_the_newest_checkpoints_is_seen_by_a_verifier_who_remembers(chain: Protected) -> None:
    """The directory alone cannot show that its newest files were deleted; a count kept by the auditor can."""
    code, out = chain.verify()
    seen = out["checkpoints"]
    chain.stored_checkpoints()[-1].unlink()
    assert chain.verify()[0] == 0  # the shorter chain of checkpoints is consistent
    code, out = chain.verify("--expect-checkpoints", str(seen))
    assert (code, out["kind"]) == (1, "checkpoint-chain-broken")
    assert "the newest checkpoints were deleted" in out["message"]


def test_a_checkpoint_from_an_untrusted_public_key_is_refused(chain: Protected, tmp_path: Path) -> None:
    other = generate_signing_key(tmp_path / "other.pem")
    result = runner.invoke(
        app,
        [
            "audit",
            "verify",
            "--checkpoints",
            str(chain.checkpoints),
            "--public-key",
            str(other.public_path),
            "--json",
        ],
        env=chain.env,
    )
    assert result.exit_code == 1 and json.loads(result.stdout)["kind"] == "checkpoint-forged"


def test_verifying_with_only_the_public_key(chain: Protected) -> None:
    """An auditor holds the public key only: MACs are reported unchecked, checkpoints are checked."""
    env = chain.env | {"HEGUI_AUDIT_KEY": "", "HEGUI_AUDIT_SIGNING_KEY": ""}
    public = chain.signing_path.with_name(chain.signing_path.name + ".pub")
    args = ["audit", "verify", "--checkpoints", str(chain.checkpoints), "--public-key", str(public)]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert f"{ENTRIES} entries carry MACs not checked" in result.stdout
    assert runner.invoke(app, [*args, "--strict"], env=env).exit_code == 3
    keep = chain.entries()[14]
    with chain.engine.begin() as conn:
        conn.execute(delete(AuditEntryRow).where(AuditEntryRow.seq > 15))
        conn.execute(update(AuditHeadRow).values(seq=15, entry_hash=keep.entry_hash, mac=keep.mac))
    truncated = runner.invoke(app, args, env=env)
    assert truncated.exit_code == 1 and truncated.stderr.startswith("error: truncated: ")


def test_checkpoints_need_a_trusted_key(chain: Protected) -> None:
    env = chain.env | {"HEGUI_AUDIT_SIGNING_KEY": ""}
    result = runner.invoke(app, ["audit", "verify", "--checkpoints", str(chain.checkpoints)], env=env)
    assert result.exit_code == 2 and "--public-key" in result.stderr
