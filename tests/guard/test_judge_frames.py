"""Question and request frames are not features of the prompt model: the content of a request decides."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hegui.guard.judge.features import FRAMES, FeatureConfig, featurize, frame_mask
from hegui.guard.judge.prompt import PromptRiskModel

WITH = FeatureConfig(ngram_min=1, ngram_max=3, frames=1)
WITHOUT = FeatureConfig(ngram_min=1, ngram_max=3, frames=0)


def valid_ngrams(text: str, config: FeatureConfig) -> set[str]:
    feats = featurize(text, config)
    out = set()
    for i, j in zip(*np.nonzero(feats.valid), strict=True):
        out.add(feats.ngram(int(i), int(j), config))
    return out


def test_frame_mask_covers_every_occurrence() -> None:
    mask = frame_mask("如何做饭，如何洗碗")
    assert mask.tolist() == [True, True, False, False, False, True, True, False, False]


def test_no_feature_touches_a_frame() -> None:
    grams = valid_ngrams("请问如何做红烧肉", WITH)
    assert "红烧肉" in grams and "做红烧" in grams
    assert not any(ch in gram for gram in grams for ch in "请问如何")
    assert {"如何", "何做", "请问"} <= valid_ngrams("请问如何做红烧肉", WITHOUT)


def test_the_same_request_with_and_without_a_frame_scores_alike() -> None:
    model = PromptRiskModel.load()
    assert model.model.config.frames == 1  # the bundled artifact is trained without frame features
    for content in ("做红烧肉", "种植番茄", "提高睡眠质量"):
        plain = model.assess(content).score
        for frame in ("如何", "请问怎么", "告诉我"):
            assert abs(model.assess(frame + content).score - plain) < 0.15, (frame, content)


def test_frames_are_folded_forms() -> None:
    from hegui.text.normalize import default_normalizer

    fold = default_normalizer().fold
    assert all(fold(f) == f for f in FRAMES)


def _mask_by_search(text: str) -> list[bool]:
    covered = [False] * len(text)
    for frame in FRAMES:
        start = text.find(frame)
        while start != -1:
            covered[start : start + len(frame)] = [True] * len(frame)
            start = text.find(frame, start + 1)
    return covered


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="如何怎么样为什么请问帮我能不能可以吗呢方法步骤我想要的一是", max_size=40))
def test_frame_mask_covers_every_occurrence_overlaps_included(text: str) -> None:
    assert frame_mask(text).tolist() == _mask_by_search(text)
