"""Propagation mode for platforms that receive content (LBL 6, LBL-19).

A platform that publishes received content writes its own propagator fields and shows a notice:
metadata says AI → "is AI" (Label kept); no metadata but the user declares AI → "possibly AI" (Label "2");
no metadata but traces detected → "suspected AI" (Label "3"). Without metadata the producer is unknown,
so the platform's own code and id stand in for it (documented in docs/labels.md). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hegui.label.implicit import AigcLabel, LabelError, ParsedLabel

Basis = Literal["metadata", "declared", "detected"]
NOTICES = {
    "1": "该内容为人工智能生成 (is AI-generated)",
    "2": "该内容可能为人工智能生成 (possibly AI-generated)",
    "3": "该内容疑似人工智能生成 (suspected AI-generated)",
}


@dataclass(frozen=True)
class Propagation:
    label: AigcLabel
    basis: Basis
    notice: str


def propagate(
    found: list[ParsedLabel],
    propagator: str,
    propagate_id: str,
    *,
    declared: bool = False,
    detected: bool = False,
) -> Propagation:
    """The label a receiving platform writes, and the notice it must show."""
    valid = [p for p in found if p.ok]
    if len(found) > 1:
        raise LabelError(f"LBL-05: the file carries {len(found)} AIGC labels; refusing to pick one")
    if valid:
        label = valid[0].label().propagate(propagator, propagate_id)
        return Propagation(label, "metadata", NOTICES[label.Label])
    if found:
        reasons = "; ".join(f"{i.requirement}: {i.reason}" for i in found[0].issues)
        raise LabelError(f"the file's AIGC label is invalid ({reasons}); it is not propagated as it is")
    if declared or detected:
        value = "2" if declared else "3"
        label = AigcLabel(
            Label=value,
            ContentProducer=propagator,
            ProduceID=propagate_id,
            ContentPropagator=propagator,
            PropagateID=propagate_id,
        )
        return Propagation(label, "declared" if declared else "detected", NOTICES[value])
    raise LabelError("no AIGC metadata, no user declaration and no detected traces: nothing to propagate")
