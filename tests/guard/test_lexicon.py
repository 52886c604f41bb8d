"""The lexicon check: every evasion class, the match rules, actions, allow-lists, reload."""

from __future__ import annotations

import pytest

from hegui.guard.lexicon import CompiledLexicon, Lexicon, LexiconCheck, ReloadableLexicon, Term
from hegui.guard.lexicon.paircode import PairAutomaton
from hegui.guard.types import Action, Check, Context

CTX = Context()
TERMS = (
    Term("违禁词", ("A.1h",)),
    Term("暴恐视频", ("A.1d",), Action.BLOCK_USER),
    Term("badword", ("A.1f",)),
    Term("口交", ("A.1f",)),
    Term("哈哈大笑", ("A.2i",), Action.LABEL),  # a term with its own doubled character
    Term("示例", ("A.1a",), pinyin=True),
    Term("6666", ("A.1h",)),
)


def check(allow: tuple[str, ...] = ("路口交通",), **kw: object) -> LexiconCheck:
    lex = Lexicon.build(TERMS, allow)
    return LexiconCheck("kw", ReloadableLexicon.fixed(lex), **kw)  # type: ignore[arg-type]


def spans(text: str, c: LexiconCheck | None = None) -> list[tuple[int, int, str]]:
    return [(f.start, f.end, f.evidence) for f in (c or check()).inspect(text, CTX)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("这是违禁词。", [(2, 5, "违禁词")]),  # plain
        ("這是違禁詞。", [(2, 5, "違禁詞")]),  # traditional
        ("ＢＡＤＷＯＲＤ!", [(0, 7, "ＢＡＤＷＯＲＤ")]),  # full-width + case
        ("BadWord", [(0, 7, "BadWord")]),  # case
        ("bаdwоrd", [(0, 7, "bаdwоrd")]),  # Cyrillic look-alikes
        ("违\u200b禁\u200d词", [(0, 5, "违\u200b禁\u200d词")]),  # zero-width
        ("违 禁 词", [(0, 5, "违 禁 词")]),  # spaces
        ("违*禁*词", [(0, 5, "违*禁*词")]),  # symbols
        ("违。禁。词", [(0, 5, "违。禁。词")]),  # punctuation
        ("b-a-d-w-o-r-d", [(0, 13, "b-a-d-w-o-r-d")]),
        ("违违禁禁词词", [(1, 5, "违禁禁词")]),  # repeated characters
        ("baaadword", [(0, 9, "baaadword")]),
        ("说shi li一下", [(1, 7, "shi li")]),  # pinyin of a flagged term
        ("就是SL吧", [(2, 4, "SL")]),  # pinyin initials
        ("６６６６", [(0, 4, "６６６６")]),  # digit styles (full-width)
        ("⑥⑥⑥⑥", [(0, 4, "⑥⑥⑥⑥")]),
    ],
)
def test_evasions_are_found(text: str, expected: list[tuple[int, int, str]]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("我们去路口交通站", "allow-listed longer word around the term"),
        ("badwords are fine", "Latin word boundary on the right"),
        ("abadword", "Latin word boundary on the left"),
        ("违*******禁词", "more inserted characters than max_gap allows"),
        ("666", "the term's own run of four sixes is required"),
        ("16666", "digits continue before the term"),
        ("哈大笑", "the term's doubled character is required"),
        ("xshili", "Latin boundary on a pinyin spelling"),
        ("weijinci", "pinyin only for flagged terms"),
        ("违禁", "a prefix only"),
    ],
)
def test_not_found(text: str, why: str) -> None:
    assert spans(text) == [], why


def test_term_with_doubled_character() -> None:
    assert spans("他哈哈大笑") == [(1, 5, "哈哈大笑")]
    assert spans("他哈哈哈哈大笑") == [(3, 7, "哈哈大笑")]


def test_max_gap_is_configurable() -> None:
    strict = LexiconCheck("kw", ReloadableLexicon.fixed(Lexicon.build(TERMS), max_gap=0))
    assert spans("违禁词", strict) == [(0, 3, "违禁词")]
    assert spans("违 禁词", strict) == []


