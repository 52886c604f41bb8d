"""Chinese person names in a prompt, for the ``[media] person_names = "refuse"`` switch: an image or voice
request that names a real person who is not in the registry is refused (persons the registry knows are
the ``persona`` check's, with their authorizations).

Recognizer: rjieba's part-of-speech tagger (a maintained Rust port of jieba, already a hegui
dependency), whose ``nr`` tag marks person names, filtered by a list of common surnames (single and
compound), a length of two to four Chinese characters, and the word's frequency in jieba's dictionary:
jieba tags many ordinary words ``nr`` (谢谢, 许可证, 胡同, 王子), and those are frequent words, while a
name is rare in the dictionary or absent from it. The frequency table is the ``jieba`` package's (the
``[names]`` extra); without it the recognizer is not available and a policy that switches it on is
refused when loaded. What remains is measured (benchmarks/person_names_bench.py, RESULTS.md). The
surname list is generic: it names nobody.

Pure: no I/O after the tagger's dictionary is loaded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

#: Common single-character surnames (about 95 % of the population's) and compound surnames.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施"
    "文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷"
    "盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷"
    "晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "百里",
        "呼延",
        "万俟",
    ]
)
_TAGS = frozenset(("nr", "nrfg"))
#: Last characters of place, building, product and legal words that jieba tags ``nr`` when they start
#: with a surname character (舒适型, 陈列馆, 龙庆峡, 宋庄, 艾美奖, 安全法); given names rarely end so.
NOT_NAME_ENDINGS = frozenset("型馆峡庄奖法证制性式店楼院园厅堂寺桥港站城场所局厂队部科市县省村路街湾岛镇区")


@dataclass(frozen=True, slots=True)
class NameSpan:
    name: str
    start: int
    end: int


def _cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


def _surname_ok(word: str) -> bool:
    if word[:2] in COMPOUND_SURNAMES:
        return 3 <= len(word) <= 4
    return word[0] in SURNAMES and 2 <= len(word) <= 3


@functools.lru_cache(maxsize=1)
def _tagger() -> object:
    import rjieba

    return rjieba


@functools.lru_cache(maxsize=1)
def _frequencies() -> dict[str, int]:
    """jieba's dictionary frequencies (loaded once, about a second)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    freq: dict[str, int] = jieba.dt.FREQ
    return freq


def available() -> str | None:
    """Why the recognizer cannot run here, or None."""
    try:
        import jieba  # noqa: F401
    except ImportError:
        return "the [names] extra is not installed (pip install 'hegui[names]')"
    return None


#: An ``nr`` word at least this frequent in jieba's dictionary is an ordinary word tagged as a name.
COMMON = 200


class NameRecognizer:
    """Person names in Chinese text: ``nr``-tagged words with a common surname, 2 to 4 characters,
    less frequent than ``common`` in jieba's dictionary."""

    def __init__(self, common: int = COMMON) -> None:
        self.common = common

    def names(self, text: str) -> list[NameSpan]:
        rjieba = _tagger()
        freq = _frequencies()
        out: list[NameSpan] = []
        pos = 0
        for word, tag in rjieba.tag(text):  # type: ignore[attr-defined]
            start = text.find(word, pos)
            if start < 0:
                start = pos
            end = start + len(word)
            pos = end
            if (
                tag in _TAGS
                and all(_cjk(c) for c in word)
                and _surname_ok(word)
                and freq.get(word, 0) < self.common
                and word[-1] not in NOT_NAME_ENDINGS
            ):
                out.append(NameSpan(word, start, end))
        return out
