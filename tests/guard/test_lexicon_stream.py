"""The lexicon check under the StreamInspector: no released text completes a match.

Texts are drawn from term characters, separators, invisible and look-alike characters, so evasions
straddle chunk boundaries; each text is fed in every split of the drawn chunk sizes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.lexicon import Lexicon, LexiconCheck, ReloadableLexicon, Term
from hegui.guard.pipeline import Pipeline
from hegui.guard.stream import StreamInspector
from hegui.guard.types import Context, Stage

CHECK = LexiconCheck(
    "kw",
    ReloadableLexicon.fixed(Lexicon.build([Term("违禁词", ("A.1h",)), Term("bad", ("A.1f",))], ["违禁词典"])),
    stages=(Stage.OUTPUT,),
)
PIPELINE = Pipeline([CHECK], policy_version="t")
ALPHABET = st.sampled_from([*"违禁词典違詞 *。\u200bbadxａ好", "bad", "违禁词"])


@settings(max_examples=150, deadline=None)
@given(st.lists(ALPHABET, max_size=40), st.lists(st.integers(1, 7), min_size=1, max_size=10))
def test_released_text_never_completes_a_match(parts: list[str], sizes: list[int]) -> None:
    text = "".join(parts)
    whole = CHECK.inspect(text, Context())
    inspector = StreamInspector(PIPELINE, Stage.OUTPUT, Context())
    released, pos, i = [], 0, 0
    while pos < len(text) and not inspector.stopped:
        size = sizes[i % len(sizes)]
        released.append(inspector.feed(text[pos : pos + size]).release)
        pos, i = pos + size, i + 1
    released.append(inspector.finish().release)
    out = "".join(released)
    for f in whole:
        assert not (f.end <= len(out) and out[f.start : f.end] == text[f.start : f.end]), (text, f, out)
    if not whole:
        assert out == text
