"""Secrets hegui generates for itself when the deployment gives none (stored 0600 in the data dir)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from hegui.errors import ConfigError


def secret_file(path: Path, *, nbytes: int = 32) -> bytes:
    """The secret in ``path``, created (random, hex, mode 0600) if it does not exist yet."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    except ValueError:
        raise ConfigError("not a hex secret", file=str(path)) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return bytes.fromhex(value)


def audit_content_key(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        return configured.encode()
    return secret_file(data_dir / "audit-content.key")