@pytest.mark.parametrize(
    ("text", "action", "category"),
    [
        ("违禁词", Action.REFUSE, "A.1h"),  # the check's action
        ("暴恐视频", Action.BLOCK_USER, "A.1d"),  # the term's own action
        ("哈哈大笑", Action.LABEL, "A.2i"),
    ],
)
def test_actions_and_categories(text: str, action: Action, category: str) -> None:
    (f,) = check().inspect(text, CTX)
    assert (f.action, f.category, f.check) == (action, category, "kw")


def test_category_actions() -> None:
    c = check(category_actions={"A.1h": Action.MASK})
    assert [f.action for f in c.inspect("违禁词 badword", CTX)] == [Action.MASK, Action.REFUSE]


def test_nested_occurrence_with_lower_action_is_left_out() -> None:
    lex = Lexicon.build([Term("违禁词", ("A.1h",)), Term("禁词", ("A.1h",), Action.LABEL)])
    c = LexiconCheck("kw", ReloadableLexicon.fixed(lex))
    assert spans("违禁词", c) == [(0, 3, "违禁词")]
    assert spans("禁词", c) == [(0, 2, "禁词")]


def test_implements_check_protocol_and_horizon() -> None:
    c = check()
    assert isinstance(c, Check)
    # the longest term, "badword" (7): 7 + 3 * 6 inserted + 2 Latin boundary characters
    assert c.horizon == 7 + 3 * 6 + 2
    with pytest.raises(AttributeError):
        c.horizon = 1


def test_reload_swaps_on_next_call() -> None:
    box = [Lexicon.build([Term("违禁词", ("A.1h",))])]
    source = ReloadableLexicon(lambda: box[0])
    c = LexiconCheck("kw", source)
    first = c.version
    assert spans("新词", c) == []
    box[0] = Lexicon.build([Term("新词", ("A.1h",))])
    assert source.reload() is True
    assert c.version != first
    assert spans("新词", c) == [(0, 2, "新词")]
    assert source.reload() is False


def test_failed_reload_keeps_the_old_lexicon() -> None:
    box: list[Lexicon | None] = [Lexicon.build([Term("违禁词", ("A.1h",))])]

    def load() -> Lexicon:
        if box[0] is None:
            raise ValueError("broken file")
        return box[0]

    source = ReloadableLexicon(load)
    box[0] = None
    with pytest.raises(ValueError, match="broken"):
        source.reload()
    assert LexiconCheck("kw", source).inspect("违禁词", CTX)


@pytest.mark.parametrize("terms", [["b\x7f"], ["**"]])
def test_entries_that_normalize_to_nothing_usable_are_skipped(terms: list[str]) -> None:
    lex = Lexicon.build([Term(t, ("A.1h",)) for t in [*terms, "违禁词"]])
    compiled = CompiledLexicon(lex)
    assert compiled.skipped == terms
    assert compiled.find("b 违禁词 **") and all(m.term.text == "违禁词" for m in compiled.find("b 违禁词"))


def test_version_hash_depends_on_content() -> None:
    a = Lexicon.build([Term("违禁词", ("A.1h",))])
    b = Lexicon.build([Term("违禁词", ("A.1h",))])
    c = Lexicon.build([Term("违禁词", ("A.1f",))])
    d = a.with_allow(["违禁词典"])
    assert a.version == b.version
    assert len({a.version, c.version, d.version}) == 3


def test_duplicates_merge_categories() -> None:
    lex = Lexicon.build([Term("违禁词", ("A.1h",)), Term("违禁词", ("A.1f",), Action.MASK)])
    assert lex.terms == (Term("违禁词", ("A.1h", "A.1f"), Action.MASK),)


def test_a_lone_surrogate_does_not_stop_the_search() -> None:
    """JSON may carry one ("\\ud800"); a search of the UTF-8 string could not read it."""
    assert spans("\ud800这是违禁词\udfff") == [(3, 6, "违禁词")]


def test_a_lexicon_of_many_distinct_characters_is_searched_as_strings() -> None:
    terms = [Term(chr(0x20000 + i) + chr(0x20000 + i + 1), ("A.1h",)) for i in range(0, 17000, 2)]
    compiled = CompiledLexicon(Lexicon.build([*terms, Term("违禁词", ("A.1h",))]))
    assert not isinstance(compiled._automaton, PairAutomaton)  # more than the two-byte code can number
    assert [m.term.text for m in compiled.find("这是违禁词")] == ["违禁词"]
    assert [m.term.text for m in compiled.find("\U00020000\U00020001")] == ["\U00020000\U00020001"]
