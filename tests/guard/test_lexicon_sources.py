"""Reading lexicon files (plain, tags, CSV, XLSX), the policy check type, and coverage counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from hegui.errors import ConfigError
from hegui.gateway.policy_reload import guard_parts
from hegui.guard.lexicon import Term, load_lexicon, write_table
from hegui.guard.lexicon.check import LexiconCheck
from hegui.guard.lexicon.coverage import coverage
from hegui.guard.types import Action, Context, Stage
from hegui.pipelines import build_pipeline
from hegui.policy import parse_policy


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_plain(tmp_path: Path) -> None:
    lex = load_lexicon(
        write(tmp_path, "a.txt", "\ufeff违禁词\n\n  测试词 \n违禁词"),
        "plain",
        category="A.1f",
        with_builtin_allow=False,
    )
    assert lex.terms == (Term("测试词", ("A.1f",)), Term("违禁词", ("A.1f",)))
    assert lex.allow == ()


@pytest.mark.parametrize(
    ("line", "categories"),
    [
        ("违禁词 0", ("A.1a",)),
        ("违禁词 1,4", ("A.1h",)),
        ("违禁词 2,0", ("A.1a", "A.1f")),
        ("违禁词", ("A.1h",)),
    ],
)
def test_tags(tmp_path: Path, line: str, categories: tuple[str, ...]) -> None:
    lex = load_lexicon(write(tmp_path, "t.txt", line + "\n"), "tags")
    assert lex.terms[0].categories == categories


def test_tag_map_overrides_and_unknown_tag_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", "违禁词 0\n另一词 9\n")
    with pytest.raises(ConfigError, match="line 2"):
        load_lexicon(path, "tags")
    lex = load_lexicon(path, "tags", tag_map={"0": "A.1b", "9": "A.2e"})
    assert [t.categories for t in lex.terms] == [("A.2e",), ("A.1b",)]


def test_plain_with_tag_overlay(tmp_path: Path) -> None:
    plain = write(tmp_path, "p.txt", "违禁词\n测试词\n")
    tags = write(tmp_path, "t.txt", "违禁词 2\n额外词 0\n")
    lex = load_lexicon(plain, "plain", tags_file=tags)
    assert {t.text: t.categories for t in lex.terms} == {
        "违禁词": ("A.1f",),
        "测试词": ("A.1h",),
        "额外词": ("A.1a",),
    }


CSV = '关键词,一级分类,二级分类,处置,拼音\n违禁词,A.1,A.1f,mask,是\n测试词,,民族歧视内容,,否\n三词,,"A.1a,A.1c",,\n'


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_tables_round_trip(tmp_path: Path, fmt: str) -> None:
    lex = load_lexicon(write(tmp_path, "l.csv", CSV), "csv")
    assert {t.text: (t.categories, t.action, t.pinyin) for t in lex.terms} == {
        "违禁词": (("A.1f",), Action.MASK, True),
        "测试词": (("A.2a",), None, False),
        "三词": (("A.1a", "A.1c"), None, False),
    }
    out = tmp_path / f"out.{fmt}"
    write_table(lex, out)
    again = load_lexicon(out, None)
    assert again.terms == lex.terms


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("词,类\n违禁词,A.1\n", "row 1"),
        ("关键词,二级分类\n违禁词,不存在的类\n", "row 2"),
        ("关键词,处置\n违禁词,explode\n", "row 2"),
        ("关键词,拼音\n违禁词,maybe\n", "row 2"),
    ],
)
def test_table_errors_name_the_row(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        load_lexicon(write(tmp_path, "bad.csv", text), "csv")


@pytest.mark.parametrize(
    ("content", "message"), [(None, "not found"), (b"\xff\xfe\x00", "not UTF-8"), (b"\n\n", "no terms")]
)
def test_file_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "x.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_lexicon(path, "plain")


POLICY = """
[[upstreams]]
name = "demo"
type = "demo"
models = ["m"]

[[checks]]
name = "kw"
type = "lexicon"
path = "lex.csv"
category = "A.1h"
action = "refuse"
allow = ["违禁词典"]
category_actions = {{ "A.2a" = "label" }}
{extra}
"""


def test_policy_check_type(tmp_path: Path) -> None:
    write(tmp_path, "lex.csv", CSV)
    policy = parse_policy(POLICY.format(extra=""), str(tmp_path / "hegui.toml"))
    pipeline = build_pipeline(policy)
    verdict = pipeline.run(Stage.INPUT, "违禁词典 测试词", Context())
    assert [(f.evidence, f.action, f.category) for f in verdict.findings] == [
        ("测试词", Action.LABEL, "A.2a")
    ]
    assert pipeline.horizon(Stage.OUTPUT) is not None
    assert "kw" in verdict.versions


def test_the_gateway_builds_stream_prefixes_before_a_policy_serves(tmp_path: Path) -> None:
    write(tmp_path, "lex.csv", CSV)
    policy = parse_policy(POLICY.format(extra=""), str(tmp_path / "hegui.toml"))
    check = build_pipeline(policy).checks[0]
    assert isinstance(check, LexiconCheck) and not check.lexicon.current.streams_prepared  # built on demand
    served = guard_parts(policy).pipeline.checks[0]  # as at start-up and on a policy reload
    assert isinstance(served, LexiconCheck) and served.lexicon.current.streams_prepared


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("max_gap = 99", "checks[0].max_gap"),
        ('tag_map = { "0" = "B.9" }', "checks[0].tag_map"),
        ("unknown_option = 1", "checks[0].unknown_option"),
    ],
)
def test_policy_errors_name_the_key(tmp_path: Path, extra: str, key: str) -> None:
    write(tmp_path, "lex.csv", CSV)
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        build_pipeline(parse_policy(POLICY.format(extra=extra), str(tmp_path / "hegui.toml")))


def test_policy_missing_lexicon_names_the_check(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"checks\[0\]\.path"):
        build_pipeline(parse_policy(POLICY.format(extra=""), str(tmp_path / "hegui.toml")))


def test_coverage_counts_and_shortfalls(tmp_path: Path) -> None:
    lex = load_lexicon(write(tmp_path, "l.csv", CSV), "csv")
    cov = coverage(lex)
    counts = {r.risk: r.count for r in cov.rows}
    assert (counts["A.1a"], counts["A.1c"], counts["A.1f"], counts["A.2a"], counts["A.1b"]) == (1, 1, 1, 1, 0)
    assert not cov.meets_minimums
    short = cov.shortfalls()
    assert short[0] == "3 terms in all; the minimum is 10,000 (9,997 short)"
    assert len(short) == 1 + 17  # every A.1 and A.2 risk is short
