"""The edit-instruction classifier (DS-02): which kinds an instruction asks for, through the normalizer."""

from __future__ import annotations

import pytest

from hegui.guard.edits import EditClassifier, EditKind

C = EditClassifier()

CASES = [
    ("把这张照片里的脸换成我同事的", {EditKind.FACE_SWAP}),
    ("Swap the face with my boss", {EditKind.FACE_SWAP}),
    ("換臉", {EditKind.FACE_SWAP}),  # traditional characters
    ("换 · 脸", {EditKind.FACE_SWAP}),  # inserted punctuation
    ("deep-fake this", {EditKind.FACE_SWAP}),
    ("给她美颜一下，再瘦脸", {EditKind.FACE_EDIT}),
    ("make him smile", {EditKind.FACE_EDIT}),
    ("把他的表情改成生气", {EditKind.FACE_EDIT}),
    ("把声音变成女声", {EditKind.VOICE_CHANGE}),
    ("克隆他的音色", {EditKind.VOICE_CHANGE}),
    ("把图里的logo换成我们的", {EditKind.LOGO_BRAND}),
    ("去掉水印", {EditKind.LOGO_BRAND}),
    ("把合同上的金额改成十万", {EditKind.TEXT_ALTERATION}),
    ("把背景换成海边", set()),
    ("改成水彩风格", set()),
    ("给这张照片加一只猫", set()),
    ("photo of a surface", set()),
    ("把天空调亮一点", set()),
]


@pytest.mark.parametrize(("text", "kinds"), CASES)
def test_classify(text: str, kinds: set[EditKind]) -> None:
    assert set(C.classify(text).kinds) == kinds


def test_scopes() -> None:
    intent = C.classify("换脸，再把声音变成女声")
    assert intent.scopes() == ("likeness", "voice")
    assert {h.kind for h in intent.hits} == {EditKind.FACE_SWAP, EditKind.VOICE_CHANGE}
    assert all(h.evidence for h in intent.hits)
