"""A synthetic protected corpus: seeded sentences from a small vocabulary (no third-party text)."""

from __future__ import annotations

import random

import pytest

from hegui.works.index import Work, WorksIndex

WORDS = [
    "山水",
    "明月",
    "春风",
    "故乡",
    "远方",
    "少年",
    "江湖",
    "长夜",
    "灯火",
    "归来",
    "城市",
    "河流",
    "记忆",
    "清晨",
    "窗前",
    "雨声",
    "花开",
    "落叶",
    "旅人",
    "书信",
    "海边",
    "老街",
    "黄昏",
    "钟声",
    "炊烟",
    "田野",
    "星空",
    "沉默",
    "相逢",
    "告别",
    "时光",
    "梦里",
    "桥头",
    "渡口",
    "小镇",
    "秋天",
]
MARKS = "，，，。；！？"


def prose(seed: int, chars: int) -> str:
    rnd = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < chars:
        sentence = "".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 7))) + rnd.choice(MARKS)
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:chars]


@pytest.fixture(scope="session")
def make_prose() -> object:
    return prose


@pytest.fixture(scope="session")
def works() -> list[Work]:
    return [Work(f"work-{i}", prose(i, 3000)) for i in range(5)]


@pytest.fixture(scope="session")
def index(works: list[Work]) -> WorksIndex:
    return WorksIndex.build(works)
