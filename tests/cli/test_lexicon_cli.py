"""`hegui lexicon import|stats|test` and `hegui check --lexicon`, through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.guard.lexicon.sources import load_lexicon

runner = CliRunner()


@pytest.fixture()
def tags(tmp_path: Path) -> Path:
    path = tmp_path / "tags.txt"
    path.write_text("违禁词 2\n测试词 0,4\n", encoding="utf-8")
    return path


def test_import_writes_the_filing_table(tmp_path: Path, tags: Path) -> None:
    out = tmp_path / "lex.csv"
    result = runner.invoke(app, ["lexicon", "import", str(tags), "--format", "tags", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 terms → ")
    assert out.read_text(encoding="utf-8").splitlines() == [
        "关键词,一级分类,二级分类,处置,拼音",
        '测试词,A.1,"A.1a,A.1h",,否',
        "违禁词,A.1,A.1f,,否",
    ]


def test_stats_says_what_is_short(tags: Path) -> None:
    result = runner.invoke(app, ["lexicon", "stats", str(tags), "--format", "tags", "--json", "--strict"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert (data["total"], data["meets_minimums"]) == (2, False)
    assert data["shortfalls"][0] == "2 terms in all; the minimum is 10,000 (9,998 short)"
    a1a = next(r for r in data["risks"] if r["risk"] == "A.1a")
    assert a1a == {"risk": "A.1a", "count": 1, "minimum": 200, "short": 199}


def test_test_command_shows_spans(tags: Path) -> None:
    result = runner.invoke(app, ["lexicon", "test", str(tags), "--format", "tags", "这是違 禁 詞"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "[2:7] '違 禁 詞' term='违禁词' risks=A.1f via=text"


def test_bad_format_is_exit_2(tags: Path) -> None:
    result = runner.invoke(app, ["lexicon", "stats", str(tags), "--format", "docx"])
    assert result.exit_code == 2
    assert "--format must be one of" in result.output


@pytest.mark.parametrize(
    ("text", "extra", "code", "action", "tier"),
    [
        ("这是违\u200b禁词", ["--lexicon-tier-default", "red-line"], 1, "refuse", "red-line"),
        ("这是违\u200b禁词", [], 0, "label", "topic"),  # default: an unreviewed term is evidence
        ("你好", [], 0, "allow", None),
    ],
)
def test_check_with_lexicon(
    tags: Path, text: str, extra: list[str], code: int, action: str, tier: str
) -> None:
    args = ["check", "--lexicon", str(tags), "--lexicon-format", "tags", *extra, "--json", "-"]
    result = runner.invoke(app, args, input=text)
    assert result.exit_code == code, result.output
    verdict = json.loads(result.output)
    assert verdict["action"] == action
    if tier:
        assert [
            (f["check"], f["category"], f["start"], f["end"], f["evidence"], f["tier"])
            for f in verdict["findings"]
        ] == [("cli-lexicon", "A.1f", 2, 6, "违\u200b禁词", tier)]


def test_check_with_lexicon_tiers(tmp_path: Path, tags: Path) -> None:
    tiers = tmp_path / "tiers.csv"
    tiers.write_text("term,tier\n违禁词,red-line\n测试词,noise\n", encoding="utf-8")
    args = [
        "check",
        "--lexicon",
        str(tags),
        "--lexicon-format",
        "tags",
        "--lexicon-tiers",
        str(tiers),
        "--json",
    ]
    refused = runner.invoke(app, [*args, "违禁词和测试词"])
    assert refused.exit_code == 1, refused.output
    found = json.loads(refused.output)["findings"]
    assert [(f["evidence"], f["tier"]) for f in found if f["check"] == "cli-lexicon"] == [
        ("违禁词", "red-line")
    ]
    bad = runner.invoke(app, [*args, "--lexicon-tier-default", "maybe", "x"])
    assert bad.exit_code == 2
    assert "--lexicon-tier-default must be red-line, topic, auto, not 'maybe'" in bad.output


def test_check_with_the_shared_lexicon(shared_data: Path) -> None:
    path = shared_data / "sensitive-word" / "src" / "main" / "resources" / "sensitive_word_dict.txt"
    result = runner.invoke(
        app,
        ["check", "--lexicon", str(path), "--lexicon-format", "plain", "--json", "-"],
        input="我们去路口交通站",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"action": "allow", "findings": []}


CORPUS = [
    ("text", "label"),
    *[("这个违禁词不行", "1")] * 4,
    *[("测试词的讨论", "0")] * 4,
    ("测试词", "1"),
    ("没有", "0"),
]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.csv"
    path.write_text("\n".join(f"{t},{lab}" for t, lab in CORPUS) + "\n", encoding="utf-8")
    return path


def test_calibrate_writes_overrides_and_summarizes(tmp_path: Path, tags: Path, corpus: Path) -> None:
    out = tmp_path / "cal.csv"
    args = ["lexicon", "calibrate", str(tags), "--lexicon-format", "tags", "--corpus", str(corpus)]
    args += ["--text-column", "text", "--label-column", "label", "--safe-value", "0", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"10 rows (5 safe, 5 unsafe) · lexicon 2 terms, version {load_lexicon(tags, 'tags').version} · 2 terms hit",
        f"1 term(s) → label · written to {out}",
        "on these rows        before    after",
        "  safe refused        80.0%     0.0%",
        "  unsafe refused     100.0%    80.0%",
        "  safe found          80.0%    80.0%",
        "  unsafe found       100.0%   100.0%",
        "Review the file, then set actions_file in the lexicon check. Measure on rows not used here.",
    ]
    assert out.read_text(encoding="utf-8").splitlines() == [
        "term,action,reason,safe_hits,unsafe_hits",
        '测试词,label,"calibrated: 4 safe / 1 unsafe rows, unsafe share 0.20 < 0.5; was refuse",4,1',
    ]
    # a pinned term is never changed, whatever its counts
    pinned = runner.invoke(app, [*args, "--pin", "测试词"])
    assert pinned.exit_code == 0, pinned.output
    assert "0 term(s) → label (1 more met the rule but are pinned)" in pinned.output
    assert out.read_text(encoding="utf-8") == "term,action,reason,safe_hits,unsafe_hits\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--text-column", "TEXT"], "--text-column 'TEXT' is not a column of"),
        (["--unsafe-value", "2"], "row 2: label '1' is neither a --safe-value (0) nor an --unsafe-value (2)"),
        (["--to", "refuse"], "the target action must not stop the text"),
        (["--to", "nope"], "--to must be one of"),
        (["--category-action", "A.9=label"], "--category-action takes RISK_ID=ACTION"),
    ],
)
def test_calibrate_bad_input_is_exit_2(
    tmp_path: Path, tags: Path, corpus: Path, extra: list[str], message: str
) -> None:
    args = [
        "lexicon",
        "calibrate",
        str(tags),
        "--format",
        "tags",
        "--corpus",
        str(corpus),
        "-o",
        str(tmp_path / "o.csv"),
    ]
    args += ["--text-column", "text", "--label-column", "label", "--safe-value", "0", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "o.csv").exists()
