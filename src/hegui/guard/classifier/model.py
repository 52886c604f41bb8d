"""A character n-gram logistic-regression model: feature extraction and pure-Python inference.

The same `ngrams` function is used by ``scripts/train_classifier.py`` and here, so a model scores at
run time exactly as it was trained. Inference is a dictionary lookup per n-gram (no numpy, no torch).
The artifact is gzip-compressed JSON; a missing or malformed artifact raises ValueError (the check
must never run with a half-loaded model).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

FORMAT = "hegui-char-ngram-lr/1"
BUNDLED_ARTIFACT = "cold_char_ngram_lr.json.gz"


def normalize(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: cheap folding that training and inference share."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def ngrams(text: str, low: int, high: int) -> set[str]:
    """The distinct character n-grams (low..high) of the normalized text."""
    t = normalize(text)
    return {t[i : i + n] for n in range(low, high + 1) for i in range(len(t) - n + 1)}


@dataclass(frozen=True, slots=True)
class Score:
    probability: float
    #: The n-grams that pushed the score up most, for the finding's explanation.
    top_ngrams: tuple[str, ...]


class NgramModel:
    """Immutable after loading; safe to share between threads."""

    def __init__(self, data: Mapping[str, Any], *, source: str, raw: bytes | None = None) -> None:
        """``raw``: the artifact's bytes as stored, when loaded from a file; the version is their digest
        (hashing the bytes is cheaper than re-encoding the weights, a tenth of a second at start-up)."""
        try:
            if data["format"] != FORMAT:
                raise ValueError(f"unsupported format {data['format']!r}")
            self.low, self.high = (int(n) for n in data["ngram_range"])
            self.bias = float(data["bias"])
            self.threshold = float(data["threshold"])
            self.weights: dict[str, float] = {str(k): float(w) for k, w in data["weights"].items()}
            self.metrics: dict[str, Any] = dict(data.get("metrics", {}))
            self.trained_on: str = str(data.get("trained_on", ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"classifier artifact {source} is malformed: {exc}") from None
        if not 1 <= self.low <= self.high <= 8 or not self.weights:
            raise ValueError(f"classifier artifact {source} is malformed: bad n-gram range or no weights")
        hashed = raw if raw is not None else json.dumps(data["weights"], sort_keys=True).encode()
        digest = hashlib.sha256(hashed).hexdigest()
        self.version = f"{FORMAT}:{digest[:12]}"

    @classmethod
    def load(cls, path: Path | None = None) -> NgramModel:
        """The artifact at ``path``, or the bundled COLD model."""
        try:
            if path is None:
                raw = resources.files("hegui.guard.classifier").joinpath(BUNDLED_ARTIFACT).read_bytes()
                source = f"<bundled {BUNDLED_ARTIFACT}>"
            else:
                raw, source = path.read_bytes(), str(path)
            data = json.loads(gzip.decompress(raw).decode("utf-8"))
        except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot load classifier artifact {path or BUNDLED_ARTIFACT}: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"classifier artifact {source} is malformed: not an object")
        return cls(data, source=source, raw=raw)

    def score(self, text: str) -> Score:
        grams = ngrams(text, self.low, self.high)
        if not grams:
            return Score(1.0 / (1.0 + math.exp(-self.bias)), ())
        scale = 1.0 / math.sqrt(len(grams))
        hits = [(g, w) for g in grams if (w := self.weights.get(g)) is not None]
        z = self.bias + scale * sum(w for _, w in hits)
        z = max(-60.0, min(60.0, z))
        top = tuple(g for g, w in sorted(hits, key=lambda gw: -gw[1])[:3] if w > 0)
        return Score(1.0 / (1.0 + math.exp(-z)), top)
