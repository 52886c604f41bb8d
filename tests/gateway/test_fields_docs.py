"""docs/gateway.md shows the field map of every endpoint exactly as the code declares it (the tables are
written by scripts/field_map_tables.py); a field changed in the map without its row fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "field_map_tables.py"


def test_the_docs_tables_are_the_maps() -> None:
    spec = importlib.util.spec_from_file_location("field_map_tables", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.DOC.read_text(encoding="utf-8")
    written = text.split(module.START, 1)[1].split(module.END, 1)[0]
    assert written == module.tables(), "run: PYTHONPATH=src python scripts/field_map_tables.py"
