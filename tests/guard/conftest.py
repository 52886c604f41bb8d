"""Fixtures shared by the guard's tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
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


def _load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as the module ``name`` (registered in ``sys.modules``, as the benchmark's own
    dataclasses need)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], ModuleType]:
    """Loads a benchmark script by name: its harness is tested without its data."""
    return _load_benchmark
