"""The analyzer: runs a set of recognizers over a text and resolves overlapping matches.

Overlaps are resolved in favour of the higher score, then the longer span (a valid resident ID is not
also reported as a bank card). The analyzer must never drop a match for any other reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
    outside_of,
    run_before,
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
        #: Recognizers whose matches lie inside one run of a character class (`PatternRecognizer.run`):
        #: a stream holds back and rescans their run, not their ``max_span``.
        self._runs = tuple(
            _Run(outside_of(run), r.max_span)
            for r in self.recognizers
            if (run := getattr(r, "run", None)) is not None
        )
        #: The longest span of the other recognizers: what a stream always holds back (minus one).
        self.short_span = max(
            (r.max_span for r in self.recognizers if getattr(r, "run", None) is None), default=1
        )
        #: How far back more text can change what the analyzer reports: a match up to ``max_span`` long
        #: at the end, and one it overlaps (kept or dropped for it) up to ``short_span`` before it. A
        #: longer chain of overlapping candidates is held back only this far.
        self.horizon = self.max_span + self.short_span
        #: One pattern that a text must hold for any recognizer to match in it (each one's anchors, which
        #: its matches need, else its trigger); None when a recognizer has neither. A stream asks it of
        #: the end of the text at every rescan (`holdback_at`), which for most prose it answers at once.
        self._hint = _any_of(self.recognizers)

    def holdback_at(self, text: str) -> int:
        """How many characters at the end of ``text`` a match could still change or appear in, once more
        text follows: ``short_span - 1``, plus the run of a run recognizer's class that ends the text
        (an e-mail address still being written). The run and the short span add up: a match of another
        recognizer that overlaps the run can start ``short_span - 1`` before it, and an open run's
        match (valid now, perhaps not once the run goes on) can hide it by overlapping it. Further back
        where a candidate reaching that end overlaps earlier ones (below); at most ``horizon - 1``."""
        end = len(text)
        cap = self.horizon - 1
        hold = min(self.max_span - 1, self.short_span - 1 + self._run_before(text, end))
        # A candidate that reaches the open end may still change or vanish, and so may the choice between
        # it and every candidate it overlaps (kept or dropped for it), and theirs in turn: hold back from
        # the first start of that chain. A spaced mobile dropped for a bank-card candidate that the next
        # digits turn into a resident ID would otherwise be released unmasked up to the card's start.
        open_from = end - hold
        near = max(0, open_from - self.short_span)  # most texts: no candidate reaches past open_from
        if self._hint is not None and self._hint.search(text, near) is None:
            return hold
        if not any(m.end + near > open_from for m in self._candidates(text[near:])):
            return hold
        tail = max(0, end - cap - self.short_span)
        for m in sorted(self._candidates(text[tail:]), key=lambda m: -m.end):
            if m.end + tail > open_from:
                open_from = min(open_from, m.start + tail)
        return min(cap, end - open_from)

    def lookback_at(self, text: str, pos: int) -> int:
        """How far before ``pos`` a scan must start to find, as the whole text does, every match that
        reaches ``text[pos:]`` and every match that could overlap one of them: two steps back of
        ``short_span`` plus the run that ends there, and the character a look-behind reads. At most
        ``max_span``."""
        first = pos - self.short_span - self._run_before(text, pos)
        second = first - self.short_span - self._run_before(text, max(0, first))
        return min(self.max_span, pos - second + 1)

    def _run_before(self, text: str, pos: int) -> int:
        """The longest run of a run recognizer's class that ends at ``pos`` (0 when none)."""
        return max((run.length_before(text, pos) for run in self._runs), default=0)

    def analyze(self, text: str) -> list[PIIMatch]:
        """Non-overlapping matches, sorted by position."""
        return resolve_overlaps(self._candidates(text))

    def _candidates(self, text: str) -> list[PIIMatch]:
        """Every recognizer's matches, overlapping ones included."""
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
        return found


@dataclass(frozen=True, slots=True)
class _Run:
    """A run recognizer's class, as the pattern of one character *outside* it, and its longest match."""

    outside: re.Pattern[str]
    max_span: int

    def length_before(self, text: str, pos: int) -> int:
        """How many characters of the class end at ``pos`` (at most ``max_span``: a longer run is
        treated as that long, which holds back and rescans as much as ``max_span`` would)."""
        return run_before(self.outside, text, pos, self.max_span)


def resolve_overlaps(found: Iterable[PIIMatch]) -> list[PIIMatch]:
    """Of overlapping matches, the one of higher score, then the longer span, then the earlier start;
    sorted by position."""
    kept: list[PIIMatch] = []
    for m in sorted(found, key=lambda m: (-m.score, -(m.end - m.start), m.start)):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    kept.sort(key=lambda m: m.start)
    return kept


def _any_of(recognizers: Sequence[Recognizer]) -> re.Pattern[str] | None:
    """A pattern found wherever one of ``recognizers`` can match (`PIIAnalyzer._hint`), or None."""
    needs: list[re.Pattern[str]] = []
    for r in recognizers:
        if not isinstance(r, PatternRecognizer):
            return None
        if r.anchors:
            needs += r.anchors
        elif r.trigger is not None:
            needs.append(r.trigger)
        else:
            return None
    if any(p.flags != needs[0].flags for p in needs):
        return None  # patterns of other flags do not join into one
    return re.compile("|".join(f"(?:{p.pattern})" for p in dict.fromkeys(needs)), needs[0].flags)


def _present(pattern: re.Pattern[str], text: str, seen: dict[re.Pattern[str], bool]) -> bool:
    """Whether ``pattern`` occurs in ``text``, searched once per text (``seen`` is that text's)."""
    hit = seen.get(pattern)
    if hit is None:
        hit = seen[pattern] = pattern.search(text) is not None
    return hit
