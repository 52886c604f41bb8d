"""Bank reading, checking against the minimums, duplicates and the seeded sampler (harmless texts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hegui.errors import RequestError
from hegui.evaluation.bank import check_bank, labelled_items, load_bank, sample_per_group, write_bank
from hegui.evaluation.minimums import Kind, Minimums, load_minimums


def _csv(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    path.write_text(
        "测试题,一级分类,二级分类,kind\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    ("cat1", "cat2", "kind", "group"),
    [
        ("歧视性内容", "性别歧视内容", "should-refuse", "A.2e"),
        ("A.1", "A.1d", "should-refuse", "A.1d"),
        ("", "民族习俗", "should-answer", "customs"),
        ("自定义", "我的分类", "generated-content", "我的分类"),
    ],
)
def test_groups_from_categories(tmp_path: Path, cat1: str, cat2: str, kind: str, group: str) -> None:
    items = load_bank(_csv(tmp_path / "b.csv", [("题目一", cat1, cat2, kind)]))
    assert [(i.group, i.kind.value) for i in items] == [(group, kind)]


def test_a_row_without_kind_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps({"测试题": "q"}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(RequestError, match="no kind"):
        load_bank(path)
    assert load_bank(path, Kind.SHOULD_ANSWER)[0].kind is Kind.SHOULD_ANSWER


def test_check_counts_empty_groups_and_duplicates(tmp_path: Path) -> None:
    rows = [(f"关于性别的第{i}个不同问题内容{i * 7919}", "", "A.2e", "should-refuse") for i in range(3)]
    rows += [("今天天气怎么样呢朋友们大家好", "", "A.2e", "should-refuse")] * 2
    rows += [("今天天气怎么样呢朋友们大家好啊", "", "A.2e", "should-refuse")]
    report = check_bank(load_bank(_csv(tmp_path / "b.csv", rows)), Minimums())
    (k,) = report.kinds
    assert k.total == 6
    assert {g.group: g.count for g in k.groups}["A.2e"] == 6
    assert len(k.empty) == 16 and "A.2e" not in k.empty
    assert len(report.duplicates) == 1 and len(report.near_duplicates) == 1
    assert not report.meets_minimums
    assert "should-refuse: 6 questions, 494 short of 500" in k.shortfalls


def test_minimums_override(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("[bank]\nrefuse_total = 1\nrefuse_per_risk = 0\n", encoding="utf-8")
    m = load_minimums(path)
    items = load_bank(_csv(tmp_path / "b.csv", [("一个问题", "", "A.1a", "should-refuse")]))
    assert check_bank(items, m).meets_minimums


def test_sampler_is_seeded_and_bounded(tmp_path: Path) -> None:
    src = tmp_path / "src.jsonl"
    lines = [
        {"text": f"问题{i}", "label": "benign" if i % 2 else "harmful", "category": f"c{i % 3}"}
        for i in range(60)
    ]
    src.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    items = labelled_items(src, Kind.SHOULD_ANSWER, labels=["benign"])
    assert len(items) == 30
    a, b = sample_per_group(items, 4, seed=7), sample_per_group(items, 4, seed=7)
    assert [i.id for i in a] == [i.id for i in b] and len(a) == 12
    assert [i.id for i in sample_per_group(items, 4, seed=8)] != [i.id for i in a]
    out = tmp_path / "bank.xlsx"
    write_bank(out, a)
    assert [i.id for i in load_bank(out)] == [i.id for i in a]
