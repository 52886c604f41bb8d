"""Lexicon tiers (red-line / topic / noise), the tiers file, tier_default, the word-boundary rule, and
calibration of tiers. Every term and sentence here is our own neutral demo text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hegui.cli import app
from hegui.errors import ConfigError
from hegui.guard.lexicon.calibrate import HitTable, LabelledRow, TierRule, calibrate_tiers, propose_tiers
from hegui.guard.lexicon.check import LexiconCheck, ReloadableLexicon
from hegui.guard.lexicon.matcher import CompiledLexicon
from hegui.guard.lexicon.model import Lexicon, Term, Tier
from hegui.guard.lexicon.segment import WordBoundary, common_words, is_short_cjk, segmenter
from hegui.guard.lexicon.tiers import TierRow, assign_tiers, prior_tier, read_tiers, write_tiers
from hegui.guard.types import Action, Context, Stage
from hegui.pipelines import build_pipeline
from hegui.policy import parse_policy

CTX = Context()
runner = CliRunner()

# 代开, 加扣, 白粉, 大麻: short terms that also occur across or inside harmless words.
DEMO = ("代开", "加扣", "白粉", "大麻", "违禁词")


def demo(tier: Tier | None, **kw: object) -> LexiconCheck:
    lexicon = Lexicon.build([Term(t, ("A.1h",), tier=tier) for t in DEMO])
    boundary = WordBoundary(segmenter("rjieba"))
    return LexiconCheck("kw", ReloadableLexicon.fixed(lexicon, boundary=boundary), **kw)  # type: ignore[arg-type]


def found(check: LexiconCheck, text: str) -> list[tuple[str, str, str]]:
    return [(f.evidence, f.action.value, f.tier) for f in check.inspect(text, CTX)]


# ---- the word-boundary rule ------------------------------------------------------------------------

BOUNDARY_TABLE = [
    # text, hits of topic terms (the rule applies), hits of red-line terms (it does not)
    ("朝代开始", [], ["代开"]),  # 朝代|开始: the hit straddles two words
    ("附加扣除", [], ["加扣"]),  # 附加|扣除
    ("白粉病", [], ["白粉"]),  # inside the word 白粉病
    ("专业代开增值税发票", ["代开"], ["代开"]),  # 专业|代开|增值税|发票: a real hit
    ("违规加扣分数", ["加扣"], ["加扣"]),
    ("哪里能买到白粉", ["白粉"], ["白粉"]),
    ("吸大麻", ["大麻"], ["大麻"]),
    # 大麻|籽油: the segmenter sees a word boundary, so the rule keeps the hit; the topic tier makes
    # it evidence (label), and the pipeline's fusion decides with the model.
    ("大麻籽油", ["大麻"], ["大麻"]),
    # evasions meet the plain form before the segmenter reads it
    ("专业代*开增值税发票", ["代*开"], ["代*开"]),
    ("哪裡能買到白粉", ["白粉"], ["白粉"]),
    ("朝代*开始", [], ["代*开"]),
]


@pytest.mark.parametrize(("text", "topic_hits", "red_hits"), BOUNDARY_TABLE)
def test_boundary_rule(text: str, topic_hits: list[str], red_hits: list[str]) -> None:
    assert [e for e, _, _ in found(demo(Tier.TOPIC), text)] == topic_hits
    assert [e for e, _, _ in found(demo(Tier.RED_LINE), text)] == red_hits


def test_boundary_rule_applies_to_short_chinese_terms_only() -> None:
    lexicon = Lexicon.build(
        [Term("开始行动", ("A.1h",), tier=Tier.TOPIC), Term("ab", ("A.1h",), tier=Tier.TOPIC)]
    )
    compiled = CompiledLexicon(lexicon, boundary=WordBoundary(segmenter("rjieba")))
    # 4 characters: matched wherever; Latin terms keep their own (Latin) boundary rule
    assert [m.term.text for m in compiled.find("朝代开始行动吧 ab")] == ["开始行动", "ab"]
    assert [is_short_cjk(t) for t in ("代开", "白粉病", "开始行动", "ab", "代a")] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_without_a_segmenter_every_hit_counts() -> None:
    lexicon = Lexicon.build([Term("代开", ("A.1h",), tier=Tier.TOPIC)])
    assert [m.term.text for m in CompiledLexicon(lexicon).find("朝代开始")] == ["代开"]


def test_word_boundary_window() -> None:
    rule = WordBoundary(segmenter("rjieba"))
    long_text = "这是一段很长的句子" * 5 + "朝代开始" + "这是一段很长的句子" * 5
    start = long_text.index("代开")
    assert not rule.aligned(long_text, start, start + 2)
    start = long_text.index("朝代")
    assert rule.aligned(long_text, start, start + 2)


@pytest.mark.parametrize("name", ["rjieba", "jieba"])
def test_segmenters_agree_on_the_demo_table(name: str) -> None:
    pytest.importorskip(name)
    rule = WordBoundary(segmenter(name))  # type: ignore[arg-type]
    decisions = [rule.aligned(text, text.index(t), text.index(t) + 2) for text, t in TABLE_PAIRS]
    assert decisions == [False, False, False, True, True, True]


TABLE_PAIRS = [
    ("朝代开始", "代开"),
    ("附加扣除", "加扣"),
    ("白粉病", "白粉"),
    ("专业代开增值税发票", "代开"),
    ("哪里能买到白粉", "白粉"),
    ("吸大麻", "大麻"),
]


# ---- tiers in findings -------------------------------------------------------------------------------


def test_tiers_decide_the_action() -> None:
    lexicon = Lexicon.build(
        [
            Term("违禁词", ("A.1f",), tier=Tier.RED_LINE),
            Term("大麻", ("A.1h",), tier=Tier.TOPIC),
            Term("白粉", ("A.1h",), tier=Tier.NOISE),
            Term("遮住词", ("A.2a",), action=Action.MASK, tier=Tier.TOPIC),
            Term("老词", ("A.1h",)),  # no tier: decides alone, as before tiers existed
        ]
    )
    check = LexiconCheck("kw", ReloadableLexicon.fixed(lexicon))
    assert found(check, "违禁词 大麻 白粉 遮住词 老词") == [
        ("违禁词", "refuse", "red-line"),
        ("大麻", "label", "topic"),
        ("遮住词", "mask", "topic"),  # a topic term keeps an action that does not stop the text
        ("老词", "refuse", "red-line"),
    ]
    finding = check.inspect("大麻", CTX)[0]
    assert finding.to_json()["tier"] == "topic"
    assert "topic" in finding.explanation


def test_a_noise_hit_does_not_hide_a_nested_one() -> None:
    lexicon = Lexicon.build(
        [Term("白粉笔", ("A.1h",), tier=Tier.NOISE), Term("白粉", ("A.1h",), tier=Tier.RED_LINE)]
    )
    check = LexiconCheck("kw", ReloadableLexicon.fixed(lexicon))
    assert found(check, "白粉笔") == [("白粉", "refuse", "red-line")]


@pytest.mark.parametrize(
    "text",
    ["违*禁*词", "違禁詞", "ｗｅｉ违禁词", "违\u200b禁词", "违违禁禁词词", "违 禁 词"],
)
def test_red_line_evasions_are_caught_with_the_boundary_rule_on(text: str) -> None:
    assert [(a, t) for _, a, t in found(demo(Tier.RED_LINE), text)] == [("refuse", "red-line")]


# ---- the tiers file ----------------------------------------------------------------------------------


def test_tiers_file_round_trip(tmp_path: Path) -> None:
    rows = [TierRow("代开", Tier.TOPIC, "mixed", 4, 9), TierRow("违禁词", Tier.RED_LINE)]
    path = tmp_path / "sub" / "tiers.csv"
    write_tiers(rows, path)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "term,tier,reason,safe_hits,unsafe_hits",
        "代开,topic,mixed,4,9",
        "违禁词,red-line,,,",
    ]
    assert read_tiers(path) == rows


def test_hand_written_tiers_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("\ufefftier,term\nRED-LINE,违禁词\n\nnoise,白粉\n".encode())
    assert read_tiers(path) == [TierRow("违禁词", Tier.RED_LINE), TierRow("白粉", Tier.NOISE)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "tiers file not found"),
        (b"", "empty tiers file"),
        (b"\xff\xfe", "not UTF-8"),
        ("term,action\n代开,label\n".encode(), "key 'line 1': the header row has no tier column"),
        ("term,tier\n代开,maybe\n".encode(), "key 'line 2': unknown tier 'maybe'"),
        ("term,tier\n代开,topic\n代开,noise\n".encode(), "key 'line 3': term '代开' is listed twice"),
        (b"term,tier\n,topic\n", "key 'line 2': empty term"),
        ("term,tier,safe_hits\n代开,topic,-1\n".encode(), "key 'line 2': safe_hits must be a whole number"),
    ],
)
def test_bad_tiers_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "t.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        read_tiers(path)


# ---- assigning tiers ---------------------------------------------------------------------------------

LEX = Lexicon.build(
    [
        Term("违禁词", ("A.1f",)),
        Term("国家", ("A.1a",)),
        Term("大", ("A.1h",)),
        Term("代开", ("A.1h",), action=Action.REFUSE),  # its own 处置
        Term("电影", ("A.1h",), action=Action.LABEL),
    ]
)


def tiers_of(lexicon: Lexicon) -> dict[str, str]:
    return {t.text: t.tier.value for t in lexicon.terms if t.tier is not None}


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        ("red-line", {"违禁词": "red-line", "国家": "red-line", "大": "red-line"}),
        ("topic", {"违禁词": "topic", "国家": "topic", "大": "topic"}),
        # the frequency prior: a common word or a single character is a topic, a rare term red-line
        ("auto", {"违禁词": "red-line", "国家": "topic", "大": "topic"}),
    ],
)
def test_tier_default(default: str, expected: dict[str, str]) -> None:
    is_common = common_words(segmenter("rjieba"))
    got = tiers_of(assign_tiers(LEX, default=default, is_common=is_common))  # type: ignore[arg-type]
    # a term with its own action: red-line when it stops the text, topic when it does not
    assert got == expected | {"代开": "red-line", "电影": "topic"}


def test_the_tiers_file_wins_over_everything() -> None:
    rows = [TierRow("代开", Tier.NOISE), TierRow("违禁词", Tier.TOPIC)]
    got = tiers_of(assign_tiers(LEX, rows, default="red-line"))
    assert (got["代开"], got["违禁词"], got["国家"]) == ("noise", "topic", "red-line")


def test_assign_tiers_errors() -> None:
    with pytest.raises(ConfigError, match=r"file t\.csv: 1 term\(s\) not in the lexicon"):
        assign_tiers(LEX, [TierRow("别的词", Tier.TOPIC)], file="t.csv")
    with pytest.raises(ValueError, match="needs a word-frequency dictionary"):
        assign_tiers(LEX, default="auto")
    with pytest.raises(ValueError, match="unknown tier_default"):
        assign_tiers(LEX, default="never")  # type: ignore[arg-type]


def test_prior_and_common_words() -> None:
    is_common = common_words(segmenter("rjieba"))
    assert [is_common(w) for w in ("国家", "國家", "违禁词", "代开")] == [True, True, False, False]
    assert [prior_tier(w, False) for w in ("大", "违禁词")] == [Tier.TOPIC, Tier.RED_LINE]
    assert prior_tier("国家", True) is Tier.TOPIC


def test_tiers_change_the_version() -> None:
    plain = Lexicon.build([Term("违禁词", ("A.1f",))])
    assert Lexicon.build([Term("违禁词", ("A.1f",))]).version == plain.version
    assert Lexicon.build([Term("违禁词", ("A.1f",), tier=Tier.TOPIC)]).version != plain.version
    # a term listed twice keeps the stronger tier
    merged = Lexicon.build(
        [Term("违禁词", ("A.1f",), tier=Tier.TOPIC), Term("违禁词", ("A.1h",), tier=Tier.RED_LINE)]
    )
    assert merged.terms[0].tier is Tier.RED_LINE


# ---- the policy options ------------------------------------------------------------------------------

POLICY = """
[[upstreams]]
name = "demo"
type = "demo"
models = ["m"]

