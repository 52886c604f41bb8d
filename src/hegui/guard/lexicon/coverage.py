"""Counts of a lexicon per risk, against the GB/T 45654 keyword-library minimums.

The standard (8.1; TC260-003) asks for at least 10,000 keywords in all, at least 200 for each A.1
risk and at least 100 for each A.2 risk ("should not be fewer than"). A term counts once for every
risk it carries. This module only counts; it never changes a lexicon.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hegui.guard.lexicon.model import Lexicon
from hegui.taxonomy import KEYWORD_SCOPE, RISKS

MIN_TOTAL = 10_000
MIN_A1 = 200
MIN_A2 = 100


def minimum(risk_id: str) -> int:
    """The minimum count for a risk (0 outside the keyword scope A.1/A.2)."""
    if risk_id.startswith("A.1"):
        return MIN_A1
    if risk_id.startswith("A.2"):
        return MIN_A2
    return 0


@dataclass(frozen=True, slots=True)
class RiskCount:
    risk: str
    name: str
    count: int
    minimum: int

    @property
    def short(self) -> int:
        return max(0, self.minimum - self.count)


@dataclass(frozen=True, slots=True)
class Coverage:
    total: int
    rows: tuple[RiskCount, ...]

    @property
    def total_short(self) -> int:
        return max(0, MIN_TOTAL - self.total)

    @property
    def meets_minimums(self) -> bool:
        return self.total_short == 0 and all(r.short == 0 for r in self.rows)

    def shortfalls(self) -> list[str]:
        """One sentence per unmet minimum."""
        out = []
        if self.total_short:
            out.append(
                f"{self.total:,} terms in all; the minimum is {MIN_TOTAL:,} ({self.total_short:,} short)"
            )
        out += [
            f"{r.risk} {r.name}: {r.count} terms; the minimum is {r.minimum} ({r.short} short)"
            for r in self.rows
            if r.short
        ]
        return out


def coverage(lexicon: Lexicon) -> Coverage:
    counts: Counter[str] = Counter(c for t in lexicon.terms for c in t.categories)
    ids = list(KEYWORD_SCOPE) + [r for r in RISKS if r not in KEYWORD_SCOPE and counts[r]]
    rows = tuple(RiskCount(r, RISKS[r].zh, counts[r], minimum(r)) for r in ids)
    return Coverage(len(lexicon), rows)
