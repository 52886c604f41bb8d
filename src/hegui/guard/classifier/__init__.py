"""A small Chinese offensive-language classifier and the guard-model-free check that uses it.

The bundled artifact (``comments_hashed_lr.npz``) holds only learned weights, trained by
``scripts/train_classifier.py`` on the train splits of COLDataset and SWSR with everyday dialogue turns
as hard negatives (see NOTICE.md for the data and licences). Inference is numpy over hashed n-grams (the
judgement models' featurizer); the older gzip-JSON vocabulary format is read in pure Python. This
package never imports torch or a network client.
"""

from __future__ import annotations

from hegui.guard.classifier.check import DEFAULT_CATEGORY, ClassifierCheck
from hegui.guard.classifier.model import BUNDLED_ARTIFACT, NgramModel, load_model, ngrams, normalize
from hegui.guard.classifier.scoring import Score, TextModel

__all__ = [
    "BUNDLED_ARTIFACT",
    "DEFAULT_CATEGORY",
    "ClassifierCheck",
    "NgramModel",
    "Score",
    "TextModel",
    "load_model",
    "ngrams",
    "normalize",
]
