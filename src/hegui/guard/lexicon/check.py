"""The lexicon check, and the reloadable lexicon it reads from.

`ReloadableLexicon` holds the compiled lexicon and swaps in a new one on `reload()` (one reference
assignment: a request sees the old or the new lexicon, never a mix). The check reads the current one
once per call, so a reload takes effect on the next call without a restart. A failed reload raises
and keeps the old lexicon: the service keeps filtering with what it had.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from hegui.guard.lexicon import cache as lexicon_cache
from hegui.guard.lexicon.matcher import CompiledLexicon, LexiconMatch
from hegui.guard.lexicon.model import DEFAULT_MAX_GAP, Lexicon, Tier
from hegui.guard.lexicon.segment import WordBoundary
from hegui.guard.types import Action, Context, Finding, Stage


class ReloadableLexicon:
    """A compiled lexicon that can be replaced while the service runs."""

    def __init__(
        self,
        load: Callable[[], Lexicon],
        *,
        max_gap: int = DEFAULT_MAX_GAP,
        boundary: WordBoundary | None = None,
        cache: Callable[[], Path | None] | None = None,
    ) -> None:
        self._load = load
        self._max_gap = max_gap
        self._boundary = boundary
        self._cache = cache
        self._lock = threading.Lock()  # one reload at a time; readers never wait
        self._current = self._compile()

    def _compile(self) -> CompiledLexicon:
        """Compile what ``load`` reads; with ``cache`` (where the compiled form of the files as they are
        now is kept, `hegui.guard.lexicon.cache`), read it from there when it is, else keep it there."""
        kept = self._cache() if self._cache is not None else None
        if kept is not None:
            state = lexicon_cache.load(kept)
            if state is not None:
                return CompiledLexicon.from_state(state, boundary=self._boundary)
        compiled = CompiledLexicon(self._load(), max_gap=self._max_gap, boundary=self._boundary)
        # Kept only when no file changed while it was read (else its key would not say what it holds).
        if kept is not None and self._cache is not None and self._cache() == kept:
            lexicon_cache.save(kept, compiled.state())
        return compiled

    @classmethod
    def fixed(
        cls, lexicon: Lexicon, *, max_gap: int = DEFAULT_MAX_GAP, boundary: WordBoundary | None = None
    ) -> ReloadableLexicon:
        return cls(lambda: lexicon, max_gap=max_gap, boundary=boundary)

    @property
    def current(self) -> CompiledLexicon:
        return self._current

    def reload(self) -> bool:
        """Load and compile again; True when the version changed. Raises (keeping the old one) on error."""
        with self._lock:
            compiled = self._compile()
            compiled.prepare_streams()  # off the request path: no stream after a reload waits for it
            changed = compiled.version != self._current.version
            self._current = compiled
            return changed


class LexiconCheck:
    """Finds lexicon terms in a text, evasions included; one finding per occurrence.

    The action of a finding is the term's own action if it has one, else the action configured for
    its category, else the check's action. Then the term's tier weighs it: a red-line term (or one
    without a tier) keeps that action; a topic term's hit is evidence, its action capped at ``label``
    (a non-stopping action such as ``mask`` stays); a noise term's hit is dropped. The finding says
    its tier. Occurrences inside a longer occurrence that already asks for at least the same action
    are left out (one finding per thing found).
    """

    def __init__(
        self,
        name: str,
        lexicon: ReloadableLexicon,
        *,
        stages: Iterable[Stage] = (Stage.INPUT, Stage.OUTPUT),
        action: Action = Action.REFUSE,
        category_actions: Mapping[str, Action] | None = None,
    ) -> None:
        self.name = name
        self.stages = frozenset(stages)
        self.action = action
        self.category_actions = dict(category_actions or {})
        self._lexicon = lexicon

    @property
    def lexicon(self) -> ReloadableLexicon:
        return self._lexicon

    # Horizon and version follow the current lexicon. The setters exist only because the Check
    # protocol declares plain attributes; they refuse, since a reload is the one way to change them.
    @property
    def horizon(self) -> int | None:
        return self._lexicon.current.horizon

    @horizon.setter
    def horizon(self, value: int | None) -> None:
        raise AttributeError("a lexicon check's horizon follows its lexicon; reload the lexicon instead")

    def prepare_streams(self) -> None:
        """Build what the first stream through this check would otherwise wait for (`Pipeline.prepare_streams`)."""
        self._lexicon.current.prepare_streams()

    def holdback_at(self, text: str) -> int:
        """For a stream: only the tail that may still begin a term, and a hit's context, wait
        (`CompiledLexicon.holdback_at`), not the longest term's whole horizon."""
        return self._lexicon.current.holdback_at(text)

    def lookback_at(self, text: str, pos: int) -> int:
        """For a stream: how far before ``pos`` an occurrence reaching ``text[pos:]`` can start."""
        return self._lexicon.current.lookback_at(text, pos)

    @property
    def version(self) -> str:
        return self._lexicon.current.version

    @version.setter
    def version(self, value: str) -> None:
        raise AttributeError("a lexicon check's version follows its lexicon; reload the lexicon instead")

    def _action(self, m: LexiconMatch) -> Action:
        action = (
            m.term.action
            if m.term.action is not None
            else self.category_actions.get(m.term.category, self.action)
        )
        if m.term.tier is Tier.TOPIC and action.stops:
            return Action.LABEL
        return action

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        matches = self._lexicon.current.find(text)
        if not matches:
            return []
        scored = sorted(
            ((m, self._action(m)) for m in matches if m.term.tier is not Tier.NOISE), key=_by_span
        )
        findings: list[Finding] = []
        # Two findings are equal when these are: the rest (check, evidence) follows from the span.
        seen: set[tuple[int, int, str, Action, str]] = set()
        for m, action in unsubsumed(scored):
            term = m.term
            tier, explanation = _explained(term.tier, term.categories, m.via)
            key = (m.start, m.end, term.categories[0], action, explanation)
            if key in seen:
                continue
            seen.add(key)
            findings.append(
                Finding(
                    self.name,
                    term.categories[0],
                    m.start,
                    m.end,
                    text[m.start : m.end],
                    action,
                    explanation=explanation,
                    tier=tier,
                )
            )
        return findings


