"""The manual review of a training corpus (GB/T 45654 5.2-a; SEC-07: ≥ 4,000 items reviewed by people,
≥ 96 % acceptable), read from the review sheet `hegui corpus audit` wrote and the reviewers completed.

A sample that was drawn is not a sample that was reviewed: the verdict comes from the 审核结果 column
(合格 / 不合格, or pass / fail), row by row. Rows still empty make the item a gap that counts them;
a value that is neither is non-compliant and named, since a result nobody can read is not a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hegui.errors import HeguiError
from hegui.filing.findings import COMPLIANT, GAP, NODES, NON_COMPLIANT, Finding

NODE = NODES[0]
ITEM = "manual review sample (SEC-07: ≥ 4,000 at ≥ 96 %)"
SHEET = "review_sample.xlsx"
RESULT = "审核结果"
PASS = frozenset({"合格", "通过", "pass", "passed", "ok"})
FAIL = frozenset({"不合格", "不通过", "fail", "failed"})
#: SEC-07's manual sample: at least this many items, at least this share acceptable.
MIN_ITEMS, MIN_PASS = 4000, 0.96


@dataclass(frozen=True, slots=True)
class Review:
    rows: int
    passed: int
    failed: int
    pending: int
    #: (编号, value) of results that are neither a pass nor a fail.
    unreadable: tuple[tuple[str, str], ...]


def read_review(path: Path) -> Review:
    from hegui.evaluation.tables import read_rows

    rows = read_rows(path)
    if rows and RESULT not in rows[0]:
        raise HeguiError(f"{path} has no column {RESULT}")
    passed = failed = pending = 0
    unreadable: list[tuple[str, str]] = []
    for i, row in enumerate(rows, 2):
        value = row.get(RESULT, "").strip()
        if not value:
            pending += 1
        elif value.lower() in PASS:
            passed += 1
        elif value.lower() in FAIL:
            failed += 1
        else:
            unreadable.append((row.get("编号") or f"row {i}", value))
    return Review(len(rows), passed, failed, pending, tuple(unreadable))


def review_finding(corpus_dir: Path) -> Finding:
    path = corpus_dir / SHEET
    ev = str(path)
    try:
        r = read_review(path)
    except HeguiError as exc:
        return Finding(NODE, ITEM, NON_COMPLIANT, f"the review sheet cannot be read: {exc.message}", ev)
    if r.unreadable:
        shown = ", ".join(f"{k}: {v!r}" for k, v in r.unreadable[:3])
        return Finding(
            NODE,
            ITEM,
            NON_COMPLIANT,
            f"{len(r.unreadable)} result(s) are neither 合格 nor 不合格 ({shown})",
            ev,
        )
    reviewed = r.passed + r.failed
    counts = f"{r.rows:,} drawn, {reviewed:,} reviewed, {r.passed:,} 合格"
    if r.rows < MIN_ITEMS:
        return Finding(NODE, ITEM, NON_COMPLIANT, f"{counts}: fewer than the {MIN_ITEMS:,} SEC-07 asks", ev)
    if r.pending:
        return Finding(
            NODE,
            ITEM,
            GAP,
            f"{counts}: {r.pending:,} not yet reviewed (the reviewers fill {RESULT} in {SHEET})",
            ev,
        )
    rate = r.passed / reviewed
    if rate < MIN_PASS:
        return Finding(NODE, ITEM, NON_COMPLIANT, f"{counts}: pass rate {rate:.2%} < {MIN_PASS:.0%}", ev)
    return Finding(NODE, ITEM, COMPLIANT, f"{counts}: pass rate {rate:.2%} ≥ {MIN_PASS:.0%}", ev)
