"""What every classifier model gives and what its users need of it: one module below both formats
(`model.NgramModel`, `hashed.HashedModel`), so that neither imports the other's module to share them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Score:
    probability: float
    #: The n-grams that pushed the score up most, for the finding's explanation.
    top_ngrams: tuple[str, ...]


class TextModel(Protocol):
    """What the classifier check and the persona check need of a model."""

    threshold: float
    version: str
    metrics: dict[str, Any]

    @property
    def trained_on(self) -> str: ...

    def score(self, text: str, *, explain_from: float = 0.0) -> Score:
        """P(offensive) of ``text``; its strongest n-grams only when the probability reaches
        ``explain_from`` (a caller that reports nothing below its threshold need not pay for them)."""
        ...
