"""The fold table kept in the cache directory is the table computed from its sources, and a damaged or
missing cache file is rebuilt, never trusted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hegui.text import normalize


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("HEGUI_CACHE_DIR", str(tmp_path))
    normalize.fold_table.cache_clear()
    yield tmp_path
    normalize.fold_table.cache_clear()


def test_the_cached_table_is_the_built_table(fresh: Path) -> None:
    first = normalize.fold_table()
    path = normalize.fold_table_cache()
    assert path is not None and path.parent == fresh and path.exists()
    normalize.fold_table.cache_clear()
    again = normalize.fold_table()
    assert np.array_equal(again, first)
    assert np.array_equal(again, normalize.build_fold_table())


def test_a_damaged_cache_file_is_rebuilt(fresh: Path) -> None:
    path = normalize.fold_table_cache()
    assert path is not None
    path.write_bytes(b"not a table")
    table = normalize.fold_table()
    assert np.array_equal(table, normalize.build_fold_table())
    assert np.load(path).shape == (0x110000,)  # replaced by a whole table


def test_a_table_of_the_wrong_shape_is_not_used(fresh: Path) -> None:
    path = normalize.fold_table_cache()
    assert path is not None
    np.save(path, np.zeros(10, dtype=np.uint32))
    assert np.array_equal(normalize.fold_table(), normalize.build_fold_table())


def test_none_turns_the_cache_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEGUI_CACHE_DIR", "none")
    assert normalize.fold_table_cache() is None
