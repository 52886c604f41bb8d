"""Lexicon calibration: hit counting, the downgrade rule, pins, rates, the overrides file, the check option.

The corpora here are small synthetic ones (harmless placeholder words); the COLDataset test at the end
uses the shared data and skips without it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hegui.errors import ConfigError
from hegui.guard.lexicon.calibrate import (
    ActionResolver,
    CalibrationRule,
    HitTable,
    LabelledRow,
    Override,
    calibrate,
    count_hits,
    propose,
    refusal_rates,
)
from hegui.guard.lexicon.check import LexiconCheck, ReloadableLexicon
from hegui.guard.lexicon.matcher import CompiledLexicon
from hegui.guard.lexicon.model import Lexicon, Term
from hegui.guard.lexicon.overrides import apply_overrides, read_overrides, write_overrides
from hegui.guard.types import Action, Context, Stage
from hegui.pipelines import build_pipeline
from hegui.policy import parse_policy

# 违禁词 marks unsafe rows; 电影 and 天气 are topic words that hit safe rows as often or more;
# 测试词 has too few safe hits to be judged; 政治 is a topic word the tests pin.
LEXICON = Lexicon.build(
    [
        Term("违禁词", ("A.1f",)),
        Term("电影", ("A.1h",)),
        Term("天气", ("A.2a",)),
        Term("测试词", ("A.1h",)),
        Term("政治", ("A.1a",)),
    ]
)

ROWS = (
    [LabelledRow("这个违禁词不行", True)] * 6
    + [LabelledRow("违禁词的电影", True)] * 2
    + [LabelledRow("电影很好看，电影院也好", False)] * 5
    + [LabelledRow("今天天气和政治", False)] * 4
    + [LabelledRow("天气", True)]
    + [LabelledRow("测试词", False)] * 2
    + [LabelledRow("政治", True)]
    + [LabelledRow("什么都没有", False)] * 3
    + [LabelledRow("也没有", True)] * 2
)


@pytest.fixture(scope="module")
def compiled() -> CompiledLexicon:
    return CompiledLexicon(LEXICON)


def counts_by_text(table: HitTable) -> dict[str, tuple[int, int]]:
    return {LEXICON.terms[i].text: c for i, c in table.term_counts().items()}


def test_count_hits_counts_rows_not_occurrences(compiled: CompiledLexicon) -> None:
    ticks: list[int] = []
    table = count_hits(compiled, ROWS, ticks.append)
    assert (table.n_safe, table.n_unsafe) == (14, 12)
    assert len(ticks) == len(ROWS)
    assert counts_by_text(table) == {
        "违禁词": (0, 8),
        "电影": (5, 2),
        "天气": (4, 1),
        "政治": (4, 1),
        "测试词": (2, 0),
    }


@pytest.mark.parametrize(
    ("rule", "pinned", "expected"),
    [
        (CalibrationRule(), (), ["天气", "政治", "电影"]),
        (CalibrationRule(), ("政治",), ["天气", "电影"]),
        (CalibrationRule(min_safe=2), ("政治",), ["天气", "测试词", "电影"]),
        (CalibrationRule(min_safe=5), (), ["电影"]),
        # balanced shares: 电影 (2/12) / (2/12 + 5/14) = 0.32, 天气 (1/12) / (1/12 + 4/14) = 0.23
        (CalibrationRule(max_unsafe_share=0.3), (), ["天气", "政治"]),
        # raw shares: 电影 2/7 = 0.29, 天气 1/5 = 0.20
        (CalibrationRule(max_unsafe_share=0.25, balanced=False), (), ["天气", "政治"]),
        (CalibrationRule(max_unsafe_share=0.3, balanced=False), (), ["天气", "政治", "电影"]),
    ],
)
def test_rule(
    compiled: CompiledLexicon, rule: CalibrationRule, pinned: tuple[str, ...], expected: list[str]
) -> None:
    table = count_hits(compiled, ROWS)
    overrides, skipped = propose(LEXICON.terms, table, rule, pinned=pinned)
    assert [o.term for o in overrides] == expected
    assert all(o.action is Action.LABEL for o in overrides)
    assert skipped == len(pinned)


def test_override_carries_counts_and_reason(compiled: CompiledLexicon) -> None:
    overrides, _ = propose(LEXICON.terms, count_hits(compiled, ROWS))
    film = next(o for o in overrides if o.term == "电影")
    assert (film.safe_hits, film.unsafe_hits) == (5, 2)
    assert film.reason == "calibrated: 5 safe / 2 unsafe rows, unsafe share 0.32 < 0.5; was refuse"


@pytest.mark.parametrize(
    ("resolver", "expected"),
    [
        (ActionResolver(), ["天气", "政治", "电影"]),
        # a term whose effective action does not stop is never touched, nor raised
        (ActionResolver(category_actions={"A.2a": Action.LABEL}), ["政治", "电影"]),
        (ActionResolver(category_actions={"A.1h": Action.MASK}), ["天气", "政治"]),
        (ActionResolver(default=Action.LABEL), []),
    ],
)
def test_only_stopping_terms_are_downgraded(
    compiled: CompiledLexicon, resolver: ActionResolver, expected: list[str]
) -> None:
    overrides, _ = propose(LEXICON.terms, count_hits(compiled, ROWS), resolver=resolver)
    assert [o.term for o in overrides] == expected


def test_a_terms_own_action_is_the_current_one() -> None:
    lexicon = Lexicon.build(
        [Term("电影", ("A.1h",), Action.LABEL), Term("天气", ("A.1h",), Action.BLOCK_USER)]
    )
    table = count_hits(CompiledLexicon(lexicon), ROWS)
    overrides, _ = propose(lexicon.terms, table, CalibrationRule(to=Action.MASK))
    assert [(o.term, o.action) for o in overrides] == [("天气", Action.MASK)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_safe": 0}, "min_safe"),
        ({"max_unsafe_share": 0.0}, "max_unsafe_share"),
        ({"max_unsafe_share": 1.5}, "max_unsafe_share"),
        ({"to": Action.REFUSE}, "must not stop"),
    ],
)
def test_rule_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CalibrationRule(**kwargs)  # type: ignore[arg-type]


def test_rates_agree_with_the_lexicon_check(compiled: CompiledLexicon) -> None:
    """The summary's figures are what the real check would do with the overrides applied."""
    result = calibrate(compiled, ROWS)
    for overrides, rates in (((), result.before), (result.overrides, result.after)):
        check = LexiconCheck("kw", ReloadableLexicon.fixed(apply_overrides(LEXICON, overrides)))
        refused = [0, 0]
        found = [0, 0]
        for row in ROWS:
            findings = check.inspect(row.text, Context())
            refused[row.unsafe] += any(f.action.stops for f in findings)
            found[row.unsafe] += bool(findings)
        assert rates.safe_refused == refused[0] / 14
        assert rates.unsafe_refused == refused[1] / 12
        assert rates.safe_found == found[0] / 14
        assert rates.unsafe_found == found[1] / 12
    assert (result.before.safe_refused, result.after.safe_refused) == (11 / 14, 2 / 14)
    assert (result.before.unsafe_refused, result.after.unsafe_refused) == (10 / 12, 8 / 12)
    assert result.after.unsafe_found == result.before.unsafe_found
    assert (result.terms_hit, result.pinned_skipped) == (5, 0)


