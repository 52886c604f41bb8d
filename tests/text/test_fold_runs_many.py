"""Folding many texts at once gives what folding each gives (the lexicon folds its terms this way)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.text.normalize import default_normalizer


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=10))
def test_fold_runs_many_equals_one_by_one(texts: list[str]) -> None:
    normalizer = default_normalizer()
    assert normalizer.fold_runs_many(texts) == [normalizer.fold_runs(t) for t in texts]
