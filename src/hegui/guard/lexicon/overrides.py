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

from collections.abc import Iterable
from pathlib import Path

from hegui.errors import ConfigError
from hegui.guard.lexicon.calibrate import Override
from hegui.guard.lexicon.model import Lexicon, Term
from hegui.guard.lexicon.termfile import TermFileLayout, TermFileRow, read_term_file, write_term_file
from hegui.guard.types import Action

LAYOUT = TermFileLayout("action", "overrides", unit="row")


def write_overrides(overrides: Iterable[Override], path: Path) -> None:
    """Write the overrides file (rows in the given order)."""
    write_term_file(
        path,
        LAYOUT,
        (TermFileRow(0, o.term, o.action.value, o.reason, o.safe_hits, o.unsafe_hits) for o in overrides),
    )


def read_overrides(path: Path) -> list[Override]:
    """Read and validate an overrides file."""
    out: list[Override] = []
    for row in read_term_file(path, LAYOUT):
        try:
            action = Action(row.value.lower())
        except ValueError:
            raise ConfigError(
                f"unknown action {row.value!r}; expected {', '.join(a.value for a in Action)}",
                file=str(path),
                key=f"row {row.number}",
            ) from None
        out.append(Override(row.term, action, row.reason, row.safe_hits, row.unsafe_hits))
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
