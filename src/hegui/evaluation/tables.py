"""Reading and writing row tables (CSV, JSONL, XLSX) as lists of string dicts.

Banks and results travel in the regulator's Excel columns; users keep them as CSV or JSONL as well. One
reader for all three keeps the column handling in one place. XLSX needs openpyxl (the ``office`` extra):
without it the error says how to install it, never an ImportError trace.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hegui.errors import ConfigError, RequestError

Row = dict[str, str]


def openpyxl_module(path: Path) -> Any:
    """openpyxl, or a ConfigError with the install hint naming the file."""
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError(
            "reading or writing .xlsx needs openpyxl: pip install 'hegui[office]'", file=str(path)
        ) from None
    return openpyxl


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_text(value: str) -> str:
    """A string Excel can hold: control characters (which openpyxl refuses) written as ``\\xNN``, so
    a model answer or a term that carries one is kept visibly rather than failing the whole file."""
    return _ILLEGAL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", value)


def _cell(value: object) -> str:
    return "" if value is None else str(value).strip()


def read_rows(path: Path) -> list[Row]:
    """Every row of a .csv, .jsonl/.json lines or .xlsx file (first sheet, first row = header)."""
    if not path.is_file():
        raise RequestError(f"no such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            wb = openpyxl_module(path).load_workbook(path, read_only=True, data_only=True)
            try:
                rows = list(wb.worksheets[0].iter_rows(values_only=True))
            finally:
                wb.close()
            if not rows:
                return []
            header = [_cell(h) for h in rows[0]]
            return [
                {h: _cell(v) for h, v in zip(header, r, strict=False) if h}
                for r in rows[1:]
                if any(v is not None and str(v).strip() for v in r)
            ]
        if suffix in (".jsonl", ".json"):
            out: list[Row] = []
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        raise RequestError(f"{path}:{n}: a JSON object per line is expected")
                    out.append({str(k): _cell(v) for k, v in obj.items()})
            return out
        if suffix in (".csv", ".tsv"):
            text = _decode(path.read_bytes())
            reader = csv.DictReader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ",")
            return [{(k or "").strip(): _cell(v) for k, v in r.items() if k} for r in reader]
    except (json.JSONDecodeError, csv.Error) as exc:
        raise RequestError(f"{path}: cannot be read: {exc}") from exc
    except (ConfigError, RequestError):
        raise
    except Exception as exc:  # openpyxl raises many types for a broken workbook; name the file and stop
        raise RequestError(f"{path}: cannot be read: {exc!r}") from exc
    raise RequestError(f"{path}: unknown table format {suffix!r}; expected .csv, .tsv, .jsonl or .xlsx")


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030: Chinese banks often come from Excel on Windows."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def write_rows(path: Path, header: Sequence[str], rows: Sequence[Row], *, sheet: str = "Sheet1") -> None:
    """Write rows with this header as .csv, .jsonl or .xlsx (by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        wb = openpyxl_module(path).Workbook()
        ws = wb.active
        ws.title = sheet
        ws.append(list(header))
        for r in rows:
            ws.append([xlsx_text(r.get(h, "")) for h in header])
        ws.freeze_panes = "A2"
        wb.save(path)
    elif suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps({h: r.get(h, "") for h in header}, ensure_ascii=False) + "\n")
    elif suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(header), extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    else:
        raise RequestError(f"{path}: unknown table format {suffix!r}; expected .csv, .jsonl or .xlsx")
