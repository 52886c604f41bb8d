"""The reviewed per-term CSV files of a lexicon: ``term,<value>,reason,safe_hits,unsafe_hits``.

Two files share the layout: the actions file (`overrides`: the value is an action) and the tiers file
(`tiers`: the value is a tier). This module reads and writes the layout and checks what both share (the
header, one row per term, the counts); each caller parses its own value column. Every problem raises
`ConfigError` naming the file and the ``unit`` (line or row) where it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hegui.errors import ConfigError


@dataclass(frozen=True, slots=True)
class TermFileRow:
    """One non-empty row: its number (1 = the header), the term, the raw value, reason and counts."""

    number: int
    term: str
    value: str
    reason: str
    safe_hits: int | None
    unsafe_hits: int | None


@dataclass(frozen=True, slots=True)
class TermFileLayout:
    """``value``: the name of the second column; ``kind``: the file's name in messages."""

    value: str
    kind: str
    unit: str = "line"

    @property
    def header(self) -> tuple[str, ...]:
        return ("term", self.value, "reason", "safe_hits", "unsafe_hits")


def write_term_file(path: Path, layout: TermFileLayout, rows: Iterable[TermFileRow]) -> None:
    """Write the file (rows in the given order)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(layout.header)
    for r in rows:
        writer.writerow(
            [
                r.term,
                r.value,
                r.reason,
                "" if r.safe_hits is None else r.safe_hits,
                "" if r.unsafe_hits is None else r.unsafe_hits,
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _count(value: str, name: str, file: str, key: str) -> int | None:
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise ConfigError(f"{name} must be a whole number ≥ 0, got {value!r}", file=file, key=key)
    return count


def read_term_file(path: Path, layout: TermFileLayout) -> Iterator[TermFileRow]:
    """The file's rows, validated as far as the layout goes; blank rows are skipped."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{layout.kind} file not found", file=file) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 (byte {exc.start})", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", file=file) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ConfigError(
            f"empty {layout.kind} file; expected the header " + ",".join(layout.header), file=file
        )
    header = [h.strip() for h in rows[0]]
    missing = [c for c in ("term", layout.value) if c not in header]
    if missing:
        raise ConfigError(
            f"the header row has no {', '.join(missing)} column", file=file, key=f"{layout.unit} 1"
        )
    col = {name: header.index(name) for name in layout.header if name in header}
    seen: set[str] = set()
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        key = f"{layout.unit} {n}"

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        term = cell("term")
        if not term:
            raise ConfigError("empty term", file=file, key=key)
        if term in seen:
            raise ConfigError(f"term {term!r} is listed twice", file=file, key=key)
        seen.add(term)
        yield TermFileRow(
            n,
            term,
            cell(layout.value),
            cell("reason"),
            _count(cell("safe_hits"), "safe_hits", file, key),
            _count(cell("unsafe_hits"), "unsafe_hits", file, key),
        )
