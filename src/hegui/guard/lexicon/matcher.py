"""The compiled lexicon: one Aho–Corasick automaton over the normalized terms, and the match rules.

Terms and text go through the same `Normalizer`, so a term written with traditional characters,
full-width letters, look-alikes, inserted separators, invisible characters or doubled characters meets
its plain form. The automaton is ahocorasick-rs (Rust), chosen by measurement on Chinese text (see
benchmarks/RESULTS.md): it reports every overlapping occurrence, and the rules below filter them:

- **Doubled letters of the term itself** (``6666``, ``hello``): the text's run at each position must be
  at least as long as the term's.
- **Inserted characters cap**: at most ``max_gap * (len - 1)`` dropped characters (separators,
  invisible ones, extra repetitions) inside an occurrence of a term of ``len`` characters, that is
  ``max_gap`` per gap on average. This keeps the horizon finite
  (``len + max_gap * (len - 1)`` original characters) and stops matches that straddle sentences.
- **Latin word boundaries**: where a term (or its pinyin spelling) begins or ends with a Latin letter
  or digit, the original text must not continue with one there (``sex`` does not hit ``Essex``).
- **Allow-list exemption**: an occurrence inside an occurrence of an allow-listed word (``路口交通``
  around ``口交``) is not a finding.
- **Chinese word boundaries** (when the lexicon is compiled with a `WordBoundary`): an occurrence of a
  term of at most three Chinese characters whose span does not start and end at word boundaries of
  the segmenter (代开 in 朝代开始) is not a finding, unless the term is red-line (its tier is
  ``red-line`` or not set): a red-line term is matched wherever it occurs. The segmenter reads a small
  window of the *normalized* text, so evasions keep their recall, and runs only for those hits.

Spans are mapped back to the original text through the normalizer's offset map, only for the few
occurrences found. This module never decides an action; the check does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import ahocorasick_rs

from hegui.guard.lexicon.model import DEFAULT_MAX_GAP, Lexicon, Term, Tier
from hegui.guard.lexicon.paircode import PairAutomaton
from hegui.guard.lexicon.segment import WordBoundary, is_short_cjk
from hegui.text.normalize import NormalizedText, Normalizer, default_normalizer

Via = Literal["text", "pinyin", "initials"]


def _alnum_ascii(code: int) -> bool:
    return 0x30 <= code <= 0x39 or 0x61 <= code <= 0x7A


class _Entry(NamedTuple):  # a named tuple: 64k of them are built at each start (4 times cheaper)
    term: int  # index into the lexicon's terms; -1 for an allow-listed word
    runs: tuple[int, ...] | None  # the term's run lengths, when any is above 1
    size: int  # the term's characters after dropping (sum of runs)
    left: bool  # the term begins with a Latin letter or digit
    right: bool  # the term ends with one
    via: Via
    bounded: bool  # the word-boundary rule applies: a short CJK term of the topic tier


@dataclass(frozen=True, slots=True)
class LexiconMatch:
    """One occurrence of a term, with its span in the original text."""

    term: Term
    start: int
    end: int
    via: Via


class Reach(NamedTuple):
    """How far the patterns reach: the widest occurrence in original characters (gaps and Latin
    neighbours counted), the longest pattern, and whether any entry follows word boundaries."""

    widest: int
    longest: int
    bounded: bool


@dataclass(frozen=True, slots=True)
class LexiconState:
    """A compiled lexicon without its automaton: the lexicon, the patterns and what each one stands for."""

    lexicon: Lexicon
    max_gap: int
    skipped: tuple[str, ...]
    patterns: tuple[str, ...]
    entries: tuple[tuple[_Entry, ...], ...]
    reach: Reach
    version: str


class CompiledLexicon:
    """Immutable: safe to share between threads; a reload builds a new one."""

    def __init__(
        self,
        lexicon: Lexicon,
        *,
        max_gap: int = DEFAULT_MAX_GAP,
        normalizer: Normalizer | None = None,
        boundary: WordBoundary | None = None,
    ) -> None:
        if max_gap < 0:
            raise ValueError("max_gap must be 0 or more")
        self.lexicon = lexicon
        self.max_gap = max_gap
        self.boundary = boundary
        self.normalizer = normalizer or default_normalizer()
        self.skipped: list[str] = []  # terms that normalize to nothing usable (see _add)
        index: dict[str, list[_Entry]] = {}
        folded = self.normalizer.fold_runs_many([t.text for t in lexicon.terms])
        for i, (term, fold) in enumerate(zip(lexicon.terms, folded, strict=True)):
            if not self._add(index, term.text, i, "text", fold):
                self.skipped.append(term.text)
            if term.pinyin:
                from hegui.text.pinyin import spellings  # pypinyin only when a term asks for it

                sp = spellings(term.text)
                if sp is not None:
                    self._add(index, sp.full, i, "pinyin")
                    if len(sp.initials) >= 2:
                        self._add(index, sp.initials, i, "initials")
        for word in lexicon.allow:
            self._add(index, word, -1, "text")
        self._patterns = list(index)
        self._entries = [tuple(index[p]) for p in self._patterns]
        if not any(e.term >= 0 for es in self._entries for e in es):
            raise ValueError("the lexicon has no term that can match")
        self._finish(boundary)
        self.version = f"{lexicon.version}.g{max_gap}" + (f".w{boundary.segmenter.name}" if boundary else "")

    def _finish(self, boundary: WordBoundary | None, reach: Reach | None = None) -> None:
        """What follows from the patterns and entries: the automaton, the horizon and the context."""
        max_gap = self.max_gap
        #: The automaton: over the patterns' two-byte code (`paircode`) when they have few enough distinct
        #: characters, else over the strings.
        self._automaton: PairAutomaton | ahocorasick_rs.AhoCorasick = PairAutomaton.of(
            self._patterns
        ) or ahocorasick_rs.AhoCorasick(self._patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
        #: For streams (`open_tail`): the hashes of every prefix of every pattern, built at the first
        #: stream's use (a collision only makes a stream hold back more).
        self._prefixes: frozenset[int] | None = None
        if reach is None:
            reach = Reach(
                max(
                    e.size + max_gap * (e.size - 1) + int(e.left) + int(e.right)
                    for es in self._entries
                    for e in es
                ),
                max(len(p) for p in self._patterns),
                any(e.bounded for es in self._entries for e in es),
            )
        self._reach = reach
        #: For streams: the longest pattern, and the context a hit's rules read on each side in original
        #: characters (a Latin letter or digit next to it; the segmenter's window). A boundary decision
        #: reads `window` normalized characters on each side of the hit; in the original text that is up
        #: to window * (max_gap + 1) characters (as the gap cap counts).
        self._longest = reach.longest
        context = boundary.window * (max_gap + 1) if boundary is not None and reach.bounded else 0
        self.horizon = reach.widest + 2 * context
        self.context = 1 + context

    def state(self) -> LexiconState:
        """What `from_state` needs to build this lexicon again without compiling it (`lexicon.cache`)."""
        return LexiconState(
            self.lexicon,
            self.max_gap,
            tuple(self.skipped),
            tuple(self._patterns),
            tuple(self._entries),
            self._reach,
            self.version,
        )

    @classmethod
    def from_state(cls, state: LexiconState, *, boundary: WordBoundary | None = None) -> CompiledLexicon:
        """The lexicon `state` was taken from, compiled with the same ``boundary`` (a segmenter of the
        same name) and the default normalizer; only the automaton is built again."""
        self = cls.__new__(cls)
        self.lexicon = state.lexicon
        self.max_gap = state.max_gap
        self.boundary = boundary
        self.normalizer = default_normalizer()
        self.skipped = list(state.skipped)
        self._patterns = list(state.patterns)
        self._entries = list(state.entries)
        self._finish(boundary, state.reach)
        self.version = state.version
        return self

    def prepare_streams(self) -> None:
        """Build now what the first stream would build (the prefix hashes, ~0.1 s for 64k terms)."""
        self._prefix_hashes()

    @property
    def streams_prepared(self) -> bool:
        """Whether a stream finds the prefix hashes built (`prepare_streams`)."""
        return self._prefixes is not None

    def _prefix_hashes(self) -> frozenset[int]:
        prefixes = self._prefixes
        if prefixes is None:  # two threads may both build it: the same set, one kept
            prefixes = frozenset(hash(p[:k]) for p in self._patterns for k in range(1, len(p) + 1))
            self._prefixes = prefixes
        return prefixes

    def _add(
        self,
        index: dict[str, list[_Entry]],
        text: str,
        term: int,
        via: Via,
        fold: tuple[str, tuple[int, ...]] | None = None,
    ) -> bool:
        normalized, runs = fold if fold is not None else self.normalizer.fold_runs(text)
        if not normalized or (sum(runs) == 1 and len(text) > 1):
            # Nothing left, or a longer entry reduced to one character (``b\x7f`` → ``b``): such a
            # pattern would hit everywhere; it is reported as skipped instead of matched.
            return False
        tier = self.lexicon.terms[term].tier if term >= 0 else None
        entry = _Entry(
            term,
            runs if max(runs) > 1 else None,
            sum(runs),
            _alnum_ascii(ord(normalized[0])),
            _alnum_ascii(ord(normalized[-1])),
            via,
            # Only topic terms: red-line ones match anywhere, noise hits are dropped by the check anyway.
            self.boundary is not None and tier is Tier.TOPIC and is_short_cjk(normalized),
        )
        index.setdefault(normalized, []).append(entry)
        return True

    def open_tail(self, text: str, pos: int) -> int:
        """How many characters before ``pos`` the longest tail of ``text[:pos]`` starts whose normalized
        form begins some term or allow-listed word (0 when none): an occurrence that ``text[pos:]`` may
        still complete or change starts there, or later. Reads at most ``horizon`` characters."""
        lo = max(0, pos - self.horizon)
        nt = self.normalizer.normalize(text[lo:pos])
        norm, n = nt.text, len(nt.text)
        prefixes = self._prefix_hashes()
        for k in range(min(self._longest, n), 0, -1):
            if hash(norm[n - k :]) in prefixes:
                return pos - (lo + nt.run_bounds(n - k)[0])
        return 0

    def holdback_at(self, text: str) -> int:
        """For a stream: the open tail of the text and the context after a hit (at most ``horizon - 1``)."""
        return min(self.horizon - 1, self.open_tail(text, len(text)) + self.context)

    def lookback_at(self, text: str, pos: int) -> int:
        """For a stream: the open tail before ``pos`` and the context before a hit (at most ``horizon``)."""
        return min(self.horizon, self.open_tail(text, pos) + self.context + 1)

    @property
    def patterns(self) -> int:
        return len(self._patterns)

    def find(self, text: str) -> list[LexiconMatch]:
        """Every occurrence of a term in ``text`` that the rules above let stand."""
        nt = self.normalizer.normalize(text)
        if not nt.text:
            return []
        automaton = self._automaton
        if isinstance(automaton, PairAutomaton):
            hits = automaton.find_overlapping(nt.codes)
        else:
            hits = automaton.find_matches_as_indexes(nt.text, overlapping=True)
        if not hits:
            return []
        allowed: list[tuple[int, int]] = []
        found: list[tuple[int, int, int, int, _Entry]] = []
        for pid, s, e in hits:
            for entry in self._entries[pid]:
                span = self._span(nt, s, e, entry)
                if span is None:
                    continue
                if entry.term < 0:
                    allowed.append((s, e))
                else:
                    found.append((s, e, span[0], span[1], entry))
        terms = self.lexicon.terms
        kept = [f for f in found if not any(a_s <= f[0] and f[1] <= a_e for a_s, a_e in allowed)]
        boundary = self.boundary
        if boundary is not None:
            bounded = [i for i, f in enumerate(kept) if f[4].bounded]
            if bounded:
                ok = boundary.aligned_many(nt.text, [(kept[i][0], kept[i][1]) for i in bounded])
                cut = {i for i, aligned in zip(bounded, ok, strict=True) if not aligned}
                kept = [f for i, f in enumerate(kept) if i not in cut]
        return [LexiconMatch(terms[entry.term], start, end, entry.via) for _, _, start, end, entry in kept]

    def _span(self, nt: NormalizedText, s: int, e: int, entry: _Entry) -> tuple[int, int] | None:
        runs = entry.runs
        if runs is not None and any(int(nt.runs[s + i]) < r for i, r in enumerate(runs)):
            return None
        start, end = nt.span(s, e, runs[0] if runs else 1, runs[-1] if runs else 1)
        if end - start - entry.size > self.max_gap * (entry.size - 1):
            return None
        folded = nt.folded
        if entry.left:
            before = nt.run_bounds(s)[0] - 1
            if before >= 0 and _alnum_ascii(int(folded[before])):
                return None
        if entry.right:
            after = nt.run_bounds(e - 1)[1] + 1
            if after < len(folded) and _alnum_ascii(int(folded[after])):
                return None
        return start, end
