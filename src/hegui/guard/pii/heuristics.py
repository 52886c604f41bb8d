"""Heuristic recognizers for Chinese postal addresses and personal names.

Neither has a checksum, so both are deliberately narrow: an address needs a road (路/街/道/巷/胡同/弄)
followed by a house number (号), optionally preceded by administrative divisions and followed by
building and room; a name is taken only after a cue such as 我叫 / 姓名 / 收件人 and must start with a
common surname. Their scores are lower than those of the validated recognizers so that a validated
match wins an overlap. Known limits are in docs/guard-checks.md; these must never match an unbounded
stretch of text.
"""

from __future__ import annotations

import re

from hegui.guard.pii.recognizers import PatternRecognizer

# Characters that start or join clauses; an address or a name never contains them, which keeps
# "我住在" out of the span of the address that follows it.
_STOPS = "的了在住于是到从往去来我你他她它们和与及或把被给向为就都也还要说叫请帮找寄送发收"
_W = rf"[^\W\d_A-Za-z{_STOPS}]"

_ADMIN = (
    rf"(?:{_W}{{1,6}}(?:省|自治区|特别行政区))?"
    rf"(?:{_W}{{1,6}}(?:市|自治州|地区|盟))?"
    rf"(?:{_W}{{1,6}}(?:区|县|旗))?"
    rf"(?:{_W}{{1,7}}(?:镇|乡|街道))?"
)
_ROAD = rf"{_W}{{1,10}}(?:路|街|大道|巷|胡同|弄)"
_NUMBER = r"\d{1,5}(?:号院|号|弄)"
_UNIT = rf"(?:{_W}{{0,6}}\d{{1,4}}(?:号楼|栋|幢|座|单元|层|楼|室))"

ADDRESS = PatternRecognizer(
    "address",
    "地址",
    "ADDRESS",
    re.compile(rf"{_ADMIN}{_ROAD}{_NUMBER}{_UNIT}{{0,4}}"),
    max_span=120,
    score=0.6,
    strip=False,
    explanation="road and house number, with any divisions before and building/room after (heuristic)",
    trigger=re.compile(r"\d"),  # a house number
    anchors=(re.compile(r"\d(?:号|弄)"),),
    run=re.compile(rf"[^\W_A-Za-z{_STOPS}]"),  # _W and digits: an address stops at a clause word or a mark
)

_SINGLE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱"
    "严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁"
    "尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时"
    "穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾"
    "隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_COMPOUND_SURNAMES = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|令狐|端木|西门|南宫"
_CUES = "我叫|名叫|姓名|名字是|名字叫|联系人|收件人|收货人|寄件人|患者|持卡人|户主|申请人|当事人"

PERSON_NAME = PatternRecognizer(
    "person_name",
    "姓名",
    "NAME",
    re.compile(
        rf"(?:{_CUES})(?:是|为)?[:：\s]{{0,2}}"
        rf"(?P<name>(?:{_COMPOUND_SURNAMES}|[{_SINGLE_SURNAMES}]){_W}{{1,2}})(?!{_W})"
    ),
    max_span=16,
    score=0.6,
    group="name",
    strip=False,
    explanation="a surname and one or two characters after a cue such as 我叫 or 姓名 (heuristic)",
    anchors=(re.compile(_CUES),),
)
