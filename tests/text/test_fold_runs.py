"""`Normalizer.fold_runs` (the lexicon's fast path for terms) agrees with `normalize` on any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.text.normalize import default_normalizer

ALPHABET = st.sampled_from(list("违禁词違禁詞ＢａｄbAD 　*-_.\u200b\u200d\ufe0f66aa禁禁①𝐁Ⅻ"))


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=24), st.lists(ALPHABET, max_size=24).map("".join)))
def test_fold_runs_matches_normalize(text: str) -> None:
    norm = default_normalizer()
    nt = norm.normalize(text)
    assert norm.fold_runs(text) == (nt.text, tuple(int(r) for r in nt.runs))
