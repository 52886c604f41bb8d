"""The artifact of a judgement model: a linear (softmax) model over the hashed n-grams of `features`.

Two forms. *Dense* (format ``hegui-hashed-ngram-linear/1``, every artifact before 2026-11-30): one weight
row per hash bucket (``2**buckets_log2`` rows, at most 2^24), so an n-gram no training text holds scores
with the weight its bucket learned from others. *Explicit vocabulary* (format
``hegui-vocab-ngram-linear/1``): ``vocab`` lists the n-gram hash ids (``buckets_log2`` bits, up to 32)
that have a weight row, one row each; an id not in it counts nothing. The ids are looked up with
`hegui.guard.judge.idtable.IdTable` (an exact open-addressing table; a binary search was ten times slower).

One ``.npz`` file (numpy's zip of arrays, read with ``allow_pickle=False``) holds

* ``weights``: ``[buckets x classes]`` (dense) or ``[len(vocab) x classes]`` float16, ``bias``:
  ``[classes]`` float32, and for the vocabulary form ``vocab``: uint32 ids, in row order (the trainer
  writes the most frequent first: the table then finds them at their home slot);
* ``meta``: UTF-8 JSON with the format name, the class names, the feature config, the thresholds per
  preset (``strict`` / ``balanced`` / ``lenient``, each a mapping such as ``{"refuse": 0.7, "evidence":
  0.4}``), the metrics measured when it was trained, the data sources and anything else the trainer notes.

The version is a hash of the weights, the bias and the meta. A missing file, a wrong format, a shape that
does not match the config or a missing preset raises ValueError: a check never runs half-loaded.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hegui.guard.judge.artifact import ARTIFACT_ERRORS, read_artifact, write_artifact
from hegui.guard.judge.features import FeatureConfig, Features, featurize
from hegui.guard.judge.idtable import IdTable

FORMAT = "hegui-hashed-ngram-linear/1"
FORMAT_VOCAB = "hegui-vocab-ngram-linear/1"
#: A dense model has one row per bucket: more than 2^24 rows is not a model but a mistake.
DENSE_MAX_LOG2 = 24
PRESETS = ("strict", "balanced", "lenient")
PACKAGE = "hegui.guard.judge"

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class WindowScores:
    """Class probabilities per window of one text."""

    features: Features
    #: ``[windows x classes]``, rows sum to 1.
    probabilities: Matrix
    #: ``[positions x lengths]``: the weight row of every n-gram (the zero row when it is invalid or,
    #: with a vocabulary, unknown).
    rows: npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class TopNgram:
    text: str
    weight: float


@dataclass(slots=True)
class LinearModel:
    """Immutable after loading; safe to share between threads."""

    classes: tuple[str, ...]
    weights: Matrix
    bias: Matrix
    config: FeatureConfig
    thresholds: dict[str, dict[str, float]]
    metrics: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    #: The explicit vocabulary (uint32 n-gram hash ids, one per weight row), or None for a dense model.
    vocab: npt.NDArray[np.uint32] | None = None
    _padded: Matrix = field(init=False, repr=False)
    _table: IdTable | None = field(init=False, repr=False)
    #: Each n-gram length's factor (`FeatureConfig.order_scale`), or None when all are 1.
    _scale: Matrix | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            raise ValueError("a model needs at least two distinct classes")
        self._table = None
        self._scale = self.config.order_scale()
        if self.vocab is None:
            if self.config.buckets_log2 > DENSE_MAX_LOG2:
                raise ValueError(f"a dense model has at most 2^{DENSE_MAX_LOG2} buckets")
            rows = self.config.buckets
        else:
            if self.vocab.ndim != 1 or not len(self.vocab):
                raise ValueError("vocab must be a non-empty vector")
            if int(self.vocab.max()) >= self.config.buckets or int(self.vocab.min()) < 0:
                raise ValueError(f"vocab ids must be below 2^{self.config.buckets_log2}")
            self.vocab = self.vocab.astype(np.uint32)
            self._table = IdTable(self.vocab)  # raises ValueError on repeated ids
            rows = len(self.vocab)

        if self.weights.shape != (rows, len(self.classes)):
            raise ValueError(f"weights have shape {self.weights.shape}, expected {(rows, len(self.classes))}")
        if self.bias.shape != (len(self.classes),):
            raise ValueError(f"bias has shape {self.bias.shape}, expected ({len(self.classes)},)")
        if not np.all(np.isfinite(self.weights)) or not np.all(np.isfinite(self.bias)):
            raise ValueError("weights or bias are not finite")
        missing = [p for p in PRESETS if p not in self.thresholds]
        if missing:
            raise ValueError(f"no thresholds for presets {missing}")
        for preset, table in self.thresholds.items():
            for key, value in table.items():
                if not 0.0 < value < 1.0:
                    raise ValueError(f"threshold {preset}.{key} = {value} is not between 0 and 1")
        # One zero row after the last row (invalid and unknown n-grams point at it), and zero columns up to
        # a power of two: numpy's take copies a row of 32 bytes faster than one of 24, the six classes'
        # (153 against 105 µs for the four gathers of a 2,000-character prompt, 260 against 149 µs
        # with the caches cleared in between). The weights are a view.
        classes = len(self.classes)
        padded = np.zeros((len(self.weights) + 1, 1 << (classes - 1).bit_length()), np.float32)
        padded[:-1, :classes] = self.weights
        self._padded = padded
        self.weights = padded[:-1, :classes]

    # --- scoring ------------------------------------------------------------------------------------

    def rows_of(self, feats: Features) -> npt.NDArray[np.intp]:
        """The weight row of every n-gram of ``feats``; the zero row (``len(weights)``) when the n-gram is
        invalid or, with a vocabulary, not in it."""
        zero = len(self.weights)
        if self._table is None:
            return np.where(feats.valid, feats.buckets, zero)
        rows = self._table.lookup(feats.buckets.astype(np.uint32))
        np.putmask(rows, ~feats.valid, zero)
        return rows

    def score(self, text: str) -> WindowScores:
        """Class probabilities of every window of ``text`` (one window for a short text)."""
        feats = featurize(text, self.config)
        index = self.rows_of(feats)
        if len(feats.ends) == 1:
            return WindowScores(feats, self._one_window(feats, index), index)
        logits = self._window_logits(feats, index)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return WindowScores(feats, probs, index)

    def _one_window(self, feats: Features, index: npt.NDArray[np.intp]) -> Matrix:
        """The probabilities (``[1 x classes]``) of a text of one window, ``[0, length)``: the same
        arithmetic as the general path (`_window_logits` and the softmax in `score`), step for step and
        so bit for bit (a test holds them equal), in about half the numpy calls: most prompts a gateway
        sees are one window, and on them each numpy call costs more than its work."""
        logits = self._one_window_logits(feats, index)
        logits -= logits.max()
        np.exp(logits, out=logits)
        logits /= logits.sum()
        probs: Matrix = logits.astype(np.float32).reshape(1, -1)
        return probs

    def _one_window_logits(self, feats: Features, index: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """The logits (``[classes]``) of a text of one window, as `_window_logits` computes them:

        * per position, the weights of its n-grams added in float32 one length after the other: one
          gather of ``[lengths x positions x classes]`` reduced over the lengths (the same additions in
          the same order as `_per_position`; the array is at most a window long);
        * their float64 sum over the positions in order (the last value of `_window_logits`' running
          sum; a reduction over the outer axis adds the rows in order), over the square root of the
          number of valid n-grams, plus the bias.
        """
        if not len(index):
            return self.bias.astype(np.float64)
        gathered = self._padded.take(index.T, axis=0)
        if self._scale is not None:
            gathered *= self._scale[:, None, None]
        per_pos = gathered.sum(axis=0)
        total = np.add.reduce(per_pos[:, : len(self.classes)], axis=0, dtype=np.float64)
        total /= math.sqrt(max(int(np.count_nonzero(feats.valid)), 1))
        logits: npt.NDArray[np.float64] = total + self.bias
        return logits

    def _per_position(self, index: npt.NDArray[np.intp]) -> Matrix:
        """Per position: the sum of the weights of the valid n-grams that start there (an invalid or
        unknown entry points at the zero row appended after the last row), added in float32 one n-gram
        length after the other. One gather per length into a (positions, classes) array: four times
        faster on long texts than one gather into (positions, lengths, classes) summed after (less
        memory traffic)."""
        scale = self._scale
        per_pos = self._padded.take(index[:, 0], axis=0)
        if scale is None:
            for j in range(1, index.shape[1]):
                per_pos += self._padded.take(index[:, j], axis=0)
            return per_pos
        # Each length's weights times its factor, added in the same order as `_one_window_logits`.
        per_pos *= scale[0]
        for j in range(1, index.shape[1]):
            per_pos += self._padded.take(index[:, j], axis=0) * scale[j]
        return per_pos

    def _window_logits(self, feats: Features, index: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """The logits of every window: a difference of two running sums over positions per window, so
        the cost is O(length) for any number of windows. The denominator counts every valid n-gram,
        known or not, as training did."""
        n_classes = len(self.classes)
        if len(feats.ends) == 1 and feats.ends[0] == 0:
            return self.bias.reshape(1, n_classes).astype(np.float64)
        per_pos = self._per_position(index)
        sums = np.empty((len(per_pos) + 1, n_classes))
        sums[0] = 0.0
        np.cumsum(per_pos[:, :n_classes], axis=0, dtype=np.float64, out=sums[1:])
        # Valid n-grams before each position.
        counts = np.zeros(len(per_pos) + 1, dtype=np.int64)
        np.cumsum(feats.valid.sum(axis=1), out=counts[1:])
        starts, ends = feats.starts, feats.ends
        n = np.maximum(counts[ends] - counts[starts], 1).astype(np.float64)
        logits: npt.NDArray[np.float64] = (sums[ends] - sums[starts]) / np.sqrt(n)[:, None] + self.bias
        return logits

    def top_ngrams(
        self, scores: WindowScores, window: int, cls: int, against: int, k: int = 3
    ) -> list[TopNgram]:
        """The n-grams of one window that push class ``cls`` over class ``against`` most."""
        feats = scores.features
        start, end = int(feats.starts[window]), int(feats.ends[window])
        rows = scores.rows[start:end]
        push = self._padded[rows, cls] - self._padded[rows, against]  # 0 for invalid and unknown n-grams
        if self._scale is not None:
            push = push * self._scale
        flat = np.argsort(push, axis=None)[::-1]
        out: list[TopNgram] = []
        seen: set[str] = set()
        for f in flat[: 8 * k]:
            pos, col = divmod(int(f), rows.shape[1])
            value = float(push[pos, col])
            if value <= 0 or len(out) >= k:
                break
            gram = feats.ngram(start + pos, col, self.config)
            if gram not in seen:
                seen.add(gram)
                out.append(TopNgram(gram, round(value, 3)))
        return out

    # --- persistence --------------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT if self.vocab is None else FORMAT_VOCAB,
            "classes": list(self.classes),
            "features": self.config.to_json(),
            "thresholds": self.thresholds,
            "metrics": self.metrics,
            "sources": self.sources,
            "extra": self.extra,
        }

    def save(self, path: Path) -> None:
        """Write the artifact (float16 weights, compressed)."""
        arrays: dict[str, npt.NDArray[Any]] = {
            "weights": self.weights.astype(np.float16),
            "bias": self.bias.astype(np.float32),
        }
        if self.vocab is not None:
            arrays["vocab"] = self.vocab.astype(np.uint32)
        write_artifact(path, self.meta(), **arrays)

    @classmethod
    def from_bytes(cls, raw: bytes, source: str) -> LinearModel:
        try:
            art = read_artifact(raw, ("weights", "bias"), (FORMAT, FORMAT_VOCAB), optional=("vocab",))
            weights16, meta, meta_raw = art.arrays["weights"], art.meta, art.meta_raw
            vocab: npt.NDArray[np.uint32] | None = None
            if meta["format"] == FORMAT_VOCAB:
                vocab = art.arrays["vocab"]  # KeyError when absent: malformed
                if vocab.dtype != np.uint32:
                    raise ValueError(f"vocab has dtype {vocab.dtype}, expected uint32")
            elif "vocab" in art.arrays:
                raise ValueError(f"a {FORMAT} artifact has no vocab")
            bias = art.arrays["bias"].astype(np.float32)
            if weights16.dtype not in (np.float16, np.float32):
                raise ValueError(f"weights have dtype {weights16.dtype}")
            thresholds = {
                str(p): {str(k): float(v) for k, v in dict(t).items()}
                for p, t in dict(meta["thresholds"]).items()
            }
            model = cls(
                classes=tuple(str(c) for c in meta["classes"]),
                weights=weights16.astype(np.float32),
                bias=bias,
                config=FeatureConfig.from_json(meta["features"]),
                thresholds=thresholds,
                metrics=dict(meta.get("metrics", {})),
                sources=[str(s) for s in meta.get("sources", [])],
                extra=dict(meta.get("extra", {})),
                vocab=vocab,
            )
        except ARTIFACT_ERRORS as exc:
            raise ValueError(f"model artifact {source} is malformed: {exc}") from None
        digest = hashlib.sha256()
        digest.update(weights16.astype(np.float16).tobytes())
        digest.update(bias.tobytes())
        if vocab is not None:
            digest.update(vocab.tobytes())
        digest.update(meta_raw)
        model.version = f"{meta['format']}:{digest.hexdigest()[:12]}"
        return model

    @classmethod
    def load(cls, path: Path | None, bundled: str) -> LinearModel:
        """The artifact at ``path``, or the bundled one named ``bundled`` (loaded once per process and
        shared: the answer check and the prompt check use the same prompt model)."""
        if path is None:
            return _bundled(bundled)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot load model artifact {path}: {exc}") from None
        return cls.from_bytes(raw, str(path))

    def preset(self, name: str) -> Mapping[str, float]:
        try:
            return self.thresholds[name]
        except KeyError:
            raise ValueError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}") from None


@lru_cache(maxsize=8)
def _bundled(name: str) -> LinearModel:
    try:
        raw = resources.files(PACKAGE).joinpath(name).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot load model artifact {name}: {exc}") from None
    return LinearModel.from_bytes(raw, f"<bundled {name}>")
