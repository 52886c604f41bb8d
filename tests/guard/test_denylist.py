"""The literal deny-list."""

from __future__ import annotations

import pytest

from hegui.guard import Context
from hegui.guard.denylist import DenyListCheck

CHECK = DenyListCheck("d", ["演示违禁词", "违禁", "Forbidden-Demo", "𝐀𝐁"])


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("", []),
        ("无关内容", []),
        ("这是演示违禁词。", [(2, 7)]),
        ("违禁违禁", [(0, 2), (2, 4)]),
        ("a FORBIDDEN-demo b", [(2, 16)]),
        ("前𝐀𝐁后", [(1, 3)]),  # astral characters count as one character each
        ("演示违禁", [(2, 4)]),
    ],
)
def test_spans_in_the_original_text(text: str, spans: list[tuple[int, int]]) -> None:
    assert [(x.start, x.end) for x in CHECK.inspect(text, Context())] == spans


def test_version_changes_with_terms() -> None:
    assert DenyListCheck("d", ["a"]).version != DenyListCheck("d", ["b"]).version
    assert DenyListCheck("d", ["a", "b"]).version == DenyListCheck("d", ["b", "a", "A"]).version


def test_empty_list_is_refused() -> None:
    with pytest.raises(ValueError, match="no terms"):
        DenyListCheck("d", ["", "  "])
