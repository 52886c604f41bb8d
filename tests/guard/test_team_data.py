"""The team-written training requests (scripts/team_data) stay apart from the probes that measure the
guard: no training line may equal a probe line once normalized, or the probes would stop measuring
what no training text holds."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBES = REPO / "benchmarks" / "data"


@pytest.fixture(scope="module")
def guard_data() -> ModuleType:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import guard_data
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return guard_data


def _probe_texts() -> list[str]:
    texts: list[str] = []
    for name in ("everyday_zh.txt", "requests_form_zh.txt", "refusals_zh.txt"):
        lines = (PROBES / name).read_text(encoding="utf-8").splitlines()
        texts += [line for line in lines if line.strip() and not line.startswith("#")]
    for name in ("sensitive_qa_zh.jsonl", "safe_answers_zh.jsonl"):
        for line in (PROBES / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                pair = json.loads(line)
                texts += [pair["prompt"], pair["response"]]
    return texts


def test_team_requests_are_benign_prompts_split_like_every_set(guard_data: ModuleType) -> None:
    rows = list(guard_data.team_requests(guard_data.TEAM_ROOT))
    sources = dict(guard_data.TEAM_FILES)
    assert len(rows) >= 1000
    assert {r.source for r in rows} == set(sources.values())
    assert {(r.label, r.kind, r.risk) for r in rows} == {("benign", "prompt", "")}
    dev = sum(r.split == "dev" for r in rows) / len(rows)
    assert 0.12 < dev < 0.28  # the group hash's ~20 %
    assert all(r.split == guard_data.split_of(guard_data.normalize_key(r.text)) for r in rows)


def test_no_team_request_is_a_probe_line(guard_data: ModuleType) -> None:
    probes = {guard_data.normalize_key(t) for t in _probe_texts()}
    assert len(probes) > 300
    rows = [
        *guard_data.team_requests(guard_data.TEAM_ROOT),
        *guard_data.team_harmful(guard_data.TEAM_ROOT),
        *guard_data.team_harmful(guard_data.TEAM_ROOT, guard_data.TEAM_ROUND2_HARMFUL),
        *guard_data.team_requests(guard_data.TEAM_ROOT, guard_data.TEAM_ROUND2_BENIGN),
    ]
    team = {guard_data.normalize_key(r.text): r.text for r in rows}
    assert sorted(text for key, text in team.items() if key in probes) == []


def test_team_harmful_requests_are_harmful_prompts_of_a_risk_class(guard_data: ModuleType) -> None:
    rows = [
        *guard_data.team_harmful(guard_data.TEAM_ROOT),
        *guard_data.team_harmful(guard_data.TEAM_ROOT, guard_data.TEAM_ROUND2_HARMFUL),
    ]
    assert len(rows) >= 800
    assert {(r.label, r.kind, r.source) for r in rows} == {("harmful", "prompt", "team-harmful")}
    assert {r.risk for r in rows} <= {"A.1", "A.2", "A.3", "A.4", "A.5"} and len({r.risk for r in rows}) >= 4
    assert all(r.split == guard_data.split_of(guard_data.normalize_key(r.text)) for r in rows)
    benign = {
        guard_data.normalize_key(r.text)
        for files in (guard_data.TEAM_FILES, guard_data.TEAM_ROUND2_BENIGN)
        for r in guard_data.team_requests(guard_data.TEAM_ROOT, files)
    }
    assert not benign & {guard_data.normalize_key(r.text) for r in rows}
    assert len({guard_data.normalize_key(r.text) for r in rows}) == len(rows)  # no request twice


def test_the_sixth_round_is_fitted_only_when_asked_for(
    guard_data: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    for reader in ("_safety_train", "_jade", "_cold"):  # the data sets: not this test's subject
        monkeypatch.setattr(guard_data, reader, lambda root: iter(()))

    def team(rounds: int) -> Counter[str]:
        rows = guard_data.load_inputs(team_root=guard_data.TEAM_ROOT, with_team_harmful=rounds)
        return Counter(f"{r.source}/{r.label}" for r in rows)

    none, first, both = team(0), team(1), team(2)
    assert "team-harmful/harmful" not in none
    assert (
        first["team-harmful/harmful"] == 600
        and first["team-sensitive/benign"] == none["team-sensitive/benign"]
    )
    assert both["team-harmful/harmful"] == 600 + 320
    assert both["team-sensitive/benign"] == first["team-sensitive/benign"] + 200


def test_a_harmful_line_without_its_class_is_named(guard_data: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "h.tsv").write_text("A.1\t一\n没有类别的一行\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"h\.tsv:2:"):
        list(guard_data.team_harmful(tmp_path, (("h.tsv", "team-harmful"),)))


def test_a_missing_team_file_is_named(guard_data: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(guard_data.DataMissing, match=r"everyday_a_zh\.txt"):
        list(guard_data.team_requests(tmp_path))


def test_team_safe_answers_answer_the_team_harmful_requests(guard_data: ModuleType) -> None:
    pairs = list(guard_data.team_answers(guard_data.TEAM_ROOT))
    assert len(pairs) >= 400
    harmful = {guard_data.normalize_key(r.text) for r in guard_data.team_harmful(guard_data.TEAM_ROOT)}
    assert all(guard_data.normalize_key(prompt) in harmful for prompt, _ in pairs)
    probes = {guard_data.normalize_key(t) for t in _probe_texts()}
    assert sorted(answer for _, answer in pairs if guard_data.normalize_key(answer) in probes) == []
    answers = [a for a in guard_data.load_answers(team_root=guard_data.TEAM_ROOT) if a.source == "team-safe"]
    assert len(answers) == len(pairs)
    assert {(a.label, a.kind) for a in answers} == {("safe", "refusal")}
    # split by the question, as the question itself is: no question's answer is fitted while it is dev
    assert all(a.split == guard_data.split_of(guard_data.normalize_key(a.prompt)) for a in answers)


def test_a_bad_answer_line_is_named(guard_data: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"prompt": "问", "response": "答"}\n{"prompt": "问"}\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"a\.jsonl:2:"):
        list(guard_data.team_answers(tmp_path, ("a.jsonl",)))
