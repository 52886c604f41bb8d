"""The audit chain's two secrets, both held outside the database.

- The **MAC key ring** (`HEGUI_AUDIT_KEY`): HMAC-SHA256 keys that authenticate every entry. Whoever can
  write the database but does not hold the key cannot rewrite an entry and recompute the chain: the
  plain SHA-256 links can be recomputed by anyone, the MACs cannot. The first key writes; the others
  only verify older entries (rotation). Each entry records the id of its key.
- The **checkpoint signing key** (`HEGUI_AUDIT_SIGNING_KEY`): an Ed25519 key that signs checkpoints of
  the chain's head. Verifying needs only its public key, so an auditor never holds a secret.

Key ids are fingerprints of the key, not names: they cannot drift from the key they name, and they
reveal nothing about it. There is deliberately no key derived from anything stored next to the database:
a key an attacker with the database can also compute would make MACs a false promise, so without
`HEGUI_AUDIT_KEY` entries carry no MAC and verification says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hegui.errors import ConfigError

MAC_KEY_ENV = "HEGUI_AUDIT_KEY"
SIGNING_KEY_ENV = "HEGUI_AUDIT_SIGNING_KEY"
_MAC_DOMAIN = b"hegui-audit-mac/1\x00"


def _fingerprint(tag: bytes, material: bytes) -> str:
    return hashlib.sha256(tag + material).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class MacKey:
    """One HMAC-SHA256 key and its id (a fingerprint of the key)."""

    key_id: str
    secret: bytes = b""

    def mac(self, prev_mac: str, canonical_bytes: bytes) -> str:
        """The MAC of one entry: its canonical bytes (which include the previous entry's hash), the
        previous entry's MAC and this key's id, so a MAC cannot be moved to another place in the chain."""
        msg = b"".join(
            (_MAC_DOMAIN, self.key_id.encode(), b"\x00", prev_mac.encode(), b"\x00", canonical_bytes)
        )
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never print the secret
        return f"MacKey({self.key_id})"


@dataclass(frozen=True, slots=True)
class MacKeyRing:
    """The keys of `HEGUI_AUDIT_KEY`: ``current`` writes, every key (current included) verifies."""

    current: MacKey | None
    by_id: Mapping[str, MacKey]

    @classmethod
    def empty(cls) -> MacKeyRing:
        return cls(None, {})

    @classmethod
    def parse(cls, value: str | None) -> MacKeyRing:
        """Comma-separated keys, newest first; each 64 hex characters (32 random bytes)."""
        if not value:
            return cls.empty()
        keys: list[MacKey] = []
        for i, part in enumerate(p.strip() for p in value.split(",")):
            try:
                secret = bytes.fromhex(part)
            except ValueError:
                secret = b""
            if len(secret) < 32:
                raise ConfigError(
                    f"key {i + 1} is not at least 64 hex characters (generate one with: openssl rand -hex 32)",
                    file="environment",
                    key=MAC_KEY_ENV,
                )
            keys.append(MacKey(_fingerprint(b"hegui-audit-mac-key\x00", secret), secret))
        return cls(keys[0], {k.key_id: k for k in keys})

    @property
    def enabled(self) -> bool:
        return self.current is not None


def signing_key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _fingerprint(b"hegui-audit-signing-key\x00", raw)


def load_signing_key(value: str) -> Ed25519PrivateKey:
    """`HEGUI_AUDIT_SIGNING_KEY`: the path of a PEM file (as `hegui audit keygen` writes), or the key
    itself in base64 (the 32 raw bytes, or PKCS#8 DER)."""
    path = Path(value).expanduser()
    if path.is_file():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ConfigError(
                f"not an unencrypted PEM private key: {exc}", file=str(path), key=SIGNING_KEY_ENV
            ) from None
    else:
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(
                "neither an existing file nor base64 (create a key with: hegui audit keygen PATH)",
                file="environment",
                key=SIGNING_KEY_ENV,
            ) from None
        try:
            key = (
                Ed25519PrivateKey.from_private_bytes(raw)
                if len(raw) == 32
                else serialization.load_der_private_key(raw, password=None)
            )
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ConfigError(f"not an Ed25519 private key: {exc}", key=SIGNING_KEY_ENV) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("the checkpoint signing key must be Ed25519", key=SIGNING_KEY_ENV)
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key (PEM) for verifying checkpoints; a private key file is accepted too."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the public key: {exc.strerror}", file=str(path)) from None
    try:
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            key: object = private.public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"not a PEM key: {exc}", file=str(path)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError("not an Ed25519 key", file=str(path))
    return key


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    private_path: Path
    public_path: Path
    key_id: str


def generate_signing_key(path: Path) -> GeneratedKey:
    """Write a new Ed25519 key: ``path`` (PKCS#8 PEM, mode 0600, never overwritten) and ``path``.pub."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_path = path.with_name(path.name + ".pub")
    for target in (path, public_path):
        if target.exists():
            raise ConfigError("refusing to overwrite an existing key file", file=str(target))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
        fh.flush()
        os.fsync(fh.fileno())
    public_path.write_bytes(public_pem)
    return GeneratedKey(path, public_path, signing_key_id(key.public_key()))
