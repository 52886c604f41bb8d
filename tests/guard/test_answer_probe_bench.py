"""The safe-answers probe (`benchmarks/data/safe_answers_zh.jsonl`) and its harness
(`benchmarks/answer_probe.py`): the probe stays apart from every training text, its reader names a bad
line, and the report marks issue 10's bar from the counts it is given."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    return load_benchmark("answer_probe")


def test_the_probe_is_pairs_of_distinct_requests(bench: ModuleType) -> None:
    pairs = bench.load_probe()
    assert len(pairs) >= 100
    assert len({p.prompt for p in pairs}) == len(pairs)
    assert all(p.prompt.strip() and p.response.strip() for p in pairs)


def test_no_probe_text_is_a_team_written_training_line(bench: ModuleType) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import guard_data
    finally:
        sys.path.remove(str(REPO / "scripts"))
    training = {
        guard_data.normalize_key(line)
        for name, _ in guard_data.TEAM_FILES
        for line in (guard_data.TEAM_ROOT / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    probe = {guard_data.normalize_key(t) for p in bench.load_probe() for t in (p.prompt, p.response)}
    assert not probe & training


def test_a_line_that_is_not_a_pair_is_named(bench: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "probe.jsonl"
    path.write_text('{"prompt": "问", "response": "答"}\n{"prompt": "问"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"probe\.jsonl:2:"):
        bench.load_probe(path)


def test_the_report_marks_the_bar_from_the_counts(bench: ModuleType) -> None:
    pairs = [bench.Pair(f"问{i}", "答" * (i + 1)) for i in range(20)]
    readings = [
        bench.Reading("two flagged", 2, Counter({"answer-model": 2}), 20),
        bench.Reading("three flagged", 3, Counter({"lexicon": 2, "answer-model": 1}), 19),
    ]
    rows = [line for line in bench.report(pairs, readings, 1.0) if line.startswith("| ")][1:]
    assert rows[0].startswith("| two flagged | 10.0% (2/20) | met | 100.0% | answer-model 2 |")
    assert rows[1].startswith(
        "| three flagged | 15.0% (3/20) | **not met** | 95.0% | lexicon 2; answer-model 1 |"
    )
