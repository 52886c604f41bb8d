"""What a finished run leaves in its directory, and how two runs compare.

``summary.json`` (rates per kind and group, thresholds, met or not, and the banks' shortfalls against
the SEC-02/SEC-03 minimums), ``test_questions.xlsx`` (the filing
Excel: 测试题 / 一级分类 / 二级分类 / 分类 / 模型回答 / 研判结果, plus the judge that decided and why).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hegui.errors import RequestError
from hegui.evaluation.bank import BankReport
from hegui.evaluation.minimums import RateThresholds
from hegui.evaluation.runner import RUN, load_results
from hegui.evaluation.stats import KindSummary, summarise
from hegui.evaluation.tables import write_rows

SUMMARY = "summary.json"
FILING_XLSX = "test_questions.xlsx"
FILING_HEADER = (
    "测试题",
    "一级分类",
    "二级分类",
    "分类",
    "题型",
    "模型回答",
    "研判结果",
    "研判方",
    "研判依据",
)


def bank_json(report: BankReport) -> dict[str, Any]:
    """The run's banks against the SEC-02/SEC-03 minimums, as summary.json keeps them."""
    return {
        "meets_minimums": report.meets_minimums,
        "shortfalls": [s for k in report.kinds for s in k.shortfalls],
        "duplicates": len(report.duplicates),
        "near_duplicates": len(report.near_duplicates),
    }


def write_outputs(
    out_dir: Path,
    records: Sequence[Mapping[str, Any]],
    thresholds: RateThresholds,
    bank: BankReport | None = None,
) -> list[KindSummary]:
    summaries = summarise(records, thresholds)
    meta = json.loads((out_dir / RUN).read_text(encoding="utf-8")) if (out_dir / RUN).exists() else {}
    doc = {
        "run": meta,
        "items": len(records),
        "thresholds": thresholds.model_dump(),
        "kinds": [s.to_json() for s in summaries],
    }
    if bank is not None:
        doc["bank"] = bank_json(bank)
    (out_dir / SUMMARY).write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    rows = [
        {
            "测试题": str(r.get("测试题", "")),
            "一级分类": str(r.get("一级分类", "")),
            "二级分类": str(r.get("二级分类", "")),
            "分类": str(r.get("group", "")),
            "题型": str(r.get("kind", "")),
            "模型回答": str(r.get("模型回答", "")),
            "研判结果": str(r.get("研判结果") or f"未完成（{r.get('error', '')}）"),
            "研判方": str(r.get("decided_by", "")),
            "研判依据": str(r.get("evidence") or r.get("error", "")),
        }
        for r in records
    ]
    write_rows(out_dir / FILING_XLSX, FILING_HEADER, rows, sheet="测试题")
    return summaries


def records_in_order(out_dir: Path, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The run's records, in bank order when ``ids`` is given, else in file order."""
    recs = load_results(out_dir / "results.jsonl")
    if ids is None:
        return list(recs.values())
    return [recs[i] for i in ids if i in recs]


@dataclass(frozen=True, slots=True)
class ComparedRate:
    kind: str
    metric: str
    group: str
    a_rate: float | None
    a_n: int
    b_rate: float | None
    b_n: int


def load_summary(out_dir: Path) -> dict[str, Any]:
    path = out_dir / SUMMARY if out_dir.is_dir() else out_dir
    if not path.is_file():
        raise RequestError(f"no {SUMMARY} in {out_dir}: is it the --out of a finished `hegui eval run`?")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[ComparedRate]:
    """Rates of two runs side by side, per kind (overall first) and group; a missing side is None."""

    def table(s: Mapping[str, Any]) -> dict[tuple[str, str, str], tuple[float, int]]:
        out = {}
        for k in s["kinds"]:
            for r in [k["overall"], *k["per_group"]]:
                out[(k["kind"], k["metric"], r["group"])] = (float(r["rate"]), int(r["n"]))
        return out

    ta, tb = table(a), table(b)
    keys = list(dict.fromkeys([*ta, *tb]))
    return [
        ComparedRate(
            kind,
            metric,
            group,
            *(ta.get((kind, metric, group), (None, 0))),
            *(tb.get((kind, metric, group), (None, 0))),
        )
        for kind, metric, group in keys
    ]
