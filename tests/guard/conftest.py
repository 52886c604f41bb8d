"""Fixtures shared by the guard's tests."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trainer() -> ModuleType:
    """``scripts/train_guard_models.py`` as a module (the judgement models' trainer)."""
    pytest.importorskip("scipy", reason="the trainer needs scipy (a development tool)")
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import train_guard_models
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return train_guard_models
