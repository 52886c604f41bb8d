"""The Chinese person-name recognizer of the ``[media] person_names`` switch."""

from __future__ import annotations

import pytest

from hegui.guard.person_names import NameRecognizer

R = NameRecognizer()


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("画一张张伟在海边的照片", ["张伟"]),
        ("生成李明和王芳的合影", ["李明", "王芳"]),
        ("画一幅欧阳修饮酒的画", ["欧阳修"]),
        ("画一张海边日落的照片", []),
        ("生成一只橘猫在窗台上睡觉", []),
        ("a portrait of a woman", []),
    ],
)
def test_names(text: str, names: list[str]) -> None:
    found = R.names(text)
    assert [n.name for n in found] == names
    assert all(text[n.start : n.end] == n.name for n in found)
