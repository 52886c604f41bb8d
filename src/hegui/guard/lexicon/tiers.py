"""The tiers file (red-line / topic / noise per term) and how every term of a lexicon gets its tier.

Layout (CSV, UTF-8, one header row; written by ``hegui lexicon calibrate --mode tiers``, reviewed)::

    term,tier,reason,safe_hits,unsafe_hits
    代开,topic,"calibrated: 4 safe / 9 unsafe rows, unsafe share 0.61",4,9

- ``term``: a term of the lexicon exactly as the lexicon lists it (required, once per file).
- ``tier``: ``red-line``, ``topic`` or ``noise`` (required).
- ``reason``, ``safe_hits``, ``unsafe_hits``: for the reviewer; counts may be blank.

Each term's tier, first rule that applies (`assign_tiers`):

1. its row in the tiers file;
2. a term with its own action (the lexicon's ``处置`` or a row of the ``actions_file``): red-line when
   that action stops the text (a person said refuse), topic otherwise (a person said label or mask);
3. the check's ``tier_default``: ``red-line``, ``topic``, or ``auto`` (the frequency prior: a term of
   one character or a common word of the segmenter's dictionary is a topic, any other term red-line).

Every problem raises `ConfigError` naming the file and the line; so does a term the lexicon lacks (a
stale file after a lexicon update is looked at, not half applied). Never decides a tier from data:
`hegui.guard.lexicon.calibrate` proposes, a person reviews.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hegui.errors import ConfigError
from hegui.guard.lexicon.model import Lexicon, Tier
from hegui.guard.lexicon.termfile import TermFileLayout, TermFileRow, read_term_file, write_term_file

LAYOUT = TermFileLayout("tier", "tiers")

TierDefault = Literal["red-line", "topic", "auto"]
TIER_DEFAULTS: tuple[TierDefault, ...] = ("red-line", "topic", "auto")


@dataclass(frozen=True, slots=True)
class TierRow:
    """One term's tier, decided by calibration or by a reviewer."""

    term: str
    tier: Tier
    reason: str = ""
    safe_hits: int | None = None
    unsafe_hits: int | None = None


def write_tiers(rows: Iterable[TierRow], path: Path) -> None:
    """Write the tiers file (rows in the given order)."""
    write_term_file(
        path,
        LAYOUT,
        (TermFileRow(0, r.term, r.tier.value, r.reason, r.safe_hits, r.unsafe_hits) for r in rows),
    )


def read_tiers(path: Path) -> list[TierRow]:
    """Read and validate a tiers file."""
    out: list[TierRow] = []
    for row in read_term_file(path, LAYOUT):
        try:
            tier = Tier(row.value.lower())
        except ValueError:
            raise ConfigError(
                f"unknown tier {row.value!r}; expected {', '.join(t.value for t in Tier)}",
                file=str(path),
                key=f"line {row.number}",
            ) from None
        out.append(TierRow(row.term, tier, row.reason, row.safe_hits, row.unsafe_hits))
    return out


def prior_tier(text: str, common_word: bool) -> Tier:
    """The ``auto`` default: one character or a common word is a topic; a rare longer term red-line."""
    return Tier.TOPIC if len(text) <= 1 or common_word else Tier.RED_LINE


def assign_tiers(
    lexicon: Lexicon,
    rows: Iterable[TierRow] = (),
    *,
    default: TierDefault = "red-line",
    is_common: Callable[[str], bool] | None = None,
    file: str = "<tiers>",
) -> Lexicon:
    """The lexicon with every term's tier set by the rules of the module docstring.

    ``is_common`` (needed for ``default = "auto"``) says whether a term is a common word.
    A row for a term the lexicon lacks is an error naming ``file``.
    """
    if default not in TIER_DEFAULTS:
        raise ValueError(f"unknown tier_default {default!r}; expected {', '.join(TIER_DEFAULTS)}")
    if default == "auto" and is_common is None:
        raise ValueError('tier_default "auto" needs a word-frequency dictionary (a segmenter)')
    by_text = {r.term: r.tier for r in rows}
    known = {t.text for t in lexicon.terms}
    unknown = sorted(t for t in by_text if t not in known)
    if unknown:
        shown = ", ".join(repr(t) for t in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise ConfigError(
            f"{len(unknown)} term(s) not in the lexicon {lexicon.source}: {shown}; recalibrate or remove them",
            file=file,
        )
    terms = []
    for t in lexicon.terms:
        tier = by_text.get(t.text)
        if tier is None and t.action is not None:
            tier = Tier.RED_LINE if t.action.stops else Tier.TOPIC
        if tier is None:
            if default == "auto":
                assert is_common is not None
                tier = prior_tier(t.text, is_common(t.text))
            else:
                tier = Tier(default)
        terms.append(t.with_tier(tier))
    return Lexicon.build(terms, lexicon.allow, lexicon.source)
