"""Envelope encryption of stored conversations: one random 256-bit data key per end user, AES-256-GCM,
each data key wrapped (AES-GCM) under the master key from settings.

Deleting a user's wrapped key (`Vault.shred`) is crypto-shredding: every copy of their ciphertext, in the
database and in any backup taken before, becomes unreadable, because no copy of the unwrapped key is ever
stored. (A backup restored *with* the old key row still holds the key: back the master key up separately
and restore only into a database where the shredding is replayed, see docs/records.md.) This module
never logs or returns a key, and never falls back to storing plaintext.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from hegui.errors import ConfigError, ContentErased, StorageError
from hegui.records.audit import utc_now
from hegui.records.secrets import secret_file
from hegui.records.tables_records import UserKeyRow
from hegui.settings import Settings

_NONCE = 12


def master_key(settings: Settings) -> bytes:
    """The master key: HEGUI_MASTER_KEY (64 hex characters), else generated into <data_dir>/master.key."""
    if settings.master_key:
        try:
            key = bytes.fromhex(settings.master_key)
        except ValueError:
            raise ConfigError("must be 64 hex characters", key="HEGUI_MASTER_KEY") from None
        if len(key) != 32:
            raise ConfigError(f"must be 32 bytes (64 hex characters), got {len(key)}", key="HEGUI_MASTER_KEY")
        return key
    return secret_file(settings.data_dir / "master.key")


def _aad(tenant: str, user: str, what: str) -> bytes:
    return f"{what}\x00{tenant}\x00{user}".encode()


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(_NONCE)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, aad)).decode("ascii")


def _open(key: bytes, token: str, aad: bytes) -> bytes:
    raw = base64.b64decode(token)
    return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], aad)


class Vault:
    """Per-user data keys under one master key. Thread-safe; unwrapped keys are cached in memory only."""

    def __init__(self, engine: Engine, master: bytes) -> None:
        if len(master) != 32:
            raise ConfigError("the master key must be 32 bytes", key="HEGUI_MASTER_KEY")
        self._engine = engine
        self._master = master
        self._cache: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        #: Told of every `forget` (the gateway tells its other replicas, which then `drop_cached`).
        self.on_forget: Callable[[str, str], None] | None = None

    def _unwrap(self, tenant: str, user: str, wrapped: str) -> bytes:
        try:
            return _open(self._master, wrapped, _aad(tenant, user, "key"))
        except InvalidTag:
            raise StorageError(
                f"the data key of user {user!r} does not open with this master key (HEGUI_MASTER_KEY changed?)"
            ) from None

    def data_key(self, tenant: str, user: str, *, create: bool) -> bytes | None:
        """The user's data key; created when ``create`` and missing; None when missing (or shredded)."""
        with self._lock:
            hit = self._cache.get((tenant, user))
        if hit is not None:
            return hit
        cond = (UserKeyRow.tenant == tenant) & (UserKeyRow.user_id == user)
        with self._engine.connect() as conn:
            wrapped = conn.execute(select(UserKeyRow.wrapped_key).where(cond)).scalar()
        if wrapped is None and create:
            fresh = os.urandom(32)
            try:
                with self._engine.begin() as conn:
                    conn.execute(
                        insert(UserKeyRow).values(
                            tenant=tenant,
                            user_id=user,
                            wrapped_key=_seal(self._master, fresh, _aad(tenant, user, "key")),
                            created_at=utc_now(),
                        )
                    )
            except IntegrityError:  # another writer created it first: use theirs
                pass
            with self._engine.connect() as conn:
                wrapped = conn.execute(select(UserKeyRow.wrapped_key).where(cond)).scalar()
        if wrapped is None:
            return None
        key = self._unwrap(tenant, user, wrapped)
        with self._lock:
            self._cache[(tenant, user)] = key
        return key

    def has_key_cached(self, tenant: str, user: str) -> bool:
        """Whether the user's data key is in memory (then `encrypt` touches no database)."""
        with self._lock:
            return (tenant, user) in self._cache

    def encrypt(self, tenant: str, user: str, plaintext: str) -> str:
        key = self.data_key(tenant, user, create=True)
        assert key is not None  # create=True either returns a key or raises
        return _seal(key, plaintext.encode("utf-8", "surrogatepass"), _aad(tenant, user, "turn"))

    def decrypt(self, tenant: str, user: str, token: str) -> str:
        """The plaintext; ContentErased when the user's key is gone; StorageError when it does not open."""
        key = self.data_key(tenant, user, create=False)
        if key is None:
            raise ContentErased(f"the data key of user {user!r} was deleted; the content cannot be read")
        try:
            return _open(key, token, _aad(tenant, user, "turn")).decode("utf-8", "surrogatepass")
        except InvalidTag:
            raise StorageError(f"a stored turn of user {user!r} does not verify (tampered?)") from None

    def forget(self, tenant: str, user: str) -> None:
        """Drop the cached key (after a shred by this or another process), and say so (`on_forget`)."""
        self.drop_cached(tenant, user)
        if self.on_forget is not None:
            self.on_forget(tenant, user)

    def drop_cached(self, tenant: str, user: str) -> None:
        """Drop the cached key only (another replica shredded it and said so)."""
        with self._lock:
            self._cache.pop((tenant, user), None)

    def drop_all_cached(self) -> None:
        """Drop every cached key (news of shredding may have been missed)."""
        with self._lock:
            self._cache.clear()

    def shred(self, conn: Connection, tenant: str, user: str) -> bool:
        """Delete the user's wrapped key inside the caller's transaction. True if there was one."""
        cond = (UserKeyRow.tenant == tenant) & (UserKeyRow.user_id == user)
        removed = conn.execute(delete(UserKeyRow).where(cond)).rowcount > 0
        # Only this process's copy here: the caller forgets (and tells other processes) after commit.
        self.drop_cached(tenant, user)
        return removed
