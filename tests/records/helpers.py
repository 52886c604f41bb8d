"""Shared builders for the records tests."""

from __future__ import annotations

import os

from sqlalchemy import Engine

from hegui.records.vault import Vault


def vault(engine: Engine) -> Vault:
    return Vault(engine, os.urandom(32))
