"""The bundled comment model: hashed character n-grams of the normalized text, logistic regression.

It uses the one featurizer of the judgement models (`hegui.guard.judge.features`: `hegui.text.normalize`,
then character 1–4-grams hashed into 2^18 buckets), so an evasion variant of a comment (traditional
characters, full-width, homoglyphs, separators) scores as the plain comment does, and it is stored as a
two-class `hegui.guard.judge.LinearModel` artifact (``.npz``: float16 weights, the threshold and the
training figures in its meta). Trained by ``scripts/train_classifier.py``; see NOTICE.md for the data.

The artifact's classes are ``safe, offensive``; its threshold is ``thresholds["balanced"]["flag"]`` (the
three presets carry the same value: the check has one threshold, a policy's ``threshold`` overrides it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hegui.guard.classifier.model import Score
from hegui.guard.judge.linear import LinearModel

CLASSES = ("safe", "offensive")


class HashedModel:
    """Immutable after loading; safe to share between threads."""

    def __init__(self, model: LinearModel) -> None:
        if model.classes != CLASSES:
            raise ValueError(f"a comment model needs classes {CLASSES}, the artifact has {model.classes}")
        try:
            self.threshold = float(model.thresholds["balanced"]["flag"])
        except KeyError:
            raise ValueError("the artifact has no balanced flag threshold") from None
        self.model = model
        self.version = model.version
        self.metrics: dict[str, Any] = dict(model.metrics)
        self.trained_on = "; ".join(model.sources)

    @classmethod
    def from_bytes(cls, raw: bytes, source: str) -> HashedModel:
        model = LinearModel.from_bytes(raw, source)
        try:
            return cls(model)
        except ValueError as exc:
            raise ValueError(f"classifier artifact {source} is malformed: {exc}") from None

    def score(self, text: str) -> Score:
        """P(offensive) of the text's highest-scoring window (texts up to a window are one window)."""
        scores = self.model.score(text)
        offensive = scores.probabilities[:, 1]
        best = int(np.argmax(offensive))
        top = self.model.top_ngrams(scores, best, 1, 0)
        return Score(float(offensive[best]), tuple(t.text for t in top))
