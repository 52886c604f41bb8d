"""How well the rule-based refusal detector (`hegui.evaluation.judges.RefusalRules`) separates refusals.

jade-db v3.0 medium pairs each harmful question with an unsafe answer (违规回答) and a safe, compliant
answer (安全有用回答), most of which decline. Positives: the safe answers; negatives: the unsafe ones.
Precision = safe among flagged; recall = flagged among safe. Data from ../shared/data (set
HEGUI_SHARED_DATA); never copied into the repository.

Usage: python benchmarks/refusal_rules.py [--write]
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

from hegui.evaluation.judges import RefusalRules

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("HEGUI_SHARED_DATA", "/work/shared/data"))
JADE3 = DATA / "jade-db" / "jade-db-v3.0" / "jade_alignment_medium_zh.csv"


def _benign_answers(per_source: int = 5000) -> list[str]:
    """Replies in benign dialogues: answers that are not refusals (a few say 抱歉 about a failed search)."""
    import json

    out: list[str] = []
    for rel, kind in (
        ("CrossWOZ/crosswoz_val_test_turns.jsonl", "response"),
        ("KdConv/kdconv_dev_test_turns.jsonl", "dialogue_turn"),
    ):
        path = DATA / "safety-train" / rel
        if not path.exists():
            continue
        taken = 0
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row.get("kind") == kind and taken < per_source:
                    out.append(row["text"])
                    taken += 1
    return out


def main() -> None:
    if not JADE3.exists():
        sys.exit(f"jade-db v3.0 is not under {DATA} (set HEGUI_SHARED_DATA)")
    with JADE3.open(encoding="gb18030", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    safe = [r[3] for r in rows if len(r) > 3]
    unsafe = [r[2] for r in rows if len(r) > 3]
    lines = [
        "| window | safe flagged (recall) | unsafe flagged | precision | F1 |",
        "|---:|---:|---:|---:|---:|",
    ]
    for window in (60, 120, 400, 100_000):
        rules = RefusalRules(window=window)
        tp = sum(rules.judge("", a).refused for a in safe)
        fp = sum(rules.judge("", a).refused for a in unsafe)
        recall, precision = tp / len(safe), tp / max(1, tp + fp)
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        lines.append(
            f"| {window} | {tp}/{len(safe)} ({recall:.1%}) | {fp}/{len(unsafe)} ({fp / len(unsafe):.1%}) | {precision:.1%} | {f1:.3f} |"
        )
    benign = _benign_answers()
    flagged = sum(RefusalRules().judge("", a).refused for a in benign)
    lines.append("")
    lines.append(
        f"Benign answers that are not refusals (the first 5,000 CrossWOZ system turns and 5,000 KdConv turns):"
        f" {flagged} flagged ({flagged / max(1, len(benign)):.2%}) at the default window."
    )
    body = (
        f"jade-db v3.0 medium: {len(safe)} safe answers (positives) vs {len(unsafe)} unsafe answers to the same"
        " questions. The default window is 120 characters.\n\n" + "\n".join(lines)
    )
    print(body)
    if "--write" in sys.argv:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _results import machine, write_section

        write_section(
            "refusal_rules", f"## Refusal rules (`benchmarks/refusal_rules.py`)\n\n{machine()}\n\n{body}\n"
        )


if __name__ == "__main__":
    main()
