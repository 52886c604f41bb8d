"""A stage's checks normalize the same string one after another: the normalizer does it once per thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hegui.text.normalize import NormalizedText, Normalizer


def test_the_same_string_object_is_normalized_once() -> None:
    norm = Normalizer()
    text = "ＡＢＣ 測試  文本"
    first = norm.normalize(text)
    assert norm.normalize(text) is first
    other = norm.normalize("".join(list(text)))  # equal, another object: computed again, equal result
    assert other is not first
    assert other.text == first.text
    assert np.array_equal(other.kept, first.kept)


def test_a_new_string_is_not_served_the_last_result() -> None:
    norm = Normalizer()
    a = norm.normalize("甲乙丙")
    b = norm.normalize("丁戊己")
    assert (a.text, b.text) == ("甲乙丙", "丁戊己")
    assert norm.normalize("甲乙丙").text == "甲乙丙"


@pytest.mark.parametrize("field", ["folded", "kept", "first", "runs"])
def test_the_shared_result_cannot_be_changed_by_a_caller(field: str) -> None:
    result = Normalizer().normalize("测试测试")
    with pytest.raises(ValueError, match="read-only"):
        getattr(result, field)[0] = 0


def test_each_thread_keeps_its_own_last_result() -> None:
    norm = Normalizer()
    text = "线程一的文本"
    mine = norm.normalize(text)
    seen: list[NormalizedText] = []
    worker = threading.Thread(target=lambda: seen.append(norm.normalize(text)))
    worker.start()
    worker.join()
    assert seen[0] is not mine
    assert seen[0].text == mine.text
    assert norm.normalize(text) is mine
