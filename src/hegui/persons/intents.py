"""What a request asks to do with a person, and what an answer says of one: patterns over normalized text.

Normalized text has no white space or punctuation and is case-folded and simplified
(`hegui.text.normalize`), so ``Pretend to be`` is ``pretendtobe`` and ``聲音`` is ``声音``. Each scope
has verbs and nouns; a request asks for a scope when a verb *and* a noun of it stand within the window
around a registered name (``画一张林晓雯的照片``: 画 … 照片), or when one of its stand-alone phrases
does (``换脸``, ``扮演``). A lone noun (``林晓雯的照片在哪里``) is a question about the person, not a
request to make a likeness.

The defamation terms are generic Chinese and English insults and accusations of crimes, for the
output stage; a provider adds its own in the policy. None of these lists names anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hegui.persons.model import Scope


@dataclass(frozen=True, slots=True)
class Intent:
    scope: Scope
    verbs: re.Pattern[str]
    nouns: re.Pattern[str]
    alone: re.Pattern[str]
    #: How a finding words the request.
    wording: str


def _any(words: str) -> re.Pattern[str]:
    return re.compile("|".join(sorted(words.split(), key=len, reverse=True)))


INTENTS = (
    Intent(
        Scope.LIKENESS,
        _any("画 绘制 绘 生成 合成 制作 做 p ps 修 换 来 给我 出 拍 draw generate create make render paint"),
        _any(
            "照片 图片 图像 画像 肖像 头像 写真 视频 海报 表情包 形象 长相 样子 脸 裸照 photo picture image "
            "portrait selfie video"
        ),
        _any("换脸 换成 深度伪造 deepfake faceswap 以假乱真"),
        "depict",
    ),
    Intent(
        Scope.VOICE,
        _any("克隆 复刻 模仿 模拟 合成 生成 用 学 配 录 做 变 clone imitate synthesize mimic use make"),
        _any("声音 音色 嗓音 语音 声线 口音 配音 腔调 voice tts"),
        _any("声音克隆 语音克隆 变声 voiceclone clonevoice"),
        "clone the voice of",
    ),
    Intent(
        Scope.NAME,
        _any("以 用 假装 冒充 扮演 模仿 假扮 冒名 代替 替 as"),
        _any("身份 口吻 名义 语气 角色 自居 本人 说话 发言 发声 发帖 写信 回复"),
        _any(
            "扮演 假装是 假装成 冒充 假扮 冒名 你现在是 你就是 你是 以第一人称 roleplay pretendtobe impersonate "
            "actas speakas youare"
        ),
        "impersonate",
    ),
)

DEFAMATION = [
    "骗子",
    "诈骗",
    "行骗",
    "骗钱",
    "贪污",
    "受贿",
    "行贿",
    "腐败",
    "嫖娼",
    "卖淫",
    "吸毒",
    "贩毒",
    "出轨",
    "劈腿",
    "偷税",
    "漏税",
    "逃税",
    "强奸",
    "性侵",
    "猥亵",
    "杀人",
    "犯罪",
    "坐牢",
    "入狱",
    "被捕",
    "判刑",
    "人渣",
    "垃圾",
    "败类",
    "无耻",
    "下流",
    "畜生",
    "禽兽",
    "婊子",
    "抄袭",
    "造假",
    "丑闻",
    "小偷",
    "流氓",
    "神经病",
    "包养",
    "小三",
    "卖国贼",
    "汉奸",
    "骗局",
    "洗钱",
    "黑幕",
    "fraud",
    "scammer",
    "liar",
    "corrupt",
    "rapist",
    "criminal",
    "thief",
    "cheater",
    "pervert",
]
