"""The bundled comment model: character n-grams of the normalized text with an explicit vocabulary.

Features come from the one featurizer of the judgement models (`hegui.guard.judge.features`:
`hegui.text.normalize`, then character 1–4-grams hashed), so an evasion variant of a comment
(traditional characters, full-width, homoglyphs, separators) scores as the plain comment does. Unlike the
judgement models' dense tables, the hash space is large (2^24) and only the n-grams seen in at least two
training texts have a weight: the artifact stores their hashes, sorted, with one weight each. An n-gram
never seen in training contributes nothing, instead of the weight of whatever seen n-grams share its
bucket (with 2^18 buckets an unseen n-gram of an everyday request could score like a harmful one).

The vocabulary is looked up with `hegui.guard.judge.idtable.IdTable`, the exact hash table the prompt
model uses too (one implementation; it replaced a binary search with ``np.searchsorted``).

Artifact (``.npz``, read with ``allow_pickle=False``): ``vocab`` (int64, sorted, distinct bucket ids),
``weights`` (float16, one per vocabulary entry), ``meta`` (UTF-8 JSON: format, feature config, bias,
threshold, metrics, sources). Trained by ``scripts/train_classifier.py``; see NOTICE.md for the data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hegui.guard.classifier.scoring import Score
from hegui.guard.judge.artifact import ARTIFACT_ERRORS, read_artifact, write_artifact
from hegui.guard.judge.features import FeatureConfig, Features, featurize
from hegui.guard.judge.idtable import IdTable

FORMAT = "hegui-comment-vocab-lr/1"


@dataclass(slots=True)
class HashedModel:
    """Immutable after loading; safe to share between threads."""

    config: FeatureConfig
    #: Sorted, distinct bucket ids of the n-grams that have a weight.
    vocab: npt.NDArray[np.int64]
    weights: npt.NDArray[np.float32]
    bias: float
    threshold: float
    metrics: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    _table: IdTable = field(init=False, repr=False)
    #: The weights and one zero after them (the row of an unknown n-gram).
    _padded: npt.NDArray[np.float32] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.vocab.ndim != 1 or self.weights.shape != self.vocab.shape or not len(self.vocab):
            raise ValueError("vocab and weights must be equal, non-empty vectors")
        if np.any(np.diff(self.vocab) <= 0) or self.vocab[0] < 0 or self.vocab[-1] >= self.config.buckets:
            raise ValueError("vocab must be sorted, distinct bucket ids")
        if not np.all(np.isfinite(self.weights)) or not np.isfinite(self.bias):
            raise ValueError("weights or bias are not finite")
        self._table = IdTable(self.vocab)
        self._padded = np.append(self.weights.astype(np.float32), np.float32(0.0))
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold {self.threshold} is not between 0 and 1")

    @property
    def trained_on(self) -> str:
        return "; ".join(self.sources)

    # --- scoring ------------------------------------------------------------------------------------

    def _weights_of(self, feats: Features) -> npt.NDArray[np.float32]:
        """``[positions x lengths]``: the weight of every n-gram (0 when invalid or not in the vocabulary)."""
        rows = self._table.lookup(feats.buckets.astype(np.uint32))
        np.putmask(rows, ~feats.valid, self._table.missing)
        return self._padded[rows]

    def score(self, text: str, *, explain_from: float = 0.0) -> Score:
        """P(offensive) of the text's highest-scoring window (texts up to a window are one window); the
        strongest n-grams only when it reaches ``explain_from`` (finding them costs 0.09–0.14 ms, more
        than the scoring of a comment)."""
        feats = featurize(text, self.config)
        per = self._weights_of(feats)
        best_z, best = self.bias, -1
        for i, (start, end) in enumerate(zip(feats.starts, feats.ends, strict=True)):
            n = int(feats.valid[start:end].sum())
            if n:
                z = self.bias + float(per[start:end].sum()) / float(np.sqrt(n))
                if best < 0 or z > best_z:
                    best_z, best = z, i
        probability = 1.0 / (1.0 + float(np.exp(-min(max(best_z, -60.0), 60.0))))
        return Score(probability, self._top(feats, per, best) if probability >= explain_from else ())

    def _top(self, feats: Features, per: npt.NDArray[np.float32], window: int, k: int = 3) -> tuple[str, ...]:
        if window < 0:
            return ()
        start, end = int(feats.starts[window]), int(feats.ends[window])
        rows = per[start:end]
        out: list[str] = []
        for flat in np.argsort(rows, axis=None)[::-1][: 8 * k]:
            pos, col = divmod(int(flat), rows.shape[1])
            if rows[pos, col] <= 0 or len(out) >= k:
                break
            gram = feats.ngram(start + pos, col, self.config)
            if gram not in out:
                out.append(gram)
        return tuple(out)

    # --- persistence --------------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": self.config.to_json(),
            "bias": self.bias,
            "threshold": self.threshold,
            "metrics": self.metrics,
            "sources": self.sources,
            "extra": self.extra,
        }

    def save(self, path: Path) -> None:
        write_artifact(
            path, self.meta(), vocab=self.vocab.astype(np.int64), weights=self.weights.astype(np.float16)
        )

    @classmethod
    def from_bytes(cls, raw: bytes, source: str) -> HashedModel:
        try:
            art = read_artifact(raw, ("vocab", "weights"), FORMAT)
            vocab, weights16, meta, meta_raw = (
                art.arrays["vocab"],
                art.arrays["weights"],
                art.meta,
                art.meta_raw,
            )
            if vocab.dtype != np.int64 or weights16.dtype not in (np.float16, np.float32):
                raise ValueError(f"vocab or weights have the wrong dtype ({vocab.dtype}, {weights16.dtype})")
            model = cls(
                config=FeatureConfig.from_json(meta["features"]),
                vocab=vocab,
                weights=weights16.astype(np.float32),
                bias=float(meta["bias"]),
                threshold=float(meta["threshold"]),
                metrics=dict(meta.get("metrics", {})),
                sources=[str(s) for s in meta.get("sources", [])],
                extra=dict(meta.get("extra", {})),
            )
        except ARTIFACT_ERRORS as exc:
            raise ValueError(f"classifier artifact {source} is malformed: {exc}") from None
        digest = hashlib.sha256()
        digest.update(vocab.tobytes())
        digest.update(weights16.astype(np.float16).tobytes())
        digest.update(meta_raw)
        model.version = f"{FORMAT}:{digest.hexdigest()[:12]}"
        return model
