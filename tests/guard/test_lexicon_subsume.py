"""The one-pass containment rule of the lexicon check gives what the pairwise rule gives."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.lexicon.check import unsubsumed
from hegui.guard.types import Action


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    term: int  # two matches may share a span (two terms)


def pairwise(scored: list[tuple[Span, Action]]) -> list[tuple[Span, Action]]:
    return [
        (m, a)
        for m, a in scored
        if not any(
            o.start <= m.start and m.end <= o.end and (o.start, o.end) != (m.start, m.end) and b >= a
            for o, b in scored
        )
    ]


SPANS = st.builds(
    lambda start, length, term: Span(start, start + length, term),
    st.integers(0, 12),
    st.integers(1, 6),
    st.integers(0, 2),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(SPANS, st.sampled_from(list(Action))), max_size=12))
def test_one_pass_equals_pairwise(pairs: list[tuple[Span, Action]]) -> None:
    scored = sorted(pairs, key=lambda p: (p[0].start, -p[0].end))
    assert list(unsubsumed(scored)) == pairwise(scored)


def test_a_longer_match_hides_a_weaker_one_inside_it_only() -> None:
    outer, inner = Span(0, 3, 0), Span(1, 2, 1)
    assert list(unsubsumed([(outer, Action.REFUSE), (inner, Action.LABEL)])) == [(outer, Action.REFUSE)]
    both = [(outer, Action.LABEL), (inner, Action.REFUSE)]
    assert list(unsubsumed(both)) == both