@functools.lru_cache(maxsize=1024)
def _explained(tier: Tier | None, categories: tuple[str, ...], via: str) -> tuple[str, str]:
    """A finding's tier and explanation, the same for every hit of a kind (a dense text has tens)."""
    name = (tier or Tier.RED_LINE).value
    return name, f"lexicon term via {via}; {name}; risks {', '.join(categories)}"


def _by_span(pair: tuple[LexiconMatch, Action]) -> tuple[int, int]:
    return pair[0].start, -pair[0].end


class _Span(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


S = TypeVar("S", bound=_Span)


def unsubsumed(scored: Sequence[tuple[S, Action]]) -> Iterator[tuple[S, Action]]:
    """The matches (sorted by start, longest first) that no other match with another span contains with an
    action at least as strong: 水果刀 does not also report 刀 unless 刀's action is stronger.

    One pass: a match can only be contained by one sorted before it; ``reach`` holds, per action, the
    furthest end of the matches with an earlier start, and matches with the same start are contained only
    by a longer one among them."""
    # Ranks, not Actions: an Action's comparison runs in Python, and a dense text has tens of matches.
    ranks = [action.rank for _, action in scored]
    reach: dict[int, int] = {}
    i = 0
    while i < len(scored):
        start = scored[i][0].start
        j = i
        while j < len(scored) and scored[j][0].start == start:
            j += 1
        for k in range(i, j):
            m, rank = scored[k][0], ranks[k]
            if any(end >= m.end for r, end in reach.items() if r >= rank):
                continue
            if any(scored[o][0].end > m.end and ranks[o] >= rank for o in range(i, k)):
                continue
            yield scored[k]
        for k in range(i, j):
            end = scored[k][0].end
            if end > reach.get(ranks[k], -1):
                reach[ranks[k]] = end
        i = j
