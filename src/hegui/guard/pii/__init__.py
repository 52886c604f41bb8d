"""Personal information: recognizers, an analyzer, a masking check and reversible pseudonymization.

Pure: no I/O. Recognizers never see more than the text they are given, and nothing here keeps a value
beyond the call, except the `PseudonymVault` that the caller owns for the length of a conversation.
"""

from __future__ import annotations

from hegui.guard.pii.analyzer import BUILTIN, PIIAnalyzer, builtin_entities, recognizers_for
from hegui.guard.pii.check import PII_CATEGORY, PIICheck, partial_mask
from hegui.guard.pii.pseudonym import Pseudonymized, Pseudonymizer, PseudonymVault, StreamRestorer
from hegui.guard.pii.recognizers import PatternRecognizer, PIIMatch, Recognizer

__all__ = [
    "BUILTIN",
    "PII_CATEGORY",
    "PIIAnalyzer",
    "PIICheck",
    "PIIMatch",
    "PatternRecognizer",
    "PseudonymVault",
    "Pseudonymized",
    "Pseudonymizer",
    "Recognizer",
    "StreamRestorer",
    "builtin_entities",
    "partial_mask",
    "recognizers_for",
]
