"""docs/gateway.md shows every declared field of every endpoint's maps (the tables are written from
`fields.rows`); a field added to the map without its row fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from hegui.gateway import fieldmap as fm
from hegui.gateway.fields import rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "gateway.md"


@pytest.mark.parametrize("endpoint", fm.ENDPOINTS, ids=[e.name for e in fm.ENDPOINTS])
def test_every_declared_field_has_its_row(endpoint: fm.EndpointMap) -> None:
    text = DOC.read_text(encoding="utf-8")
    specs = [endpoint.request, endpoint.answer] + ([endpoint.chunk] if endpoint.chunk else [])
    missing = [r for spec in specs for r in rows(spec) if f"| `{r.path}` | {r.what} |" not in text]
    assert missing == []