def test_rates_of_an_empty_side() -> None:
    rates = refusal_rates(LEXICON.terms, HitTable(0, 0, ()))
    assert rates.safe_refused == rates.unsafe_refused == 0.0


# ---- the overrides file ------------------------------------------------------------------------


def test_overrides_round_trip(tmp_path: Path, compiled: CompiledLexicon) -> None:
    path = tmp_path / "cal.csv"
    result = calibrate(compiled, ROWS)
    write_overrides(result.overrides, path)
    assert read_overrides(path) == list(result.overrides)
    assert path.read_text(encoding="utf-8").splitlines()[:2] == [
        "term,action,reason,safe_hits,unsafe_hits",
        '天气,label,"calibrated: 4 safe / 1 unsafe rows, unsafe share 0.23 < 0.5; was refuse",4,1',
    ]


def test_hand_written_overrides(tmp_path: Path) -> None:
    path = tmp_path / "cal.csv"
    path.write_text("\ufeffaction,term\nMASK,电影\n\nallow, 天气 \n", encoding="utf-8")
    assert read_overrides(path) == [Override("电影", Action.MASK), Override("天气", Action.ALLOW)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "overrides file not found"),
        (b"\xff\xfe", "not UTF-8"),
        (b"", "empty overrides file"),
        ("term,reason\n电影,x\n".encode(), "key 'row 1': the header row has no action column"),
        ("term,action\n电影,forbid\n".encode(), "key 'row 2': unknown action 'forbid'"),
        ("term,action\n电影,label\n电影,mask\n".encode(), "key 'row 3': term '电影' is listed twice"),
        (b"term,action\n,label\n", "key 'row 2': empty term"),
        ("term,action,safe_hits\n电影,label,-1\n".encode(), "key 'row 2': safe_hits must be"),
        ("term,action,unsafe_hits\n电影,label,x\n".encode(), "key 'row 2': unsafe_hits must be"),
    ],
)
def test_bad_overrides_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "cal.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        read_overrides(path)


