"""The analyzer: runs a set of recognizers over a text and resolves overlapping matches.

Overlaps are resolved in favour of the higher score, then the longer span (a valid resident ID is not
also reported as a bank card). The analyzer must never drop a match for any other reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from hegui.guard.pii.heuristics import ADDRESS, PERSON_NAME
from hegui.guard.pii.recognizers import (
    BANK_CARD,
    EMAIL,
    IPV4,
    IPV6,
    LANDLINE,
    LICENCE_PLATE,
    MOBILE,
    PASSPORT,
    RESIDENT_ID,
    USCC,
    PatternRecognizer,
    PIIMatch,
    Recognizer,
)

BUILTIN: tuple[Recognizer, ...] = (
    RESIDENT_ID,
    MOBILE,
    LANDLINE,
    BANK_CARD,
    USCC,
    PASSPORT,
    EMAIL,
    IPV4,
    IPV6,
    LICENCE_PLATE,
    ADDRESS,
    PERSON_NAME,
)


def builtin_entities() -> tuple[str, ...]:
    return tuple(r.entity for r in BUILTIN)


def recognizers_for(entities: Iterable[str] | None = None) -> tuple[Recognizer, ...]:
    """The built-in recognizers of the named entities (all when None). Unknown names raise ValueError."""
    if entities is None:
        return BUILTIN
    by_name = {r.entity: r for r in BUILTIN}
    wanted = list(dict.fromkeys(entities))
    unknown = [e for e in wanted if e not in by_name]
    if unknown:
        raise ValueError(f"unknown personal-information entities {unknown}; known: {sorted(by_name)}")
    if not wanted:
        raise ValueError("no personal-information entities selected")
    return tuple(by_name[e] for e in wanted)


class PIIAnalyzer:
    """Immutable after construction; safe to share between threads."""

    def __init__(self, recognizers: Sequence[Recognizer] = BUILTIN) -> None:
        if not recognizers:
            raise ValueError("a PII analyzer needs at least one recognizer")
        self.recognizers = tuple(recognizers)
        self.max_span = max(r.max_span for r in self.recognizers)
        self.by_entity = {r.entity: r for r in self.recognizers}
        #: Each recognizer with its trigger and anchors when it has them (`PatternRecognizer.trigger`,
        #: ``anchors``): ten of the built-in ones share one trigger and six one anchor, each searched
        #: once per text here rather than once per recognizer.
        self._plan = tuple(
            (r, r.trigger, r.anchors) if isinstance(r, PatternRecognizer) else (r, None, ())
            for r in self.recognizers
        )

    def analyze(self, text: str) -> list[PIIMatch]:
        """Non-overlapping matches, sorted by position."""
        found: list[PIIMatch] = []
        present: dict[re.Pattern[str], bool] = {}
        for recognizer, trigger, anchors in self._plan:
            if trigger is None and not anchors:
                found += recognizer.find(text)
                continue
            # A recognizer with a trigger matches nothing without it, one with anchors nothing without a
            # hit of one of them (`PatternRecognizer.find`): searched once per text for all.
            if trigger is not None and not _present(trigger, text, present):
                continue
            if anchors and not any(_present(anchor, text, present) for anchor in anchors):
                continue
            assert isinstance(recognizer, PatternRecognizer)
            found += recognizer.find_triggered(text)
        found.sort(key=lambda m: (-m.score, -(m.end - m.start), m.start))
        kept: list[PIIMatch] = []
        for m in found:
            if all(m.end <= k.start or m.start >= k.end for k in kept):
                kept.append(m)
        kept.sort(key=lambda m: m.start)
        return kept


def _present(pattern: re.Pattern[str], text: str, seen: dict[re.Pattern[str], bool]) -> bool:
    """Whether ``pattern`` occurs in ``text``, searched once per text (``seen`` is that text's)."""
    hit = seen.get(pattern)
    if hit is None:
        hit = seen[pattern] = pattern.search(text) is not None
    return hit
