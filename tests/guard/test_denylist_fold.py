"""The deny-list's ASCII fold lowers ASCII letters only and keeps the length (spans stay spans)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.denylist import _ASCII_FOLD, _ascii_lower


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_ascii_lower_is_the_translate_fold(text: str) -> None:
    assert _ascii_lower(text) == text.translate(_ASCII_FOLD)
    assert len(_ascii_lower(text)) == len(text)
