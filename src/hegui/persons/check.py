"""The ``persona`` check: no depiction, impersonation or voice cloning of a registered person without an
authorization of that scope for this tenant; no defamatory statement about one in an answer.

Requests (and answers that carry them out): every registered name (name, aliases, misspellings, pinyin; through the normalizer, so
traditional characters, full-width letters, inserted spaces or invisible characters do not hide it)
is found with one Aho–Corasick automaton; the request's intent around it (`intents`) says which scope
it needs; an active authorization for the request's tenant lets it pass, anything else is refused,
whatever the person's kind (a public figure without an authorization is refused too).

Statements: a registered name with a defamation term within the window is flagged with the check's
``defamation_action`` (category A.4c); the provider decides whether that refuses or labels.

Pure: the registry is a `RegistrySnapshot` taken by the factory at start-up and on reload; the only
thing read at inspection is the clock (an authorization can expire between two requests).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import ahocorasick_rs

from hegui.guard.classifier.scoring import TextModel
from hegui.guard.types import Action, Context, Finding, Stage
from hegui.persons.intents import DEFAMATION, INTENTS, Intent
from hegui.persons.model import Person, RegistrySnapshot, Scope
from hegui.text.normalize import NormalizedText, Normalizer, default_normalizer

CATEGORY = {Scope.LIKENESS: "A.4b", Scope.VOICE: "A.4g", Scope.NAME: "A.4g"}
DEFAMATION_CATEGORY = "A.4c"
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?:\s|$)")


def _latin(c: str) -> bool:
    return c.isascii() and c.isalnum()


@dataclass(frozen=True, slots=True)
class NameHit:
    person: Person
    start: int  # normalized
    end: int


class PersonaCheck:
    def __init__(
        self,
        name: str,
        registry: RegistrySnapshot,
        *,
        stages: Iterable[Stage] = (Stage.INPUT, Stage.OUTPUT),
        action: Action = Action.REFUSE,
        defamation_action: Action = Action.REFUSE,
        window: int = 16,
        defamation_terms: Iterable[str] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        normalizer: Normalizer | None = None,
        model: TextModel | None = None,
        model_threshold: float | None = None,
    ) -> None:
        self.name = name
        self.stages = frozenset(stages)
        self._registry = registry
        self._action = action
        self._defamation_action = defamation_action
        self._window = window
        self._clock = clock
        self._norm = normalizer or default_normalizer()
        self._model = model
        self._threshold = (model.threshold if model_threshold is None else model_threshold) if model else 1.0
        patterns: dict[str, Person] = {}
        for person in registry.persons:
            for spelling in person.spellings():
                folded = self._norm.normalize(spelling).text
                if len(folded) >= 2:
                    patterns.setdefault(folded, person)
        self._patterns = list(patterns)
        self._persons = [patterns[p] for p in self._patterns]
        self._automaton = (
            ahocorasick_rs.AhoCorasick(self._patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
            if self._patterns
            else None
        )
        terms = [self._norm.normalize(t).text for t in (*DEFAMATION, *defamation_terms)]
        self._defamation = re.compile(
            "|".join(re.escape(t) for t in sorted({t for t in terms if t}, key=len, reverse=True))
        )
        longest = max((len(p) for p in self._patterns), default=0)
        # Normalized reach on both sides, doubled for the punctuation and spaces the normalizer drops.
        self.horizon: int | None = 2 * (longest + 2 * window)
        self.version = f"{registry.version}.w{window}" + (
            f".m{model.version}@{self._threshold:.3f}" if model is not None else ""
        )

    def names(self, nt: NormalizedText) -> list[NameHit]:
        """Registered names in normalized text; a Latin spelling must not continue a Latin word."""
        if self._automaton is None or not nt.text:
            return []
        out: list[NameHit] = []
        for pid, s, e in self._automaton.find_matches_as_indexes(nt.text):
            pattern = self._patterns[pid]
            if _latin(pattern[0]) or _latin(pattern[-1]):
                start, end = nt.span(s, e)
                before = nt.original[start - 1] if start > 0 else ""
                after = nt.original[end] if end < len(nt.original) else ""
                if (_latin(pattern[0]) and _latin(before)) or (_latin(pattern[-1]) and _latin(after)):
                    continue
            out.append(NameHit(self._persons[pid], s, e))
        return out

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        nt = self._norm.normalize(text)
        hits = self.names(nt)
        if not hits:
            return []
        # Both rules at every stage the check runs at: an answer that says it made the likeness is as
        # unauthorized as the request, and a request to write a defamatory line is flagged like the line.
        return self._requests(text, nt, hits, ctx) + self._defamation_findings(text, nt, hits)

    def _around(self, nt: NormalizedText, hit: NameHit) -> tuple[str, str]:
        w = self._window
        return nt.text[max(0, hit.start - w) : hit.start], nt.text[hit.end : hit.end + w]

    def _requests(self, text: str, nt: NormalizedText, hits: list[NameHit], ctx: Context) -> list[Finding]:
        now = self._clock()
        out: list[Finding] = []
        for hit in hits:
            left, right = self._around(nt, hit)
            around = left + "\x00" + right
            for intent in INTENTS:
                if not _asks(intent, around):
                    continue
                p = hit.person
                if self._registry.authorized(p.key, ctx.tenant, intent.scope, now) is not None:
                    continue
                start, end = nt.span(hit.start, hit.end)
                out.append(
                    Finding(
                        self.name,
                        CATEGORY[intent.scope],
                        start,
                        end,
                        text[start:end],
                        self._action,
                        explanation=(
                            f"a request to {intent.wording} registered person {p.key!r} ({p.kind.value}) "
                            f"without an active {intent.scope.value} authorization for tenant {ctx.tenant!r}"
                        ),
                    )
                )
        return out

    def _defamation_findings(self, text: str, nt: NormalizedText, hits: list[NameHit]) -> list[Finding]:
        out: list[Finding] = []
        for hit in hits:
            w = self._window
            lo, hi = max(0, hit.start - w), min(len(nt.text), hit.end + w)
            for m in self._defamation.finditer(nt.text, lo, hi):
                if m.start() < hit.end and hit.start < m.end():
                    continue  # inside the name itself
                s, e = min(hit.start, m.start()), max(hit.end, m.end())
                start, end = nt.span(s, e)
                if _SENTENCE_END.search(text, start, end):
                    continue  # the term belongs to another sentence
                out.append(
                    Finding(
                        self.name,
                        DEFAMATION_CATEGORY,
                        start,
                        end,
                        text[start:end],
                        self._defamation_action,
                        explanation=(
                            f"a statement about registered person {hit.person.key!r} ({hit.person.kind.value}) "
                            f"with a defamatory term {m.group()!r}"
                        ),
                    )
                )
                break
            else:
                if self._model is not None:
                    out += self._model_finding(text, nt, hit)
        return out

    def _model_finding(self, text: str, nt: NormalizedText, hit: NameHit) -> list[Finding]:
        """The sentence around the name (at most ``2 × window`` original characters on each side),
        scored by the offensive-language model; at or above the threshold it is a finding."""
        name_start, name_end = nt.span(hit.start, hit.end)
        reach = 2 * self._window
        lo = max(0, name_start - reach)
        before = [m.end() for m in _SENTENCE_END.finditer(text, lo, name_start)]
        start = before[-1] if before else lo
        after = _SENTENCE_END.search(text, name_end, min(len(text), name_end + reach))
        end = after.start() if after else min(len(text), name_end + reach)
        assert self._model is not None
        score = self._model.score(text[start:end], explain_from=2.0)  # the finding names no n-grams
        if score.probability < self._threshold:
            return []
        return [
            Finding(
                self.name,
                DEFAMATION_CATEGORY,
                start,
                end,
                text[start:end],
                self._defamation_action,
                score=round(score.probability, 4),
                explanation=(
                    f"a statement about registered person {hit.person.key!r} ({hit.person.kind.value}) that the "
                    f"offensive-language model scores {score.probability:.3f} (threshold {self._threshold:.3f})"
                ),
            )
        ]


def _asks(intent: Intent, around: str) -> bool:
    if intent.alone.search(around):
        return True
    return bool(intent.verbs.search(around) and intent.nouns.search(around))
