"""Writes the field map's tables into docs/gateway.md (between the field-map markers), from the code.

Run: ``PYTHONPATH=src python scripts/field_map_tables.py``; tests/gateway/test_fields_docs.py fails when
the tables and the map differ.
"""

from __future__ import annotations

from pathlib import Path

from hegui.gateway import fieldmap as fm
from hegui.gateway.fields import Spec, rows

DOC = Path(__file__).resolve().parents[1] / "docs" / "gateway.md"
START, END = "<!-- field-map:start (written by scripts/field_map_tables.py) -->\n", "<!-- field-map:end -->\n"
TABLES: list[tuple[str, Spec]] = [
    ("Chat completions: request", fm.CHAT.request),
    ("Chat completions: answer", fm.CHAT.answer),
    ("Chat completions: stream chunk", fm.CHAT_CHUNK),
    ("Completions: request", fm.COMPLETIONS.request),
    ("Completions: answer and stream chunk", fm.COMPLETIONS.answer),
    ("Embeddings: request", fm.EMBEDDINGS.request),
    ("Embeddings: answer", fm.EMBEDDINGS.answer),
    ("Images generations: request", fm.IMAGES.request),
    ("Images generations: answer", fm.IMAGES.answer),
    ("Images edits: request (multipart)", fm.IMAGE_EDITS.request),
    ("Images variations: request (multipart)", fm.IMAGE_VARIATIONS.request),
    ("Responses: request", fm.RESPONSES.request),
    ("Responses: answer (written by hegui from the inspected chat answer)", fm.RESPONSES.answer),
    ("Messages: request", fm.MESSAGES.request),
    ("Messages: answer (written by hegui from the inspected chat answer)", fm.MESSAGES.answer),
]


def tables() -> str:
    out: list[str] = []
    for title, spec in TABLES:
        out += [f"**{title}**", "", "| Field | What hegui does |", "|---|---|"]
        seen: set[tuple[str, str]] = set()
        for row in rows(spec):
            if (row.path, row.what) not in seen:
                seen.add((row.path, row.what))
                out.append(f"| `{row.path}` | {row.what} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + START + tables() + END + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
