"""Reading persons from a CSV or XLSX table (the provider's own list; docs/persons.md shows the layout).

Columns (English or Chinese headers; only ``name`` is required):

    key | name 姓名 | kind 类型 | aliases 别名 | pinyin 拼音 | misspellings 常见错写 | note 备注

List cells are split on ``;``, ``；``, ``|`` or ``、``. A missing key is made from the name. A missing
kind is ``private`` (the most protective reading). A bad row is an error naming the row: a registry
imported with holes would let a protected person through.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from hegui.persons.model import Kind, Person

_HEADERS = {
    "key": "key",
    "编号": "key",
    "name": "name",
    "姓名": "name",
    "kind": "kind",
    "类型": "kind",
    "aliases": "aliases",
    "别名": "aliases",
    "pinyin": "pinyin",
    "拼音": "pinyin",
    "misspellings": "misspellings",
    "常见错写": "misspellings",
    "note": "note",
    "备注": "note",
}
_KINDS = {
    "public_figure": Kind.PUBLIC_FIGURE,
    "公众人物": Kind.PUBLIC_FIGURE,
    "employee": Kind.EMPLOYEE,
    "员工": Kind.EMPLOYEE,
    "licensed": Kind.LICENSED,
    "授权声音或形象": Kind.LICENSED,
    "private": Kind.PRIVATE,
    "自然人": Kind.PRIVATE,
    "": Kind.PRIVATE,
}
_SPLIT = re.compile(r"[;；|、]")


class PersonsTableError(ValueError):
    """A table that cannot be read as persons; the message names the file and the row."""


def _rows_xlsx(path: Path) -> list[list[str]]:
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError:
        raise PersonsTableError("reading .xlsx needs openpyxl: pip install 'hegui[office]'") from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file; name it and stop
        raise PersonsTableError(f"{path}: not a readable .xlsx workbook: {exc}") from None
    try:
        return [
            ["" if v is None else str(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)
        ]
    finally:
        wb.close()


def _rows_csv(path: Path) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonsTableError(f"cannot read {path}: {exc}") from None


def _list(cell: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in _SPLIT.split(cell) if s.strip())


def parse_kind(value: str) -> Kind:
    kind = _KINDS.get(value.strip().lower()) or _KINDS.get(value.strip())
    if kind is None:
        raise ValueError(f"unknown kind {value!r}; one of {', '.join(k.value for k in Kind)}")
    return kind


def default_key(name: str) -> str:
    """A key made from the name: its pinyin when it has Chinese, else the name lowercased."""
    from hegui.text.pinyin import spellings

    sp = spellings(name)
    base = sp.full if sp is not None else name.lower()
    return re.sub(r"[^0-9a-z_-]+", "-", base).strip("-") or "person"


def read_persons(path: Path) -> list[Person]:
    rows = _rows_xlsx(path) if path.suffix.lower() == ".xlsx" else _rows_csv(path)
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise PersonsTableError(f"{path}: empty table")
    header = [_HEADERS.get(h.strip().lower(), _HEADERS.get(h.strip(), "")) for h in rows[0]]
    if "name" not in header:
        raise PersonsTableError(f"{path}: the first row must name the columns, with a name (姓名) column")
    out: list[Person] = []
    keys: set[str] = set()
    for n, row in enumerate(rows[1:], 2):
        cells = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header) if h}
        name = cells.get("name", "")
        if not name:
            raise PersonsTableError(f"{path}: row {n} has no name")
        try:
            kind = parse_kind(cells.get("kind", ""))
        except ValueError as exc:
            raise PersonsTableError(f"{path}: row {n}: {exc}") from None
        key = cells.get("key") or default_key(name)
        if key in keys:
            raise PersonsTableError(f"{path}: row {n}: key {key!r} appears twice")
        keys.add(key)
        out.append(
            Person(
                key,
                name,
                kind,
                _list(cells.get("aliases", "")),
                _list(cells.get("pinyin", "")),
                _list(cells.get("misspellings", "")),
                cells.get("note", ""),
            )
        )
    return out
