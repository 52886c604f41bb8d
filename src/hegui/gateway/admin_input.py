"""What the admin routes accept: names, ids and user ids checked before anything is read or written.

A bad value is a `RequestError` (400, OpenAI-shaped) naming the parameter, never a database or file-system
error surfacing as a 500: an id beyond a 64-bit integer, a name with NUL or 300 characters, a user id
the tables cannot hold. Pool exports live in one directory per tenant, so names never collide across
tenants and one tenant cannot reach another's export by name. This module touches no database.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from starlette.requests import Request

from hegui.errors import RequestError

#: Export names: letters, digits, ``._-``; not starting with a dot (no hidden or relative names).
EXPORT_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
#: The largest record id a BIGINT column holds.
MAX_ID = 2**63 - 1
#: The longest end-user id the records tables hold (their ``user_id`` columns).
MAX_USER = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def export_name(value: Any, param: str = "name") -> str:
    """A plain export directory name (at most 128 characters), or 400."""
    if not isinstance(value, str) or not EXPORT_NAME.fullmatch(value):
        raise RequestError(
            "name must be 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'", param=param
        )
    return value


def record_id(value: str, param: str = "id") -> int:
    """A positive record id that the database can hold, or 400."""
    if not value.isascii() or not value.isdigit() or len(value) > 19 or not 0 < int(value) <= MAX_ID:
        raise RequestError(f"the {param} must be a positive whole number below 2^63", param=param)
    return int(value)


def user_id(value: Any, param: str = "user") -> str:
    """An end-user id: 1 to 256 characters, no control characters (NUL cannot be stored), or 400."""
    if not isinstance(value, str) or not value or len(value) > MAX_USER or _CONTROL.search(value):
        raise RequestError(
            f"the {param} must be 1 to {MAX_USER} characters without control characters", param=param
        )
    return value


def path_user(request: Request) -> str:
    return user_id(request.path_params["user"])


def text_field(value: str, param: str, limit: int) -> str:
    """A string field of at most ``limit`` characters without NUL (which the database cannot store)."""
    if len(value) > limit:
        raise RequestError(f"{param!r} must be at most {limit} characters", param=param)
    if "\x00" in value:
        raise RequestError(f"{param!r} must not contain NUL characters", param=param)
    return value


def tenant_dir(tenant: str) -> str:
    """A directory name of its own for every tenant: its name made safe, plus a digest of the exact
    name (two tenants whose names differ only in unsafe characters still get different directories)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", tenant)[:48] or "_"
    return f"{safe}-{hashlib.sha256(tenant.encode()).hexdigest()[:12]}"


def export_dir(data_dir: Path, tenant: str, name: Any) -> Path:
    """Where the tenant's export ``name`` lives: ``<data_dir>/exports/<tenant dir>/<name>``."""
    return Path(data_dir) / "exports" / tenant_dir(tenant) / export_name(name)
