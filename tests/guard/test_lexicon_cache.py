"""The compiled-lexicon cache: a lexicon read from the cache matches exactly as one compiled anew, a
change to any input compiles anew, and a damaged or planted file is never used. Every term here is our
own neutral demo text."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from hegui.guard.factories.lexicon import lexicon_check
from hegui.guard.lexicon import cache as lexicon_cache
from hegui.guard.lexicon.check import LexiconCheck
from hegui.guard.lexicon.matcher import CompiledLexicon
from hegui.guard.types import Context

CTX = Context()
HEADER = "关键词,一级分类,处置,拼音\n"
ROWS = "违禁词,A.1h,refuse,否\n代开,A.1h,,否\n白粉,A.1h,,否\nabc,A.1f,,否\n测试词,A.1a,label,是\n"
TEXTS = (
    "这里有违禁词和代开发票",
    "朝代开始于此，白粉病",
    "abcd 和 abc 还有 ceshici",
    "违 禁 词、違禁詞",
    "测试词的拼音 csc",
)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("HEGUI_CACHE_DIR", str(d))
    return d


def write_terms(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "terms.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def build(path: Path, **kw: object) -> LexiconCheck:
    return lexicon_check("kw", path, tier_default="topic", **kw)  # type: ignore[arg-type]


def outcome(check: LexiconCheck) -> list[list[tuple[str, str, str, int, int]]]:
    return [
        [(f.evidence, f.action.value, f.tier, f.start, f.end) for f in check.inspect(t, CTX)] for t in TEXTS
    ]


def kept(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "lexicon").glob("*.pickle"))


def test_a_cached_lexicon_matches_as_one_compiled_anew(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_terms(tmp_path, ROWS)
    fresh = build(path)
    assert len(kept(cache_dir)) == 1

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled although the cache holds the lexicon")

    monkeypatch.setattr(CompiledLexicon, "__init__", no_compiling)
    cached = build(path)
    a, b = fresh.lexicon.current, cached.lexicon.current
    assert outcome(cached) == outcome(fresh)
    assert any(outcome(fresh))  # the texts do hit
    assert (b.version, b.skipped, b.horizon, b.context, b.patterns) == (
        a.version,
        a.skipped,
        a.horizon,
        a.context,
        a.patterns,
    )
    assert b.lexicon == a.lexicon and b.lexicon.version == a.lexicon.version
    for text in ("这里有违", "测试", "abc", "无关的话"):
        assert b.open_tail(text, len(text)) == a.open_tail(text, len(text))


def test_a_changed_file_or_option_compiles_anew_and_one_file_is_kept(tmp_path: Path, cache_dir: Path) -> None:
    path = write_terms(tmp_path, ROWS)
    build(path)
    first = kept(cache_dir)
    path.write_text(HEADER + ROWS + "新词条,A.1h,,否\n", encoding="utf-8")
    check = build(path)
    assert [f.evidence for f in check.inspect("一个新词条", CTX)] == ["新词条"]
    assert len(kept(cache_dir)) == 1 and kept(cache_dir) != first
    other = build(path, max_gap=0)  # an option is part of the key too
    assert other.lexicon.current.max_gap == 0
    assert [f.evidence for f in other.inspect("违 禁 词", CTX)] == []
    assert [f.evidence for f in build(path).inspect("违 禁 词", CTX)] == ["违 禁 词"]


def test_reload_reads_the_changed_file(tmp_path: Path, cache_dir: Path) -> None:
    path = write_terms(tmp_path, ROWS)
    check = build(path)
    path.write_text(HEADER + "新词条,A.1h,,否\n", encoding="utf-8")
    assert check.lexicon.reload()
    assert [f.evidence for f in check.inspect("违禁词 新词条", CTX)] == ["新词条"]


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEGUI_CACHE_DIR", "none")
    check = build(write_terms(tmp_path, ROWS))
    assert check.inspect("违禁词", CTX)
    assert lexicon_cache.cache_key([tmp_path / "terms.csv"], {}) is None


@pytest.mark.parametrize("damage", ["truncated", "garbage", "old format"])
def test_a_damaged_file_is_compiled_anew_and_replaced(tmp_path: Path, cache_dir: Path, damage: str) -> None:
    path = write_terms(tmp_path, ROWS)
    expected = outcome(build(path))
    (file,) = kept(cache_dir)
    data = file.read_bytes()
    if damage == "truncated":
        file.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        file.write_bytes(b"not a pickle")
    else:
        plain = pickle.loads(data)
        plain["format"] = lexicon_cache.FORMAT - 1
        file.write_bytes(pickle.dumps(plain))
    assert lexicon_cache.load(file) is None
    assert outcome(build(path)) == expected
    assert lexicon_cache.load(file) is not None  # written again, whole


class _Planted:
    """Makes the directory ``mark`` when unpickled by a reader that lets classes and functions in."""

    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.mark),))


def test_a_planted_file_runs_nothing(tmp_path: Path, cache_dir: Path) -> None:
    path = write_terms(tmp_path, ROWS)
    expected = outcome(build(path))
    (file,) = kept(cache_dir)
    mark = tmp_path / "ran"
    plain = pickle.loads(file.read_bytes())
    plain["texts"] = _Planted(mark)
    file.write_bytes(pickle.dumps(plain))
    pickle.loads(file.read_bytes())  # the plain unpickler would run it:
    assert mark.is_dir()
    mark.rmdir()
    assert lexicon_cache.load(file) is None
    assert outcome(build(path)) == expected
    assert not mark.exists()
