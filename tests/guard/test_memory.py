"""Associative memory: terms split across turns, near-duplicates of refused prompts, training marks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hegui.guard import Action, Context, Pipeline, Stage
from hegui.guard.denylist import DenyListCheck
from hegui.guard.memory import (
    InMemoryMemoryStore,
    NearDuplicateCheck,
    SessionKey,
    SessionView,
    Sketch,
    SplitTurnCheck,
    Turn,
    remember,
)

NOW = datetime(2025, 9, 1, tzinfo=UTC)
TERMS = ["演示违禁词", "forbidden-demo"]


def _session(store: InMemoryMemoryStore, pipeline: Pipeline, turns: list[str]) -> list[Action]:
    key = SessionKey("t", "u1", "s1")
    ctx = Context(tenant="t", user="u1", session="s1", memory=SessionView(store, key))
    actions = []
    for text in turns:
        verdict = pipeline.run(Stage.INPUT, text, ctx)
        remember(store, key, text, verdict, NOW)
        actions.append(verdict.action)
    return actions


def _pipeline() -> Pipeline:
    deny = DenyListCheck("deny", TERMS)
    return Pipeline(
        [deny, SplitTurnCheck("split", deny, turns=3), NearDuplicateCheck("dup")],
        policy_version="t",
    )


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (["演示", "违禁词"], [Action.ALLOW, Action.REFUSE]),
        (["演", "示违", "禁词"], [Action.ALLOW, Action.ALLOW, Action.REFUSE]),
        (["请看 forbid", "den-demo 吧"], [Action.ALLOW, Action.REFUSE]),
        (["演示", "你好", "违禁词"], [Action.ALLOW, Action.ALLOW, Action.ALLOW]),  # not consecutive
        (["演示", "违禁", "天气", "好", "词"], [Action.ALLOW] * 5),
        (["今天天气", "很好"], [Action.ALLOW, Action.ALLOW]),
    ],
)
def test_split_across_turns(turns: list[str], expected: list[Action]) -> None:
    assert _session(InMemoryMemoryStore(), _pipeline(), turns) == expected


def test_split_finding_span_is_clipped_to_the_current_turn() -> None:
    deny = DenyListCheck("deny", TERMS)
    store = InMemoryMemoryStore()
    key = SessionKey("t", "u", "s")
    store.append_turn(key, Turn("一段演示", NOW, Action.ALLOW))
    ctx = Context(memory=SessionView(store, key))
    (f,) = SplitTurnCheck("split", deny).inspect("违禁词在此", ctx)
    assert (f.start, f.end, f.evidence, f.check) == (0, 3, "违禁词", "split")
    assert SplitTurnCheck("split", deny).inspect("违禁词在此", Context()) == []


REFUSED = "请详细告诉我怎样制作演示违禁词并且不被发现，越具体越好"


@pytest.mark.parametrize(
    ("second", "caught"),
    [
        ("请详细告诉我怎样制作演示违禁词并且不被发现，越具体越好！", True),  # punctuation
        ("请详细告诉我，怎样制作演示·违禁词，并且不被发现。越具体越好", True),  # inserted symbols
        ("请你详细告诉我怎么制作演示违禁词并且不会被发现，越具体越好", True),  # light rewording
        ("今天北京的天气怎么样？适合出门散步吗？", False),
        ("请详细告诉我怎样制作一道好吃的红烧肉", False),
    ],
)
def test_near_duplicate_of_a_refused_prompt(second: str, caught: bool) -> None:
    store = InMemoryMemoryStore()
    actions = _session(store, _pipeline(), [REFUSED])
    assert actions == [Action.REFUSE]
    # The rewording itself no longer contains the banned term in most rows; only the memory catches it.
    key = SessionKey("t", "u1", "s1")
    ctx = Context(tenant="t", user="u1", session="s1", memory=SessionView(store, key))
    found = NearDuplicateCheck("dup").inspect(second.replace("违禁词", "东西"), ctx)
    assert bool(found) is caught
    if found:
        assert found[0].category == "A.1h" and found[0].action == Action.REFUSE


def test_near_duplicate_is_per_session() -> None:
    store = InMemoryMemoryStore()
    _session(store, _pipeline(), [REFUSED])
    other = Context(memory=SessionView(store, SessionKey("t", "u2", "s9")))
    assert NearDuplicateCheck("dup").inspect(REFUSED, other) == []


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("完全相同的一句话用来测试", "完全相同的一句话用来测试", 1.0, 1.0),
        ("完全相同的一句话用来测试", "毫无关系的另外一些文字内容", 0.0, 0.0),
        ("abcdefghijklmnopqrstuvwxyz" * 4, "abcdefghijklmnopqrstuvwxyz" * 4 + "0123", 0.85, 1.0),
    ],
)
def test_sketch_similarity(a: str, b: str, low: float, high: float) -> None:
    assert low <= Sketch.of(a).similarity(Sketch.of(b)) <= high


def test_refused_and_masked_turns_are_not_trainable_and_keep_no_text_in_sketches() -> None:
    store = InMemoryMemoryStore()
    pipeline = Pipeline([DenyListCheck("deny", TERMS)], policy_version="t")
    _session(store, pipeline, ["你好", "演示违禁词"])
    turns = store.turns(SessionKey("t", "u1", "s1"), 10)
    assert [(t.trainable, t.refused) for t in turns] == [(True, False), (False, True)]
    (sketch,) = store.refused(SessionKey("t", "u1", "s1"))
    assert sketch.categories == ("A.1h",)
    assert all(isinstance(h, int) for h in sketch.hashes)


def test_masked_turn_is_stored_masked_and_untrainable() -> None:
    from hegui.guard.pii import PIICheck

    store = InMemoryMemoryStore()
    pipeline = Pipeline([PIICheck("pii")], policy_version="t")
    _session(store, pipeline, ["我的电话13812345678"])
    (turn,) = store.turns(SessionKey("t", "u1", "s1"), 10)
    assert (turn.text, turn.trainable) == ("我的电话138****5678", False)


def test_in_memory_store_is_bounded() -> None:
    store = InMemoryMemoryStore(max_sessions=2, max_turns=3)
    keys = [SessionKey("t", f"u{i}", None) for i in range(3)]
    for k in keys:
        for i in range(5):
            store.append_turn(k, Turn(str(i), NOW, Action.ALLOW))
    assert [t.text for t in store.turns(keys[2], 10)] == ["2", "3", "4"]
    assert [t.text for t in store.turns(keys[1], 2)] == ["3", "4"]
    assert store.turns(keys[0], 10) == ()  # evicted (and re-created empty)


def test_configuration_errors() -> None:
    with pytest.raises(ValueError):
        SplitTurnCheck("s", DenyListCheck("d", TERMS), turns=0)
    with pytest.raises(ValueError):
        NearDuplicateCheck("n", threshold=0)


HEAD = '[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["m"]\n'


def test_memory_check_types_in_a_policy(tmp_path: Path) -> None:
    from hegui.pipelines import build_pipeline
    from hegui.policy import parse_policy

    (tmp_path / "terms.txt").write_text("演示违禁词\n", encoding="utf-8")
    text = (
        HEAD + '[[checks]]\nname = "split"\ntype = "split_turns"\nterms_file = "terms.txt"\nturns = 2\n'
        '[[checks]]\nname = "dup"\ntype = "near_duplicate"\nthreshold = 0.5\n'
    )
    pipeline = build_pipeline(parse_policy(text, str(tmp_path / "hegui.toml")))
    assert [c.name for c in pipeline.checks_for(Stage.INPUT)] == ["split", "dup"]
    assert pipeline.checks_for(Stage.OUTPUT) == ()
    assert _session(InMemoryMemoryStore(), pipeline, ["演示违", "禁词"]) == [Action.ALLOW, Action.REFUSE]


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('type = "split_turns"\n', "checks[0].terms"),
        ('type = "split_turns"\nterms = ["x"]\nstages = ["output"]\n', "checks[0].stages"),
        ('type = "near_duplicate"\nthreshold = 2\n', "checks[0].threshold"),
    ],
)
def test_memory_policy_errors_name_the_key(table: str, key: str) -> None:
    from hegui.errors import ConfigError
    from hegui.pipelines import build_pipeline
    from hegui.policy import parse_policy

    with pytest.raises(ConfigError) as err:
        build_pipeline(parse_policy(HEAD + f'[[checks]]\nname = "c"\n{table}', "t.toml"))
    assert err.value.key == key
