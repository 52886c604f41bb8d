"""A request's question is judged by the prompt model at the input stage and again, as the answer model's
q, at the output stage: the second judgement reuses the first's scores."""

from __future__ import annotations

from typing import Any

import pytest

from hegui.guard.judge.answer import BUNDLED_ANSWER, AnswerRiskModel
from hegui.guard.judge.linear import LinearModel
from hegui.guard.judge.prompt import (
    BUNDLED_PROMPT,
    REMEMBER_CHARS,
    REMEMBER_MAX_CHARS,
    SCORES_REMEMBERED,
    PromptRiskModel,
)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = LinearModel.score

    def score(self: LinearModel, text: str) -> Any:
        calls.append(text)
        return real(self, text)

    monkeypatch.setattr(LinearModel, "score", score)
    return calls


def test_the_question_is_scored_once_for_both_stages(counted: list[str]) -> None:
    prompts = PromptRiskModel(LinearModel.load(None, BUNDLED_PROMPT))  # fresh: nothing remembered yet
    answers = AnswerRiskModel(LinearModel.load(None, BUNDLED_ANSWER), prompts)
    question = "请介绍一下北京的历史文化。"
    first = prompts.assess(question, explain_from=0.9)
    assert prompts.assess("".join(question), explain_from=0.0).score == first.score  # equal text, any object
    assert counted.count(question) == 1
    answers.assess("北京有三千多年的建城史。", question)
    assert counted.count(question) == 1


def test_the_bundled_prompt_model_is_one_instance_for_both_checks() -> None:
    assert PromptRiskModel.load() is PromptRiskModel.load()
    assert AnswerRiskModel.load().prompt is PromptRiskModel.load()


def test_only_the_last_texts_are_remembered(counted: list[str]) -> None:
    prompts = PromptRiskModel(LinearModel.load(None, BUNDLED_PROMPT))
    texts = [f"第{i}个问题：今天天气怎么样？" for i in range(SCORES_REMEMBERED + 1)]
    for text in texts:
        prompts.assess(text)
    prompts.assess(texts[0])  # pushed out by the newer ones: scored again
    prompts.assess(texts[-1])  # still remembered
    assert counted.count(texts[0]) == 2 and counted.count(texts[-1]) == 1


def test_a_long_text_is_not_remembered(counted: list[str]) -> None:
    prompts = PromptRiskModel(LinearModel.load(None, BUNDLED_PROMPT))
    long = "今天天气很好，" * (REMEMBER_MAX_CHARS // 7 + 1)
    prompts.assess(long)
    prompts.assess(long)
    assert counted.count(long) == 2


def test_the_remembered_texts_hold_at_most_a_budget_of_characters(counted: list[str]) -> None:
    """Long texts push out the oldest ones once their characters pass `REMEMBER_CHARS`, whatever their
    number: the memory the scores hold is bounded by characters, not only by texts."""
    prompts = PromptRiskModel(LinearModel.load(None, BUNDLED_PROMPT))
    size = REMEMBER_MAX_CHARS
    fitting = REMEMBER_CHARS // size
    texts = [f"{i:04d}" + "今天天气很好，" * ((size - 4) // 7) for i in range(fitting + 1)]
    assert all(len(t) <= size for t in texts) and fitting + 1 < SCORES_REMEMBERED
    for text in texts:
        prompts.assess(text)
    prompts.assess(texts[-1])  # the newest: remembered
    prompts.assess(texts[1])  # still within the budget
    prompts.assess(texts[0])  # the oldest: pushed out by characters, not by count
    assert counted.count(texts[-1]) == 1 and counted.count(texts[1]) == 1 and counted.count(texts[0]) == 2


def test_many_short_texts_are_remembered(counted: list[str]) -> None:
    """Chat-length questions stay remembered across many other requests' texts (issue 16: under load
    the question's scores were pushed out before its answer was judged)."""
    prompts = PromptRiskModel(LinearModel.load(None, BUNDLED_PROMPT))
    question = "请介绍一下北京的历史文化。"
    prompts.assess(question)
    for i in range(500):  # 250 other requests: a prompt and an answer each
        prompts.assess(f"第{i}个问题：今天天气怎么样？")
    prompts.assess(question)
    assert counted.count(question) == 1
