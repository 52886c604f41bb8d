"""A small Chinese offensive-language classifier and the guard-model-free check that uses it.

The bundled artifact (``cold_char_ngram_lr.json.gz``) holds only learned weights, trained by
``scripts/train_classifier.py`` on the train split of COLDataset (see NOTICE.md for the data licence).
Pure Python at inference; this package must never import numpy, torch or a network client.
"""

from __future__ import annotations

from hegui.guard.classifier.check import DEFAULT_CATEGORY, ClassifierCheck
from hegui.guard.classifier.model import BUNDLED_ARTIFACT, NgramModel, Score, ngrams, normalize

__all__ = [
    "BUNDLED_ARTIFACT",
    "DEFAULT_CATEGORY",
    "ClassifierCheck",
    "NgramModel",
    "Score",
    "ngrams",
    "normalize",
]
