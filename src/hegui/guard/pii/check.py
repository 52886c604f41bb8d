"""The personal-information check: findings in category A.4f, masked in one of three styles.

Masking rewrites the span in the verdict's text (``full``: one mask character per character;
``partial``: keep the first three and last four of a long number, 138****5678; ``label``: a bracketed
name such as [手机号]). Reversible pseudonymization is not a mask: it needs a per-conversation vault,
so it lives in `hegui.guard.pii.pseudonym` and the egress stage calls it directly. This check must never
keep or log the values it finds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal

from hegui.guard.pii.analyzer import PIIAnalyzer
from hegui.guard.pii.recognizers import PIIMatch
from hegui.guard.types import Action, Context, Finding, Stage

MaskStyle = Literal["full", "partial", "label"]

#: GB/T 45654 A.4f: infringing personal-information rights.
PII_CATEGORY = "A.4f"


def partial_mask(match: PIIMatch, mask_char: str = "*") -> str:
    """Keep enough to recognise the value, hide the rest (the usual 138****5678 form)."""
    value = match.text
    if match.entity == "email":
        local, _, domain = value.rpartition("@")
        return local[:1] + mask_char * (len(local) - 1) + "@" + domain
    n = len(value)
    if n >= 11:
        return value[:3] + mask_char * (n - 7) + value[-4:]
    if n >= 4:
        return value[:1] + mask_char * (n - 2) + value[-1:]
    return value[:1] + mask_char * (n - 1)


class PIICheck:
    """Finds personal information with a `PIIAnalyzer`; horizon is the analyzer's longest span."""

    def __init__(
        self,
        name: str,
        analyzer: PIIAnalyzer | None = None,
        *,
        stages: Iterable[Stage] = (Stage.INPUT, Stage.OUTPUT),
        action: Action = Action.MASK,
        category: str = PII_CATEGORY,
        mask_style: MaskStyle = "partial",
        label_language: Literal["zh", "en"] = "zh",
        mask_char: str = "*",
    ) -> None:
        self.name = name
        self.analyzer = analyzer or PIIAnalyzer()
        self.stages = frozenset(stages)
        self.action = action
        self.category = category
        self.mask_style: MaskStyle = mask_style
        self.label_language = label_language
        self.mask_char = mask_char
        self.horizon: int | None = self.analyzer.horizon
        entities = ",".join(r.entity for r in self.analyzer.recognizers)
        self.version = "pii-1:" + hashlib.sha256(f"{entities}|{mask_style}".encode()).hexdigest()[:12]

    def holdback_at(self, text: str) -> int:
        """For a stream (`hegui.guard.stream`): the characters at the end of ``text`` that more text could
        still turn into a match or change (`PIIAnalyzer.holdback_at`); at most ``horizon - 1``."""
        return self.analyzer.holdback_at(text)

    def lookback_at(self, text: str, pos: int) -> int:
        """For a stream: how far before ``pos`` a match reaching ``text[pos:]`` can start
        (`PIIAnalyzer.lookback_at`); at most ``horizon``."""
        return self.analyzer.lookback_at(text, pos)

    def _replacement(self, m: PIIMatch) -> str | None:
        if self.mask_style == "full":
            return None
        if self.mask_style == "partial":
            return partial_mask(m, self.mask_char)
        rec = self.analyzer.by_entity[m.entity]
        return f"[{rec.label_zh if self.label_language == 'zh' else rec.label_en}]"

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        return [
            Finding(
                self.name,
                self.category,
                m.start,
                m.end,
                m.text,
                self.action,
                m.score,
                f"{m.entity}: {m.explanation}" + (" (sensitive)" if m.sensitive else ""),
                self._replacement(m),
            )
            for m in self.analyzer.analyze(text)
        ]
