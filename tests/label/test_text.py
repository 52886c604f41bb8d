"""Explicit text labels (start / end / both, streams) and Markdown front matter."""

from __future__ import annotations

import pytest

from hegui.label.config import LabelPolicy
from hegui.label.implicit import AigcLabel
from hegui.label.text import apply_explicit, explicit_label, explicit_positions, label_markdown, markdown_read
from hegui.label.text import prefix as label_prefix
from hegui.label.text import suffix as label_suffix

ANSWER = "这是一个很长的回答。" * 20


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ("start", "【AI生成】\n\n" + ANSWER),
        ("end", ANSWER + "\n\n【AI生成】"),
        ("both", "【AI生成】\n\n" + ANSWER + "\n\n【AI生成】"),
    ],
)
def test_apply_explicit(position: str, expected: str) -> None:
    policy = LabelPolicy(text_position=position)  # type: ignore[arg-type]
    assert apply_explicit(ANSWER, policy) == expected
    assert label_prefix(policy) + ANSWER + label_suffix(policy) == expected
    where = {"start": ["start"], "end": ["end"], "both": ["start", "end"]}[position]
    assert explicit_positions(expected, explicit_label(policy)) == where


def test_text_answers_can_be_left_unlabelled_by_policy() -> None:
    policy = LabelPolicy(label_text_answers=False)
    assert apply_explicit(ANSWER, policy) == ANSWER


@pytest.mark.parametrize(
    ("text", "positions"),
    [
        ("本文由人工智能生成。" + ANSWER, ["start"]),
        (ANSWER + "（AI合成）", ["end"]),
        (ANSWER + "内容由AI生成" + ANSWER, ["middle"]),
        (ANSWER, []),
        ("AI" + ANSWER, []),
    ],
)
def test_explicit_positions_without_configured_wording(text: str, positions: list[str]) -> None:
    assert explicit_positions(text) == positions


def test_markdown_front_matter_round_trip_keeps_other_keys() -> None:
    policy = LabelPolicy()
    first = AigcLabel.first_write("001191110102MACQD9K64010000", "md-1")
    second = AigcLabel.first_write("001191110102MACQD9K64010000", "md-2")
    doc = "---\ntitle: 标题\n---\n# H\n\nbody\n"
    once = label_markdown(doc, first.to_json(), policy, explicit=True)
    twice = label_markdown(once, second.to_json(), policy, explicit=True)
    found = markdown_read(twice)
    assert [p.values for p in found] == [second.as_dict()]
    assert "title: 标题" in twice
    assert twice.count("【AI生成】") == 1


def test_markdown_front_matter_values_stay_strings() -> None:
    label = AigcLabel.first_write("001191110102MACQD9K64010000", "12345")
    out = label_markdown("# H\n", label.to_json(), LabelPolicy(), explicit=False)
    assert markdown_read(out)[0].ok
    assert "ProduceID: '12345'" in out