def test_apply_overrides() -> None:
    applied = apply_overrides(LEXICON, [Override("电影", Action.LABEL), Override("政治", Action.BLOCK_USER)])
    assert {t.text: t.action for t in applied.terms} == {
        "违禁词": None,
        "电影": Action.LABEL,
        "天气": None,
        "测试词": None,
        "政治": Action.BLOCK_USER,
    }
    assert applied.version != LEXICON.version
    assert apply_overrides(LEXICON, []) is LEXICON


def test_apply_refuses_terms_the_lexicon_lacks() -> None:
    with pytest.raises(ConfigError, match=r"file cal.csv: 1 term\(s\) not in the lexicon .*'没有的词'"):
        apply_overrides(
            LEXICON, [Override("电影", Action.LABEL), Override("没有的词", Action.LABEL)], file="cal.csv"
        )


# ---- the check option ----------------------------------------------------------------------------

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


def setup_policy(tmp_path: Path) -> str:
    (tmp_path / "lex.txt").write_text("违禁词\n电影\n", encoding="utf-8")
    return str(tmp_path / "hegui.toml")


def test_actions_file_option_and_reload(tmp_path: Path) -> None:
    source = setup_policy(tmp_path)
    cal = tmp_path / "cal.csv"
    write_overrides([Override("电影", Action.LABEL, "reviewed")], cal)
    # tier_default red-line: every term refuses unless the actions file says otherwise (as before tiers)
    extra = 'actions_file = "cal.csv"\ntier_default = "red-line"'
    pipeline = build_pipeline(parse_policy(POLICY.format(extra=extra), source))
    verdict = pipeline.run(Stage.INPUT, "看电影", Context())
    assert (verdict.action, [(f.evidence, f.action) for f in verdict.findings]) == (
        Action.LABEL,
        [("电影", Action.LABEL)],
    )
    assert pipeline.run(Stage.INPUT, "违禁词", Context()).action is Action.REFUSE
    # the reviewer changes the file: a reload reads it again
    write_overrides([Override("电影", Action.MASK)], cal)
    check = pipeline.checks[0]
    assert isinstance(check, LexiconCheck)
    assert check.lexicon.reload()
    assert pipeline.run(Stage.INPUT, "看电影", Context()).action is Action.MASK
    # a broken file keeps the old lexicon and says why
    cal.write_text("term,action\n电影,forbid\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown action"):
        check.lexicon.reload()
    assert pipeline.run(Stage.INPUT, "看电影", Context()).action is Action.MASK


@pytest.mark.parametrize(
    ("extra", "file_text", "message"),
    [
        ('actions_file = "missing.csv"', None, "overrides file not found"),
        ('actions_file = "cal.csv"', "term,action\n电影,forbid\n", "unknown action 'forbid'"),
        ('actions_file = "cal.csv"', "term,action\n别的词,label\n", "not in the lexicon"),
        ("actions_file = 3", None, "actions_file"),
    ],
)
def test_actions_file_errors_name_the_key(
    tmp_path: Path, extra: str, file_text: str | None, message: str
) -> None:
    source = setup_policy(tmp_path)
    if file_text is not None:
        (tmp_path / "cal.csv").write_text(file_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        build_pipeline(parse_policy(POLICY.format(extra=extra), source))
    assert "checks[0].actions_file" in str(info.value)


# ---- COLDataset (shared data) -----------------------------------------------------------------------


def cold_rows(path: Path) -> list[LabelledRow]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [LabelledRow(r["TEXT"], r["label"] != "0") for r in csv.DictReader(fh)]


def test_cold_train_calibration_holds_on_dev(shared_data: Path) -> None:
    """Calibrated on train, measured on dev: fewer safe refusals, every finding still there."""
    sw = shared_data / "sensitive-word" / "src" / "main" / "resources"
    cold = shared_data / "COLDataset" / "COLDataset"
    from hegui.guard.lexicon.sources import load_lexicon

    lexicon = load_lexicon(
        sw / "sensitive_word_dict.txt",
        "plain",
        tags_file=sw / "sensitive_word_tags.txt",
        allow_file=sw / "sensitive_word_allow.txt",
    )
    compiled = CompiledLexicon(lexicon)
    train = calibrate(compiled, cold_rows(cold / "train.csv"))
    assert train.after.safe_refused < train.before.safe_refused
    dev = count_hits(compiled, cold_rows(cold / "dev.csv"))
    before = refusal_rates(lexicon.terms, dev)
    after = refusal_rates(lexicon.terms, dev, overrides=train.overrides)
    assert after.safe_refused < before.safe_refused - 0.05
    assert before.unsafe_refused - after.unsafe_refused < 0.03
    assert (after.safe_found, after.unsafe_found) == (before.safe_found, before.unsafe_found)
