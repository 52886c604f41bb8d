"""The [labels] table: defaults keep the bundled policy valid; bad codes and wording stop the start."""

from __future__ import annotations

import pytest

from hegui.errors import ConfigError
from hegui.label.config import LabelPolicy, explicit_wording_ok
from hegui.policy import bundled_policy_text, parse_policy


def test_bundled_policy_has_an_unconfigured_producer() -> None:
    policy = parse_policy(bundled_policy_text(), "<bundled>")
    assert policy.labels.producer == ""
    assert policy.labels.explicit_text == "AI生成"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('producer = "00119111010"', "labels.producer"),
        ('explicit_text = "机器写的"', "labels.explicit_text"),
        ('explicit_text = "AI"', "labels.explicit_text"),
        ("image_height_ratio = 0.04", "labels.image_height_ratio"),
        ("video_label_seconds = 1.5", "labels.video_label_seconds"),
        ('text_position = "middle"', "labels.text_position"),
        ("unknown_key = 1", "labels.unknown_key"),
    ],
)
def test_invalid_labels_table_names_the_key(table: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(bundled_policy_text() + f"\n[labels]\n{table}\n", "hegui.toml")
    assert info.value.key == key


@pytest.mark.parametrize(
    ("text", "corner", "ok"),
    [
        ("AI生成", False, True),
        ("人工智能合成", False, True),
        ("由AI辅助合成", False, True),
        ("AI", False, False),
        ("AI", True, True),
        ("生成", False, False),
        ("ai生成", False, False),
    ],
)
def test_wording(text: str, corner: bool, ok: bool) -> None:
    assert explicit_wording_ok(text, corner_mark=corner) is ok


def test_bracketed() -> None:
    assert LabelPolicy(explicit_text="人工智能生成").bracketed == "【人工智能生成】"
