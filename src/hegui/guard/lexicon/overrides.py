"""The per-term action overrides file: written by `hegui lexicon calibrate`, reviewed, read by the check.

Layout (CSV, UTF-8, one header row)::

    term,action,reason,safe_hits,unsafe_hits
    电影,label,"calibrated: 41 safe / 12 unsafe rows, unsafe share 0.23 < 0.5; was refuse",41,12

- ``term``: a term of the lexicon, exactly as the lexicon lists it (required, once per file).
- ``action``: ``allow``, ``label``, ``mask``, ``refuse`` or ``block_user`` (required). It replaces the
  term's own action (the lexicon's ``处置``) and its category's action.
- ``reason``, ``safe_hits``, ``unsafe_hits``: for the reviewer; counts may be blank in a hand-written row.

Every problem raises `ConfigError` naming the file and the row, and so does a term the lexicon does
not have (a stale file after a lexicon update must be looked at, not half applied). This module reads
and writes the file and applies it to a `Lexicon`; it never matches and never decides an override.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from hegui.errors import ConfigError
from hegui.guard.lexicon.calibrate import Override
from hegui.guard.lexicon.model import Lexicon, Term
from hegui.guard.types import Action

HEADER = ("term", "action", "reason", "safe_hits", "unsafe_hits")
_REQUIRED = ("term", "action")


def write_overrides(overrides: Iterable[Override], path: Path) -> None:
    """Write the overrides file (rows in the given order)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for o in overrides:
        writer.writerow(
            [
                o.term,
                o.action.value,
                o.reason,
                "" if o.safe_hits is None else o.safe_hits,
                "" if o.unsafe_hits is None else o.unsafe_hits,
            ]
        )
    path.write_text(buf.getvalue(), encoding="utf-8")


def _count(value: str, name: str, file: str, n: int) -> int | None:
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise ConfigError(f"{name} must be a whole number ≥ 0, got {value!r}", file=file, key=f"row {n}")
    return count


def read_overrides(path: Path) -> list[Override]:
    """Read and validate an overrides file."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("overrides file not found", file=file) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 (byte {exc.start})", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", file=file) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ConfigError("empty overrides file; expected the header " + ",".join(HEADER), file=file)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise ConfigError(f"the header row has no {', '.join(missing)} column", file=file, key="row 1")
    col = {name: header.index(name) for name in HEADER if name in header}
    out: list[Override] = []
    seen: set[str] = set()
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        term = cell("term")
        if not term:
            raise ConfigError("empty term", file=file, key=f"row {n}")
        if term in seen:
            raise ConfigError(f"term {term!r} is listed twice", file=file, key=f"row {n}")
        seen.add(term)
        try:
            action = Action(cell("action").lower())
        except ValueError:
            raise ConfigError(
                f"unknown action {cell('action')!r}; expected {', '.join(a.value for a in Action)}",
                file=file,
                key=f"row {n}",
            ) from None
        out.append(
            Override(
                term,
                action,
                cell("reason"),
                _count(cell("safe_hits"), "safe_hits", file, n),
                _count(cell("unsafe_hits"), "unsafe_hits", file, n),
            )
        )
    return out


def apply_overrides(lexicon: Lexicon, overrides: Iterable[Override], *, file: str = "<overrides>") -> Lexicon:
    """The lexicon with each overridden term's action replaced; a term it lacks is an error."""
    by_text = {o.term: o for o in overrides}
    if not by_text:
        return lexicon
    known = {t.text for t in lexicon.terms}
    unknown = sorted(t for t in by_text if t not in known)
    if unknown:
        shown = ", ".join(repr(t) for t in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise ConfigError(
            f"{len(unknown)} term(s) not in the lexicon {lexicon.source}: {shown}; recalibrate or remove them",
            file=file,
        )
    terms = [
        Term(t.text, t.categories, by_text[t.text].action, t.pinyin, t.tier) if t.text in by_text else t
        for t in lexicon.terms
    ]
    return Lexicon.build(terms, lexicon.allow, lexicon.source)
