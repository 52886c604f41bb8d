"""Signed checkpoints of the audit chain's head, kept where the database writer cannot reach.

A checkpoint says "the chain had N entries and entry N's hash was H", at a time, signed with Ed25519.
Like a Certificate Transparency signed tree head it commits to the whole history before it (every entry's
hash chains to the previous one), and like a CloudTrail digest file each checkpoint names the digest of
the previous checkpoint, so checkpoints form a chain of their own: removing, replacing or reordering one
breaks it. Verification then needs only the public key.

Checkpoints are files in a directory, one per checkpoint, named by number, written once (created
exclusively, fsync'd, read-only) and never rewritten; optionally each one is also sent to syslog. The
directory should live on another host or user, or on write-once storage: a checkpoint is only as safe as
the place it is kept. The writer runs on its own thread, so signing and fsync never hold up group commit;
a checkpoint is taken from a head that is already committed, so after a crash the last checkpoint may be
behind the chain, never ahead of it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import logging.handlers
import os
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hegui.errors import ConfigError, StorageError
from hegui.records.audit import utc_now
from hegui.records.audit_keys import signing_key_id

log = logging.getLogger(__name__)

FORMAT = "hegui-audit-checkpoint/1"
GENESIS = "0" * 64
SYSLOG_TAG = "hegui-audit-checkpoint"
_NAME = re.compile(r"^(\d{12})\.json$")


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One signed statement about the chain's head. ``previous`` is the digest of checkpoint
    ``number - 1`` (GENESIS for the first); ``signature`` covers every other field."""

    number: int
    entries: int
    head_hash: str
    time: str
    key_id: str
    mac_key_id: str | None
    previous: str
    signature: str = ""
    format: str = FORMAT

    def body(self) -> dict[str, Any]:
        out = asdict(self)
        del out["signature"]
        return out

    def signed_bytes(self) -> bytes:
        return _canonical(self.body())

    def to_bytes(self) -> bytes:
        return _canonical(asdict(self)) + b"\n"

    def digest(self) -> str:
        """What the next checkpoint names as ``previous``."""
        return hashlib.sha256(_canonical(asdict(self))).hexdigest()

    def sign(self, key: Ed25519PrivateKey) -> Checkpoint:
        sig = base64.b64encode(key.sign(self.signed_bytes())).decode()
        return Checkpoint(**(asdict(self) | {"signature": sig}))

    def signature_valid(self, key: Ed25519PublicKey) -> bool:
        try:
            key.verify(base64.b64decode(self.signature, validate=True), self.signed_bytes())
        except (InvalidSignature, ValueError):
            return False
        return True

    @classmethod
    def parse(cls, data: bytes) -> Checkpoint:
        """A checkpoint from its file; ValueError when it is not one."""
        raw = json.loads(data)
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} object")
        fields = set(cls.__dataclass_fields__)
        if set(raw) != fields:
            raise ValueError(f"fields {sorted(set(raw) ^ fields)} missing or unexpected")
        types: dict[str, type | tuple[type, ...]] = {
            "number": int,
            "entries": int,
            "mac_key_id": (str, type(None)),
        }
        for name in fields:
            if not isinstance(raw[name], types.get(name, str)) or isinstance(raw[name], bool):
                raise ValueError(f"field {name!r} has the wrong type")
        return cls(**raw)


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint file as found: its number from the file name, its bytes, and what they parse to."""

    path: Path
    number: int
    data: bytes


class CheckpointDir:
    """Checkpoints as files ``<number:012>.json``. Several writers (replicas) may share a directory:
    a number is claimed by creating its file exclusively (hard link of a fsync'd temporary file), so a
    writer that loses the race re-reads the newest checkpoint and chains to it instead."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def _staging(self) -> Path:
        # Temporary files live in a subdirectory, so the directory itself only ever gains entries: it
        # can be append-only (chattr +a: files can be created there, never removed, renamed or replaced).
        return self.path / ".staging"

    def ensure(self) -> None:
        try:
            self._staging.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the checkpoint directory: {exc.strerror}",
                file=str(self.path),
                key="HEGUI_AUDIT_CHECKPOINT_DIR",
            ) from None

    def stored(self) -> list[StoredCheckpoint]:
        """Every checkpoint file, in number order (files of other names are ignored)."""
        try:
            names = os.listdir(self.path)
        except OSError as exc:
            raise ConfigError(
                f"cannot read the checkpoint directory: {exc.strerror}", file=str(self.path)
            ) from None
        out = []
        for name in names:
            m = _NAME.match(name)
            if m:
                p = self.path / name
                out.append(StoredCheckpoint(p, int(m.group(1)), p.read_bytes()))
        return sorted(out, key=lambda s: s.number)

    def newest(self) -> Checkpoint | None:
        numbers = sorted(
            (int(m.group(1)) for n in os.listdir(self.path) if (m := _NAME.match(n))), reverse=True
        )
        if not numbers:
            return None
        return self._read(numbers[0])

    def _read(self, number: int) -> Checkpoint:
        path = self.path / f"{number:012d}.json"
        try:
            return Checkpoint.parse(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StorageError(f"checkpoint {path} cannot be read: {exc}") from None

    def claim(self, cp: Checkpoint) -> bool:
        """Write ``cp`` under its number, once. False when that number exists already."""
        final = self.path / f"{cp.number:012d}.json"
        tmp = self._staging / f"{os.getpid()}-{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(cp.to_bytes())
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, final)
            except FileExistsError:
                return False
            _fsync_dir(self.path)
            return True
        finally:
            tmp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CheckpointCopy(Protocol):
    """Somewhere a copy of each checkpoint goes (syslog); best effort, never the chain of record."""

    def send(self, cp: Checkpoint) -> None: ...

    def close(self) -> None: ...


