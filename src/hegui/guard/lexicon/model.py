"""The lexicon as data: terms with their risk category and action, an allow-list, a version hash.

A `Lexicon` is immutable and knows nothing of matching; `hegui.guard.lexicon.matcher` compiles it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from hegui.guard.types import Action
from hegui.taxonomy import is_risk

#: Most characters tolerated between the characters of a term, in all (see matcher).
DEFAULT_MAX_GAP = 3

#: Default mapping of the sensitive-word tag codes (houbb/sensitive-word) to GB/T 45654 risk ids.
#: 0 politics → subversion (A.1a), 1 drugs → other unlawful (A.1h), 2 pornography → violence or
#: obscenity (A.1f), 3 gambling → other unlawful (A.1h), 4 illegal → other unlawful (A.1h).
DEFAULT_TAG_MAP: dict[str, str] = {"0": "A.1a", "1": "A.1h", "2": "A.1f", "3": "A.1h", "4": "A.1h"}


class Tier(StrEnum):
    """How much one hit of a term weighs (see docs/guard.md, "Term tiers").

    ``red-line``: unambiguous, the hit decides alone (the term's action, refuse by default).
    ``topic``: the term names a risky subject that harmless text also talks about; its hit is evidence
    (action at most ``label``) that the pipeline's fusion upgrades when a model agrees.
    ``noise``: the term hits harmless text only; its hits are dropped.
    """

    RED_LINE = "red-line"
    TOPIC = "topic"
    NOISE = "noise"

    def __str__(self) -> str:
        return self.value


#: Category lists already checked (a set only grows, by the distinct lists of the loaded lexicons).
_VALID_CATEGORIES: set[tuple[str, ...]] = set()

#: Which tier wins when one term is listed twice with different tiers: the stronger one.
_TIER_RANK = {Tier.NOISE: 0, Tier.TOPIC: 1, Tier.RED_LINE: 2}


@dataclass(frozen=True, slots=True)
class Term:
    """One lexicon entry. ``categories`` are taxonomy ids, most important first (never empty)."""

    text: str
    categories: tuple[str, ...]
    #: None: the action the check is configured with.
    action: Action | None = None
    #: Also match the term's pinyin and pinyin initials.
    pinyin: bool = False
    #: None: not decided (the check treats the hit as red-line, as before tiers existed).
    tier: Tier | None = None

    def __post_init__(self) -> None:
        if not self.categories:
            raise ValueError(f"term {self.text!r} has no risk category")
        if self.categories in _VALID_CATEGORIES:  # a lexicon builds 64k terms from a few category lists
            return
        for c in self.categories:
            if not is_risk(c):
                raise ValueError(f"term {self.text!r}: unknown risk category {c!r}")
        _VALID_CATEGORIES.add(self.categories)

    def with_tier(self, tier: Tier | None) -> Term:
        return Term(self.text, self.categories, self.action, self.pinyin, tier)

    @property
    def category(self) -> str:
        return self.categories[0]


@functools.lru_cache(maxsize=4096)
def _row_rest(categories: tuple[str, ...], action: Action | None, pinyin: bool, tier: Tier | None) -> str:
    """A term's row of the version hash after its text: the same for the many terms of one kind."""
    return f"\t{','.join(categories)}\t{action or ''}\t{int(pinyin)}" + (
        f"\t{tier.value}\n" if tier is not None else "\n"
    )


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Terms (one per distinct text), allow-listed words, and where they came from."""

    terms: tuple[Term, ...]
    allow: tuple[str, ...] = ()
    source: str = "<memory>"
    version: str = field(default="", compare=False)

    @classmethod
    def build(cls, terms: Iterable[Term], allow: Iterable[str] = (), source: str = "<memory>") -> Lexicon:
        """Merge duplicates (a term seen twice keeps every category, first one first) and hash."""
        merged: dict[str, Term] = {}
        for t in terms:
            text = t.text.strip()
            if not text:
                continue
            old = merged.get(text)
            if old is None:
                merged[text] = t if t.text == text else Term(text, t.categories, t.action, t.pinyin, t.tier)
                continue
            cats = old.categories + tuple(c for c in t.categories if c not in old.categories)
            action = max((a for a in (old.action, t.action) if a is not None), default=None)
            tier = max(
                (x for x in (old.tier, t.tier) if x is not None), key=_TIER_RANK.__getitem__, default=None
            )
            merged[text] = Term(text, cats, action, old.pinyin or t.pinyin, tier)
        allowed = tuple(sorted({a.strip() for a in allow if a.strip()}))
        ordered = tuple(merged[k] for k in sorted(merged))
        # The tier joins the hash only when set, so lexicons without tiers keep their versions.
        rows = "".join(t.text + _row_rest(t.categories, t.action, t.pinyin, t.tier) for t in ordered)
        digest = hashlib.sha256(rows.encode())
        digest.update(b"\x00allow\n")
        digest.update("".join(f"{a}\n" for a in allowed).encode())
        return cls(ordered, allowed, source, digest.hexdigest()[:16])

    def __len__(self) -> int:
        return len(self.terms)

    def with_allow(self, allow: Iterable[str]) -> Lexicon:
        return Lexicon.build(self.terms, (*self.allow, *allow), self.source)
