"""works_overlap: planted copies (verbatim and lightly edited) are caught, whole and streamed (every edit
in 1-, 7- and 64-character chunks); other text and paraphrase-level rewrites pass, whole and streamed. The corpus is synthetic (tests/works/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import opencc
import pytest

from hegui.errors import ConfigError
from hegui.guard import Action, Context, Pipeline, Stage, StreamInspector
from hegui.pipelines import build_pipeline
from hegui.policy import parse_policy
from hegui.works.check import WorksOverlapCheck
from hegui.works.index import Work, WorksIndex

Prose = Callable[[int, int], str]


def _swap(text: str, every: int) -> str:
    chars = list(text)
    for i in range(every // 2, len(chars), every):
        chars[i] = "某"
    return "".join(chars)


def _punct(text: str) -> str:
    return text.replace("，", " , ").replace("。", "…").replace("；", "、")


def _trad(text: str) -> str:
    return str(opencc.OpenCC("s2t").convert(text))


def _wide(text: str) -> str:
    return "\u200b".join(text)


EDITS: dict[str, Callable[[str], str]] = {
    "verbatim": lambda t: t,
    "punctuation": _punct,
    "traditional": _trad,
    "zero-width between characters": _wide,
    "a swapped character every 40": lambda t: _swap(t, 40),
}


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("length", [60, 150])
def test_planted_copy_is_flagged_and_named(
    edit: str, length: int, works: list[Work], index: WorksIndex, make_prose: Prose
) -> None:
    copy = EDITS[edit](works[2].text[500 : 500 + length])
    before, after = make_prose(901, 200), make_prose(902, 200)
    answer = before + copy + after
    findings = WorksOverlapCheck("works", index).inspect(answer, Context())
    assert findings, f"{edit} copy of {length} characters not flagged"
    f = findings[0]
    assert "'work-2'" in f.explanation
    assert f.action == Action.REFUSE and f.category == "A.3a"
    # The span lies over the planted copy (give or take a k-gram at each end where the prose happens to
    # continue the work's text).
    assert f.start >= len(before) - index.k and f.end <= len(before) + len(copy) + index.k
    assert f.end - f.start >= min(50, length) * 0.8


def test_a_run_shorter_than_min_run_passes(works: list[Work], index: WorksIndex, make_prose: Prose) -> None:
    answer = make_prose(903, 200) + works[1].text[100:130] + make_prose(904, 200)
    assert WorksOverlapCheck("works", index, containment=1.0).inspect(answer, Context()) == []


@pytest.mark.parametrize("seed", range(200, 230))
def test_unrelated_text_in_the_same_vocabulary_passes(
    seed: int, index: WorksIndex, make_prose: Prose
) -> None:
    assert WorksOverlapCheck("works", index).inspect(make_prose(seed, 1500), Context()) == []


def test_paraphrase_level_rewrite_passes(works: list[Work], index: WorksIndex) -> None:
    # Every fourth character changed: nothing of the wording is kept for 8 characters in a row.
    rewritten = _swap(works[3].text[0:400], 4)
    assert WorksOverlapCheck("works", index).inspect(rewritten, Context()) == []


def test_containment_catches_a_copy_too_edited_for_a_long_run(works: list[Work], index: WorksIndex) -> None:
    edited = _swap(works[4].text[0:400], 30)
    check = WorksOverlapCheck("works", index, min_run=400)
    findings = check.inspect(edited, Context())
    assert findings and "fingerprints are in protected work 'work-4'" in findings[0].explanation
    assert WorksOverlapCheck("works", index, min_run=400, containment=1.0).inspect(edited, Context()) == []


def _stream(check: WorksOverlapCheck, chunks: list[str]) -> tuple[str, bool]:
    insp = StreamInspector(Pipeline([check], policy_version="v"), Stage.OUTPUT, Context())
    out: list[str] = []
    for c in chunks:
        step = insp.feed(c)
        out.append(step.release)
        if step.stopped:
            return "".join(out), True
    end = insp.finish()
    return "".join(out) + end.release, end.stopped


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_streamed_copy_stops_before_the_copy_leaves(
    chunk: int, edit: str, works: list[Work], index: WorksIndex, make_prose: Prose
) -> None:
    before = make_prose(905, 600)
    copy = EDITS[edit](works[0].text[1000:1120])
    answer = before + copy + make_prose(906, 600)
    check = WorksOverlapCheck("works", index)
    released, stopped = _stream(check, [answer[i : i + chunk] for i in range(0, len(answer), chunk)])
    assert stopped
    # Less than the minimum run of the copy left before the stream stopped.
    leaked = max((n for n in range(len(copy) + 1) if copy[:n] in released), default=0)
    assert leaked < 50
    assert released.startswith(before[:400])


def test_streamed_unrelated_text_is_released_whole(index: WorksIndex, make_prose: Prose) -> None:
    answer = make_prose(907, 1200)
    released, stopped = _stream(
        WorksOverlapCheck("works", index), [answer[i : i + 9] for i in range(0, len(answer), 9)]
    )
    assert not stopped and released == answer


def test_streamed_paraphrase_is_released_whole(works: list[Work], index: WorksIndex) -> None:
    rewritten = _swap(works[3].text[0:800], 4)
    released, stopped = _stream(
        WorksOverlapCheck("works", index), [rewritten[i : i + 9] for i in range(0, len(rewritten), 9)]
    )
    assert not stopped and released == rewritten


def test_index_round_trips_through_a_file(tmp_path: Path, index: WorksIndex, works: list[Work]) -> None:
    path = tmp_path / "w.npz"
    index.save(path)
    loaded = WorksIndex.load(path)
    assert loaded.version == index.version and loaded.names == index.names
    answer = works[1].text[700:800]
    assert [r.work for r in loaded.runs(loaded.normalizer.normalize(answer).text)][:1] == [1]


def test_policy_builds_the_check_and_a_bad_index_is_a_config_error(tmp_path: Path, index: WorksIndex) -> None:
    index.save(tmp_path / "w.npz")
    (tmp_path / "bad.npz").write_bytes(b"not an index")
    head = '[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["m"]\n[[checks]]\nname = "works"\ntype = "works_overlap"\n'
    source = str(tmp_path / "t.toml")
    pipeline = build_pipeline(parse_policy(head + 'index = "w.npz"\nmin_run = 40\n', source))
    (check,) = pipeline.checks
    assert isinstance(check, WorksOverlapCheck)
    assert (check.version, check.horizon, check.stages) == (index.version, 408, frozenset({Stage.OUTPUT}))
    with pytest.raises(ConfigError) as err:
        build_pipeline(parse_policy(head + 'index = "bad.npz"\n', source))
    assert err.value.key == "checks[0].index"
    with pytest.raises(ConfigError, match="runs only at"):
        build_pipeline(parse_policy(head + 'index = "w.npz"\nstages = ["input"]\n', source))
    with pytest.raises(ConfigError) as err:
        build_pipeline(parse_policy(head + 'index = "w.npz"\nmin_run = 5\n', source))
    assert err.value.key == "checks[0].min_run"