class SyslogCopy:
    """Each checkpoint as one syslog message ``hegui-audit-checkpoint: {json}`` (facility auth).
    ``target`` is ``host:port`` (UDP) or the path of a local socket such as /dev/log."""

    def __init__(self, target: str) -> None:
        address: str | tuple[str, int]
        host, _, port = target.rpartition(":")
        if target.startswith("/"):
            address = target
        elif host and port.isdigit():
            address = (host.strip("[]"), int(port))
        else:
            raise ConfigError("expected host:port or /path/to/socket", key="HEGUI_AUDIT_CHECKPOINT_SYSLOG")
        try:
            self._handler = logging.handlers.SysLogHandler(
                address=address, facility=logging.handlers.SysLogHandler.LOG_AUTH
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot reach syslog: {exc.strerror}", key="HEGUI_AUDIT_CHECKPOINT_SYSLOG"
            ) from None
        self._handler.ident = f"{SYSLOG_TAG}: "

    def send(self, cp: Checkpoint) -> None:
        msg = cp.to_bytes().decode().strip()
        self._handler.emit(logging.LogRecord(SYSLOG_TAG, logging.INFO, __file__, 0, msg, None, None))

    def close(self) -> None:
        self._handler.close()


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    """When to checkpoint: after ``every`` new entries, or ``seconds`` after the head last moved."""

    every: int = 1000
    seconds: float = 60.0


class Checkpointer:
    """Signs the head the audit writer reports after each commit, on its own thread."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        directory: CheckpointDir,
        *,
        policy: CheckpointPolicy = CheckpointPolicy(),
        copies: Sequence[CheckpointCopy] = (),
        mac_key_id: str | None = None,
    ) -> None:
        self._key = key
        self.key_id = signing_key_id(key.public_key())
        self._dir = directory
        self._policy = policy
        self._copies = list(copies)
        self._mac_key_id = mac_key_id
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._head: tuple[int, str] | None = None
        self._newest: Checkpoint | None = None  # the newest checkpoint in the directory, as far as we know
        self._signed_seq = 0  # the highest entry count checkpointed (by us or by a replica sharing the dir)
        self._thread: threading.Thread | None = None
        self.written = 0
        self.problem: str | None = None

    @property
    def directory(self) -> Path:
        return self._dir.path

    def start(self) -> None:
        self._dir.ensure()
        self._newest = self._dir.newest()
        self._signed_seq = self._newest.entries if self._newest else 0
        self._thread = threading.Thread(target=self._run, name="hegui-audit-checkpoints", daemon=True)
        self._thread.start()

    @property
    def newest(self) -> Checkpoint | None:
        """The newest checkpoint known (in the directory at start, or written since)."""
        return self._newest

    def advanced(self, seq: int, head_hash: str) -> None:
        """The writer committed up to entry ``seq`` (cheap: called on the writer's thread)."""
        with self._lock:
            if self._head is None or seq > self._head[0]:
                self._head = (seq, head_hash)
            due = seq - self._signed_seq >= self._policy.every
        if due:
            self._wake.set()

    def close(self) -> None:
        """Checkpoint the last committed head, then stop."""
        if self._thread is not None:
            self._stop = True
            self._wake.set()
            self._thread.join()
            self._thread = None
        for copy in self._copies:
            copy.close()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._policy.seconds)
            self._wake.clear()
            stopping = self._stop  # read before checkpointing: a close() during it gets one more round
            try:
                self.checkpoint()
            except Exception as exc:  # the thread must outlive one bad checkpoint; /readyz shows it
                self.problem = f"{exc.__class__.__name__}: {exc}"
                log.exception("audit checkpoint failed")
            if stopping:
                return

    def checkpoint(self) -> Checkpoint | None:
        """Write a checkpoint of the newest committed head, if it moved since the last one."""
        with self._lock:
            head = self._head
        if head is None or head[0] <= self._signed_seq:
            return None
        try:
            cp = self._append(*head)
        except (OSError, StorageError) as exc:  # logged and shown on /readyz; the entries are still committed
            self.problem = f"{exc.__class__.__name__}: {exc}"
            log.error("audit checkpoint not written to %s: %s", self._dir.path, exc)
            return None
        self.problem = None
        if cp is not None:
            for copy in self._copies:
                try:
                    copy.send(cp)
                except OSError as exc:
                    log.error("audit checkpoint %d not sent to syslog: %s", cp.number, exc)
        return cp

    def _append(self, seq: int, head_hash: str) -> Checkpoint | None:
        for _ in range(100):
            newest = self._newest
            if newest is not None and newest.entries >= seq:
                self._signed_seq = max(self._signed_seq, newest.entries)  # another replica is ahead
                return None
            cp = Checkpoint(
                number=newest.number + 1 if newest else 1,
                entries=seq,
                head_hash=head_hash,
                time=utc_now(),
                key_id=self.key_id,
                mac_key_id=self._mac_key_id,
                previous=newest.digest() if newest else GENESIS,
            ).sign(self._key)
            if self._dir.claim(cp):
                self._newest, self._signed_seq = cp, seq
                self.written += 1
                return cp
            self._newest = self._dir.newest()  # a replica sharing the directory took that number
        raise StorageError("could not claim a checkpoint number after 100 attempts")


def trusted_keys(keys: Sequence[Ed25519PublicKey]) -> Mapping[str, Ed25519PublicKey]:
    return {signing_key_id(k): k for k in keys}
