"""The unit of `hegui assess`: one item of one life-cycle node, with its verdict and evidence.

Kept apart from the assessment so that the checks over the records (`assess_records`) and over saved
outputs (`assess_labels`) can build findings without importing the assessment that calls them.
"""

from __future__ import annotations

from dataclasses import dataclass

NODES = ("data content", "data set", "code and algorithm", "model", "product", "generated content")
COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, GAP = "compliant", "non-compliant", "not-applicable", "gap"
#: Every verdict an item can have. ``gap``: the evidence was not given, and ``detail`` says what would
#: close it; ``not-applicable``: the duty does not arise here, and ``detail`` says why.
VERDICTS = (COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, GAP)


@dataclass(frozen=True, slots=True)
class Finding:
    node: str
    item: str
    verdict: str
    detail: str
    evidence: str = ""