[[checks]]
name = "kw"
type = "lexicon"
path = "lex.txt"
{extra}
"""


def pipeline(tmp_path: Path, extra: str = "") -> object:
    (tmp_path / "lex.txt").write_text("代开\n违禁词\n白粉\n", encoding="utf-8")
    return build_pipeline(parse_policy(POLICY.format(extra=extra), str(tmp_path / "hegui.toml")))


def verdict(p: object, text: str) -> tuple[str, list[tuple[str, str]]]:
    v = p.run(Stage.INPUT, text, CTX)  # type: ignore[attr-defined]
    return v.action.value, [(f.evidence, f.tier) for f in v.findings]


def test_policy_defaults_topic_with_word_boundaries(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    assert verdict(p, "朝代开始") == ("allow", [])
    assert verdict(p, "专业代开增值税发票的违禁词") == ("label", [("代开", "topic"), ("违禁词", "topic")])


def test_policy_tiers_file_and_reload(tmp_path: Path) -> None:
    tiers = tmp_path / "tiers.csv"
    write_tiers([TierRow("违禁词", Tier.RED_LINE), TierRow("白粉", Tier.NOISE)], tiers)
    p = pipeline(tmp_path, 'tiers_file = "tiers.csv"')
    assert verdict(p, "违禁词") == ("refuse", [("违禁词", "red-line")])
    assert verdict(p, "买白粉") == ("allow", [])
    write_tiers([TierRow("白粉", Tier.RED_LINE)], tiers)
    check = p.checks[0]  # type: ignore[attr-defined]
    assert check.lexicon.reload()
    assert verdict(p, "买白粉") == ("refuse", [("白粉", "red-line")])
    assert verdict(p, "违禁词") == ("label", [("违禁词", "topic")])


@pytest.mark.parametrize(
    ("extra", "text", "expected"),
    [
        ('tier_default = "red-line"', "朝代开始", ("refuse", [("代开", "red-line")])),
        ('tier_default = "auto"', "违禁词", ("refuse", [("违禁词", "red-line")])),
        ("word_boundary = false", "朝代开始", ("label", [("代开", "topic")])),
        ('segmenter = "none"', "朝代开始", ("label", [("代开", "topic")])),
        ('segmenter = "jieba"', "朝代开始", ("allow", [])),
    ],
)
def test_policy_options(
    tmp_path: Path, extra: str, text: str, expected: tuple[str, list[tuple[str, str]]]
) -> None:
    if "jieba" in extra:
        pytest.importorskip("jieba")
    assert verdict(pipeline(tmp_path, extra), text) == expected


@pytest.mark.parametrize(
    ("extra", "file_text", "key", "message"),
    [
        ('tiers_file = "t.csv"', "term,tier\n代开,maybe\n", "tiers_file", "line 2"),
        ('tiers_file = "t.csv"', "term,tier\n别的词,topic\n", "tiers_file", "not in the lexicon"),
        ('tiers_file = "missing.csv"', None, "tiers_file", "tiers file not found"),
        ('tier_default = "sometimes"', None, "tier_default", "tier_default"),
        ('segmenter = "bert"', None, "segmenter", "segmenter"),
        ('tier_default = "auto"\nsegmenter = "none"', None, "segmenter", "reads word frequencies"),
    ],
)
def test_policy_errors_name_the_key(
    tmp_path: Path, extra: str, file_text: str | None, key: str, message: str
) -> None:
    if file_text is not None:
        (tmp_path / "t.csv").write_text(file_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        pipeline(tmp_path, extra)
    assert f"checks[0].{key}" in str(info.value)


# ---- calibration of tiers ----------------------------------------------------------------------------

CAL_LEX = Lexicon.build([Term(t, ("A.1h",)) for t in ("违禁词", "电影", "天气", "测试词", "国家")])
CAL_ROWS = (
    [LabelledRow("这个违禁词不行", True)] * 5
    + [LabelledRow("电影很好看", False)] * 5  # benign only: noise
    + [LabelledRow("天气和违禁词", True)] * 2
    + [LabelledRow("天气不错", False)] * 3  # mixed: topic
    + [LabelledRow("测试词", True)] * 2  # too few unsafe rows: topic
    + [LabelledRow("国家的违禁词", True)] * 4  # unsafe only but a common word: topic
    + [LabelledRow("什么都没有", False)] * 5
)


def test_propose_tiers() -> None:
    compiled = CompiledLexicon(CAL_LEX)
    result = calibrate_tiers(compiled, CAL_ROWS, is_common=common_words(segmenter("rjieba")))
    assert [(r.term, r.tier.value, r.safe_hits, r.unsafe_hits) for r in result.rows] == [
        ("国家", "topic", 0, 4),
        ("天气", "topic", 3, 2),
        ("测试词", "topic", 0, 2),
        ("电影", "noise", 5, 0),
        ("违禁词", "red-line", 0, 11),
    ]
    assert "common word" in result.rows[0].reason
    # before: every hit refuses; after: only red-line terms
    assert (result.before.safe_refused, result.after.safe_refused) == (8 / 13, 0.0)
    assert (result.before.unsafe_refused, result.after.unsafe_refused) == (1.0, 11 / 13)
    assert result.after.safe_found == 3 / 13  # noise hits are no findings


def test_tier_rule_thresholds() -> None:
    # 5 unsafe rows of 100, 3 safe rows of 10,000: unsafe share 0.994
    table = HitTable(10_000, 100, ((True, frozenset({0})),) * 5 + ((False, frozenset({0})),) * 3)
    terms = (Term("违禁词", ("A.1h",)),)
    assert propose_tiers(terms, table)[0].tier is Tier.RED_LINE
    assert propose_tiers(terms, table, TierRule(max_safe=2))[0].tier is Tier.TOPIC  # 3 safe rows > 2
    assert propose_tiers(terms, table, TierRule(red_line_share=0.999))[0].tier is Tier.TOPIC
    assert propose_tiers(terms, table, TierRule(min_unsafe=6))[0].tier is Tier.TOPIC
    with pytest.raises(ValueError, match="red_line_share"):
        TierRule(red_line_share=0.2)


def test_calibrate_cli_writes_a_tiers_file_from_jsonl(tmp_path: Path) -> None:
    lex = tmp_path / "lex.txt"
    lex.write_text("违禁词\n电影\n天气\n", encoding="utf-8")
    corpus = tmp_path / "rows.jsonl"
    rows = (
        [{"text": "这个违禁词不行", "label": "harmful"}] * 4
        + [{"text": "电影很好看", "label": "benign"}] * 3
        + [{"text": "电影院的天气", "label": "borderline"}] * 2
        + [{"text": "天气", "label": "harmful"}]
    )
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "tiers.csv"
    args = ["lexicon", "calibrate", str(lex), "--corpus", str(corpus), "--mode", "tiers", "-o", str(out)]
    args += ["--safe-value", "benign", "--safe-value", "borderline", "--unsafe-value", "harmful"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == f"1 red-line · 1 topic · 1 noise · written to {out}"
    assert result.output.splitlines()[-1].startswith("Review the file, then set tiers_file")
    assert [(r.term, r.tier.value) for r in read_tiers(out)] == [
        ("天气", "topic"),
        ("电影", "noise"),
        ("违禁词", "red-line"),
    ]
    # a label outside both lists names the line
    corpus.write_text('{"text": "x", "label": "other"}\n', encoding="utf-8")
    bad = runner.invoke(app, args)
    assert bad.exit_code == 2
    assert "line 1: label 'other' is neither a --safe-value" in bad.output
    corpus.write_text('{"label": "benign"}\n', encoding="utf-8")
    assert "expected an object with a string 'text'" in runner.invoke(app, args).output


def test_calibrate_cli_mode_is_checked(tmp_path: Path) -> None:
    lex = tmp_path / "lex.txt"
    lex.write_text("违禁词\n", encoding="utf-8")
    corpus = tmp_path / "c.csv"
    corpus.write_text("text,label\n违禁词,1\n", encoding="utf-8")
    args = [
        "lexicon",
        "calibrate",
        str(lex),
        "--corpus",
        str(corpus),
        "--safe-value",
        "0",
        "-o",
        str(tmp_path / "o"),
    ]
    result = runner.invoke(app, [*args, "--mode", "verdicts"])
    assert result.exit_code == 2
    assert "--mode must be actions or tiers" in result.output


def test_stage_output_uses_the_same_tiers(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    v = p.run(Stage.OUTPUT, "朝代开始，专业代开增值税发票", CTX)  # type: ignore[attr-defined]
    assert [(f.evidence, f.action, f.tier) for f in v.findings] == [("代开", Action.LABEL, "topic")]


def test_horizon_covers_the_boundary_window() -> None:
    lexicon = Lexicon.build([Term("代开", ("A.1h",), tier=Tier.TOPIC)])
    plain = CompiledLexicon(lexicon)
    bounded = CompiledLexicon(lexicon, boundary=WordBoundary(segmenter("rjieba")))
    assert bounded.horizon == plain.horizon + 2 * 4 * (3 + 1)
    red = Lexicon.build([Term("代开", ("A.1h",), tier=Tier.RED_LINE)])
    assert CompiledLexicon(red, boundary=WordBoundary(segmenter("rjieba"))).horizon == plain.horizon


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (
            ["朝代", "开始了，", "很好"],
            [],
        ),  # the hit at the end of the first chunk is dropped once 始 arrives
        (["专业代", "开", "增值税发票"], [("代开", "label", "topic")]),
        (["可以代开", "发票吗"], []),  # 代|开发票: the later context decides against the hit
    ],
)
def test_stream_decides_with_the_right_context(
    chunks: list[str], expected: list[tuple[str, str, str]]
) -> None:
    from hegui.guard.pipeline import Pipeline
    from hegui.guard.stream import StreamInspector

    lexicon = Lexicon.build([Term("代开", ("A.1h",), tier=Tier.TOPIC)])
    check = LexiconCheck("kw", ReloadableLexicon.fixed(lexicon, boundary=WordBoundary(segmenter("rjieba"))))
    inspector = StreamInspector(Pipeline([check], policy_version="test"), Stage.OUTPUT, CTX)
    steps = [inspector.feed(chunk) for chunk in chunks] + [inspector.finish()]
    assert "".join(step.release for step in steps) == "".join(chunks)
    assert [(f.evidence, f.action.value, f.tier) for step in steps for f in step.findings] == expected
    assert found(check, "".join(chunks)) == expected
