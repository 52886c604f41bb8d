"""Entry MAC keys (rotation, upgrade, downgrade), checkpoint writing (intervals, replicas, syslog) and the
settings that configure them."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from hegui.errors import AuditChainBroken, ConfigError, StorageError
from hegui.records.audit import (
    GENESIS,
    AuditDraft,
    AuditLog,
    find_by_request,
    iter_entries,
    verify_chain,
    with_audit_keys,
    write_batch,
)
from hegui.records.audit_keys import MacKeyRing, generate_signing_key, load_signing_key, signing_key_id
from hegui.records.audit_setup import audit_protection, require_writer_key
from hegui.records.audit_verify import TrustedCheckpoints
from hegui.records.checkpoints import (
    SYSLOG_TAG,
    Checkpoint,
    CheckpointDir,
    Checkpointer,
    CheckpointPolicy,
    SyslogCopy,
)
from hegui.settings import load_settings

KEY_A, KEY_B = secrets.token_hex(32), secrets.token_hex(32)


def draft(i: int) -> AuditDraft:
    return AuditDraft(f"r{i}", "input", "allow", "p1", f"{i:064x}")


def write(engine: Engine, n: int, keys: MacKeyRing | None = None) -> None:
    eng = with_audit_keys(engine, keys) if keys else engine
    for i in range(n):
        write_batch(eng, [draft(i)])


@pytest.mark.parametrize("value", ["abc", "zz" * 32, "00" * 16, f"{KEY_A},short"])
def test_a_mac_key_must_be_32_random_bytes_in_hex(value: str) -> None:
    with pytest.raises(ConfigError) as err:
        MacKeyRing.parse(value)
    assert "HEGUI_AUDIT_KEY" in err.value.message and "openssl rand -hex 32" in err.value.message


def test_key_ids_are_fingerprints_and_never_show_the_key() -> None:
    ring = MacKeyRing.parse(f"{KEY_B}, {KEY_A}")
    assert ring.current is not None and ring.current == MacKeyRing.parse(KEY_B).current
    assert len(ring.by_id) == 2 and KEY_A not in repr(ring) and KEY_B not in repr(ring)


def test_rotation_keeps_old_entries_verifiable_with_the_old_key_listed(engine: Engine) -> None:
    a, rotated = MacKeyRing.parse(KEY_A), MacKeyRing.parse(f"{KEY_B},{KEY_A}")
    write(engine, 3, a)
    write(engine, 3, rotated)
    report = verify_chain(engine, keys=rotated)
    assert (report.entries, report.macs_checked) == (6, 6)
    with pytest.raises(AuditChainBroken) as err:
        verify_chain(engine, keys=MacKeyRing.parse(KEY_B))
    assert (err.value.kind, err.value.seq) == ("unknown-mac-key", 1)
    with pytest.raises(AuditChainBroken) as err:
        verify_chain(engine, keys=MacKeyRing.parse(KEY_A))
    assert (err.value.kind, err.value.seq) == ("unknown-mac-key", 4)


def test_a_chain_from_before_macs_is_unauthenticated_up_to_the_first_mac(engine: Engine) -> None:
    write(engine, 4)
    write(engine, 3, MacKeyRing.parse(KEY_A))
    report = verify_chain(engine, keys=MacKeyRing.parse(KEY_A))
    assert (report.entries, report.unauthenticated, report.macs_checked) == (7, 4, 3)
    assert not report.complete
    unkeyed = verify_chain(engine)
    assert (unkeyed.unauthenticated, unkeyed.macs_unchecked) == (4, 3)


def test_a_database_not_yet_migrated_to_macs_still_verifies(engine: Engine) -> None:
    """An auditor may verify a database that no newer hegui has migrated yet (and may not migrate it)."""
    write(engine, 3)
    with engine.begin() as conn:
        for table, column in (("audit_entries", "mac"), ("audit_entries", "key_id"), ("audit_head", "mac")):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    report = verify_chain(engine, keys=MacKeyRing.parse(KEY_A))
    assert (report.entries, report.unauthenticated, report.macs_checked) == (3, 3, 0)
    assert [e.seq for e in find_by_request(engine, "r1")] == [2]


def test_an_authenticated_chain_refuses_unauthenticated_appends(engine: Engine) -> None:
    write(engine, 2, MacKeyRing.parse(KEY_A))
    with pytest.raises(StorageError, match="refusing to append unauthenticated entries"):
        write_batch(engine, [draft(9)])
    with pytest.raises(ConfigError, match="set the same HEGUI_AUDIT_KEY"):
        require_writer_key(engine, MacKeyRing.empty())
    require_writer_key(engine, MacKeyRing.parse(KEY_A))
    assert verify_chain(engine, keys=MacKeyRing.parse(KEY_A)).entries == 2


def _checkpointer(directory: Path, key: Ed25519PrivateKey, every: int, seconds: float = 30) -> Checkpointer:
    return Checkpointer(key, CheckpointDir(directory), policy=CheckpointPolicy(every, seconds))


def _trusted(directory: Path, key: Ed25519PrivateKey) -> TrustedCheckpoints:
    return TrustedCheckpoints(CheckpointDir(directory), {signing_key_id(key.public_key()): key.public_key()})


def _stored(directory: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_bytes()) for p in sorted(directory.glob("*.json"))]


def _wait_for(directory: Path, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 20
    while len(_stored(directory)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return _stored(directory)


def test_checkpoints_every_n_entries_and_at_close(engine: Engine, tmp_path: Path) -> None:
    key, directory = Ed25519PrivateKey.generate(), tmp_path / "cp"
    cp = _checkpointer(directory, key, every=4)  # and every 30 s: never, in this test
    cp.start()
    log = AuditLog(engine, observer=cp)
    log.start()
    for i in range(4):
        log.append_sync(draft(i))
    assert [s["entries"] for s in _wait_for(directory, 1)] == [4]
    for i in range(4, 8):
        log.append_sync(draft(i))
    assert [s["entries"] for s in _wait_for(directory, 2)] == [4, 8]
    for i in range(8, 10):
        log.append_sync(draft(i))
    time.sleep(0.2)
    assert len(_stored(directory)) == 2, "2 new entries: not due yet"
    log.close()
    stored = _stored(directory)
    assert [(s["number"], s["entries"]) for s in stored] == [(1, 4), (2, 8), (3, 10)]
    assert all((directory / f"{s['number']:012d}.json").stat().st_mode & 0o222 == 0 for s in stored)
    report = verify_chain(engine, checkpoints=_trusted(directory, key))
    assert report.checkpoints == 3 and report.last_checkpoint is not None


def test_checkpoints_after_a_quiet_interval(engine: Engine, tmp_path: Path) -> None:
    cp = _checkpointer(tmp_path / "cp", Ed25519PrivateKey.generate(), every=1000, seconds=0.05)
    cp.start()
    log = AuditLog(engine, observer=cp)
    log.start()
    try:
        log.append_sync(draft(1))
        deadline = time.monotonic() + 10
        while not list((tmp_path / "cp").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(list((tmp_path / "cp").glob("*.json"))) == 1
    finally:
        log.close()
    assert len(list((tmp_path / "cp").glob("*.json"))) == 1, "no new entries: no new checkpoint at close"


def test_replicas_sharing_a_directory_keep_one_checkpoint_chain(engine: Engine, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    logs = []
    for _ in range(2):
        cp = _checkpointer(tmp_path / "cp", key, every=3)
        cp.start()
        log = AuditLog(engine, observer=cp)
        log.start()
        logs.append(log)
    futures = [logs[i % 2].submit(draft(i)) for i in range(60)]
    for f in futures:
        f.result(timeout=60)
    for log in logs:
        log.close()
    report = verify_chain(engine, checkpoints=_trusted(tmp_path / "cp", key))
    assert report.entries == 60 and report.last_checkpoint is not None
    assert report.last_checkpoint.entries == 60


def test_a_checkpoint_never_runs_ahead_of_the_committed_head(engine: Engine, tmp_path: Path) -> None:
    """No close (as after kill -9): the last checkpoint is at or behind the head, and everything verifies."""
    key = Ed25519PrivateKey.generate()
    cp = _checkpointer(tmp_path / "cp", key, every=2)
    cp.start()
    log = AuditLog(engine, observer=cp)
    log.start()
    for i in range(9):
        log.append_sync(draft(i))
    report = verify_chain(engine, checkpoints=_trusted(tmp_path / "cp", key))
    assert report.last_checkpoint is None or report.last_checkpoint.entries <= 9


def test_checkpoints_work_in_an_append_only_directory(engine: Engine, tmp_path: Path) -> None:
    """chattr +a: files can be created in the directory, never removed, renamed or rewritten."""
    directory = tmp_path / "cp"
    directory.mkdir()
    if os.geteuid() != 0 or subprocess.run(["chattr", "+a", str(directory)], capture_output=True).returncode:
        pytest.skip("needs root and a file system with chattr +a")
    try:
        key = Ed25519PrivateKey.generate()
        cp = _checkpointer(directory, key, every=2)
        cp.start()
        log = AuditLog(engine, observer=cp)
        log.start()
        for i in range(6):
            log.append_sync(draft(i))
        log.close()
        assert cp.problem is None and cp.written >= 1
        report = verify_chain(engine, checkpoints=_trusted(directory, key))
        assert report.last_checkpoint is not None and report.last_checkpoint.entries == 6
        with pytest.raises(PermissionError):
            next(directory.glob("*.json")).unlink()
    finally:
        subprocess.run(["chattr", "-a", str(directory)], check=True)


def test_each_checkpoint_is_copied_to_syslog(engine: Engine, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        host, port = server.getsockname()
        key = Ed25519PrivateKey.generate()
        cp = Checkpointer(
            key,
            CheckpointDir(tmp_path / "cp"),
            policy=CheckpointPolicy(1000, 30),
            copies=[SyslogCopy(f"{host}:{port}")],
        )
        cp.start()
        log = AuditLog(engine, observer=cp)
        log.start()
        log.append_sync(draft(1))
        log.close()
        message = server.recv(65536).decode()
    assert message.startswith("<")  # a syslog priority
    sent = json.loads(message.split(f"{SYSLOG_TAG}: ", 1)[1].rstrip("\x00"))
    on_disk = json.loads(next((tmp_path / "cp").glob("*.json")).read_bytes())
    assert sent == on_disk and sent["entries"] == 1


def test_signing_keys_from_a_pem_file_or_base64(tmp_path: Path) -> None:
    made = generate_signing_key(tmp_path / "k.pem")
    assert (made.private_path.stat().st_mode & 0o777) == 0o600
    from_file = load_signing_key(str(made.private_path))
    raw = from_file.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    from_b64 = load_signing_key(base64.b64encode(raw).decode())
    assert signing_key_id(from_b64.public_key()) == signing_key_id(from_file.public_key()) == made.key_id
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        generate_signing_key(tmp_path / "k.pem")


def test_a_signing_key_that_is_not_ed25519_is_refused(tmp_path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "ec.pem").write_bytes(pem)
    with pytest.raises(ConfigError, match="must be Ed25519"):
        load_signing_key(str(tmp_path / "ec.pem"))
    with pytest.raises(ConfigError, match="neither an existing file nor base64"):
        load_signing_key("not a key!")


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"audit_checkpoint_dir": "cp"}, "HEGUI_AUDIT_SIGNING_KEY"),
        ({"audit_signing_key": "SIGNING"}, "HEGUI_AUDIT_CHECKPOINT_DIR"),
        ({"audit_checkpoint_syslog": "127.0.0.1:514"}, "HEGUI_AUDIT_CHECKPOINT_SYSLOG"),
    ],
)
def test_half_configured_checkpoints_are_errors(tmp_path: Path, given: dict[str, str], missing: str) -> None:
    made = generate_signing_key(tmp_path / "k.pem")
    values = {
        k: str(made.private_path) if v == "SIGNING" else str(tmp_path / v) if k.endswith("dir") else v
        for k, v in given.items()
    }
    with pytest.raises(ConfigError) as err:
        audit_protection(load_settings(data_dir=tmp_path, **values))
    assert missing in err.value.message


def test_unprotected_settings_say_what_is_left_open(tmp_path: Path) -> None:
    protection = audit_protection(load_settings(data_dir=tmp_path))
    assert protection.checkpointer is None and not protection.keys.enabled
    assert [w.split(" ")[0:3] for w in protection.warnings] == [
        ["audit", "entries", "are"],
        ["no", "signed", "audit"],
    ]
    made = generate_signing_key(tmp_path / "k.pem")
    full = audit_protection(
        load_settings(
            data_dir=tmp_path,
            audit_key=KEY_A,
            audit_signing_key=str(made.private_path),
            audit_checkpoint_dir=tmp_path / "cp",
        )
    )
    assert full.warnings == () and full.checkpointer is not None


def test_a_clock_that_went_back_is_a_note_not_tampering(engine: Engine, tmp_path: Path) -> None:
    """Checkpoints are ordered by number and linked by digest; their times are only the writer's clock."""
    key = Ed25519PrivateKey.generate()
    write(engine, 4)
    entries = list(iter_entries(engine))
    directory = CheckpointDir(tmp_path / "cp")
    directory.ensure()
    previous = GENESIS
    for number, (seq, when) in enumerate(
        [(2, "2026-11-30T10:00:00.000000Z"), (4, "2026-11-29T10:00:00.000000Z")], 1
    ):
        cp = Checkpoint(
            number, seq, entries[seq - 1].entry_hash, when, signing_key_id(key.public_key()), None, previous
        )
        cp = cp.sign(key)
        assert directory.claim(cp)
        previous = cp.digest()
    report = verify_chain(engine, checkpoints=_trusted(tmp_path / "cp", key))
    assert report.checkpoints == 2
    assert report.notes == (
        "checkpoint 2 is dated 2026-11-29T10:00:00.000000Z, before checkpoint 1 (2026-11-30T10:00:00.000000Z): "
        "the clock went back",
    )
