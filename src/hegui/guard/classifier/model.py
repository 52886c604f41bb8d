"""The classifier's models and their loading.

Two artifact formats are read, told apart by their first bytes:

* ``.npz`` (a zip): the bundled comment model, hashed n-grams of the normalized text
  (`hegui.guard.classifier.hashed.HashedModel`, trained by ``scripts/train_classifier.py``);
* gzip-compressed JSON, format ``hegui-char-ngram-lr/1``: a vocabulary of character n-grams with a
  weight each (`NgramModel`, pure-Python inference: a dictionary lookup per n-gram). The model bundled
  before 2026-11-30 had this format; users' own artifacts of it keep working through ``model_path``.

A missing or malformed artifact raises ValueError (the check must never run with a half-loaded model).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from hegui.guard.classifier.scoring import Score, TextModel

FORMAT = "hegui-char-ngram-lr/1"
BUNDLED_ARTIFACT = "comments_hashed_lr.npz"
_ZIP_MAGIC = b"PK\x03\x04"


def normalize(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: cheap folding that training and inference share."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def ngrams(text: str, low: int, high: int) -> set[str]:
    """The distinct character n-grams (low..high) of the normalized text."""
    t = normalize(text)
    return {t[i : i + n] for n in range(low, high + 1) for i in range(len(t) - n + 1)}


def load_model(path: Path | None = None) -> TextModel:
    """The artifact at ``path`` (either format), or the bundled comment model (loaded once per process
    and shared: the classifier check and the persona check use the same one)."""
    if path is None:
        return _bundled()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot load classifier artifact {path}: {exc}") from None
    return _from_bytes(raw, str(path))


@lru_cache(maxsize=1)
def _bundled() -> TextModel:
    try:
        raw = resources.files("hegui.guard.classifier").joinpath(BUNDLED_ARTIFACT).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot load classifier artifact {BUNDLED_ARTIFACT}: {exc}") from None
    return _from_bytes(raw, f"<bundled {BUNDLED_ARTIFACT}>")


def _from_bytes(raw: bytes, source: str) -> TextModel:
    if raw.startswith(_ZIP_MAGIC):
        from hegui.guard.classifier.hashed import HashedModel  # numpy only for this format

        return HashedModel.from_bytes(raw, source)
    return NgramModel.from_bytes(raw, source)


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
    def load(cls, path: Path) -> NgramModel:
        """The gzip-JSON artifact at ``path`` (`load_model` reads either format)."""
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot load classifier artifact {path}: {exc}") from None
        return cls.from_bytes(raw, str(path))

    @classmethod
    def from_bytes(cls, raw: bytes, source: str) -> NgramModel:
        try:
            data = json.loads(gzip.decompress(raw).decode("utf-8"))
        except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot load classifier artifact {source}: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"classifier artifact {source} is malformed: not an object")
        return cls(data, source=source, raw=raw)

    def score(self, text: str, *, explain_from: float = 0.0) -> Score:
        del explain_from  # the strongest n-grams come from the sum already made: nothing to save
        grams = ngrams(text, self.low, self.high)
        if not grams:
            return Score(1.0 / (1.0 + math.exp(-self.bias)), ())
        scale = 1.0 / math.sqrt(len(grams))
        hits = [(g, w) for g in grams if (w := self.weights.get(g)) is not None]
        z = self.bias + scale * sum(w for _, w in hits)
        z = max(-60.0, min(60.0, z))
        top = tuple(g for g, w in sorted(hits, key=lambda gw: -gw[1])[:3] if w > 0)
        return Score(1.0 / (1.0 + math.exp(-z)), top)
