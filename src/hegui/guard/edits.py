"""What an image or voice *edit* instruction asks to change: face swap, face retouch, voice change,
logo or brand alteration, text alteration, or nothing biometric (background, style, objects).

Deep Synthesis Provisions Art. 14 (spec DS-02): a service that offers editing of biometric information
(a face, a voice) must prompt the user to notify the edited person and obtain that person's separate
consent. The gateway asks for a recorded consent when an edit's kind needs one (`EditKind.scope`);
this module only says which kinds an instruction asks for. It is pattern-based and pure: no I/O, no
registry, no clock. The patterns read normalized text (`hegui.text.normalize`: no spaces or
punctuation, case-folded, simplified), so ``Face-Swap``, ``換臉`` and ``换 脸`` are the same instruction.

A kind is found when one of its stand-alone phrases occurs (``换脸``, ``faceswap``), or when one of its
verbs and one of its nouns stand within ``window`` characters of each other (``把他的脸换成…``: 换 … 脸).
The lists are generic: none names anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from hegui.text.normalize import Normalizer, default_normalizer


class EditKind(StrEnum):
    FACE_SWAP = "face_swap"
    FACE_EDIT = "face_edit"
    VOICE_CHANGE = "voice_change"
    LOGO_BRAND = "logo_brand"
    TEXT_ALTERATION = "text_alteration"

    @property
    def scope(self) -> str:
        """The consent scope an edit of this kind touches: ``likeness``, ``voice``, ``brand`` or
        ``document`` (the policy's ``[media] edit_consent_scopes`` says which need a consent)."""
        return _SCOPES[self]


_SCOPES = {
    EditKind.FACE_SWAP: "likeness",
    EditKind.FACE_EDIT: "likeness",
    EditKind.VOICE_CHANGE: "voice",
    EditKind.LOGO_BRAND: "brand",
    EditKind.TEXT_ALTERATION: "document",
}


def _any(words: str) -> str:
    """A word list, kept as text: the classifier compiles it through its normalizer."""
    return words


@dataclass(frozen=True, slots=True)
class _Rule:
    """Word lists (space-separated), compiled by the classifier through its normalizer (which also
    collapses doubled letters: ``deepfake`` is matched as ``depfake``)."""

    kind: EditKind
    alone: str
    verbs: str
    nouns: str


@dataclass(frozen=True, slots=True)
class _Compiled:
    kind: EditKind
    alone: re.Pattern[str]
    verbs: re.Pattern[str]
    nouns: re.Pattern[str]


_CHANGE = (
    "换 替换 改 改成 改为 修改 变 变成 p成 ps成 p图 ps图 p掉 p一下 修 修图 美化 处理 合成 贴 放到 放在 移到 替 "
    "swap replace change edit alter put paste morph make turn"
)

RULES = (
    _Rule(
        EditKind.FACE_SWAP,
        _any(
            "换脸 换头 换个脸 换张脸 脸替换 人脸替换 人脸融合 面部替换 深度伪造 deepfake faceswap swapface headswap"
        ),
        _any("换 替换 合成 贴 放到 放在 移到 swap replace put paste"),
        _any("脸 头像 面孔 面部 人脸 五官 face head"),
    ),
    _Rule(
        EditKind.FACE_EDIT,
        _any(
            "美颜 磨皮 瘦脸 大眼 整容 变老 变年轻 返老还童 去皱 换表情 改表情 换发型 去衣 脱衣 一键脱衣 "
            "agehim ageher makehimsmile makehersmile undress faceedit retouchface"
        ),
        _any(_CHANGE + " 让 使 笑 哭 闭眼 睁眼 老 年轻 胖 瘦 smile cry older younger fatter thinner"),
        _any(
            "脸 面部 面孔 五官 表情 眼睛 嘴 鼻子 皮肤 发型 身材 长相 样子 容貌 face expression eyes mouth skin"
        ),
    ),
    _Rule(
        EditKind.VOICE_CHANGE,
        _any(
            "变声 换声 变音 声音克隆 语音克隆 克隆声音 克隆语音 音色转换 voicechange voicechanger voiceclone clonevoice"
        ),
        _any(_CHANGE + " 克隆 复刻 模仿 clone imitate mimic"),
        _any("声音 嗓音 音色 声线 语音 口音 腔调 voice timbre accent"),
    ),
    _Rule(
        EditKind.LOGO_BRAND,
        _any("改logo 换logo 改商标 换商标 改标志 换标志 去水印 去掉水印 去logo"),
        _any(_CHANGE + " 去掉 去除 删除 抹掉 remove erase"),
        _any("logo 商标 标志 品牌 标识 徽标 水印 trademark brand watermark"),
    ),
    _Rule(
        EditKind.TEXT_ALTERATION,
        _any("改签名 伪造签名 改公章 伪造公章 改日期 改金额 改成绩 p证件 ps证件 改证件"),
        _any(_CHANGE + " 伪造 forge fake"),
        _any("签名 公章 印章 证件 身份证 合同 发票 金额 成绩单 signature stamp seal id invoice contract"),
    ),
)


@dataclass(frozen=True, slots=True)
class EditHit:
    """One kind found, and the normalized text that showed it (for the audit finding)."""

    kind: EditKind
    evidence: str


@dataclass(frozen=True, slots=True)
class EditIntent:
    hits: tuple[EditHit, ...]

    @property
    def kinds(self) -> tuple[EditKind, ...]:
        return tuple(h.kind for h in self.hits)

    def scopes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h.kind.scope for h in self.hits))


class EditClassifier:
    """Classify edit instructions. ``window``: how far apart (normalized characters) a verb and a noun
    of one kind may stand."""

    def __init__(self, *, window: int = 8, normalizer: Normalizer | None = None) -> None:
        self._window = window
        self._norm = normalizer or default_normalizer()
        self._rules = [
            _Compiled(r.kind, self._compile(r.alone), self._compile(r.verbs), self._compile(r.nouns))
            for r in RULES
        ]

    def _compile(self, words: str) -> re.Pattern[str]:
        folded = {self._norm.normalize(w).text for w in words.split()}
        return re.compile("|".join(re.escape(w) for w in sorted(folded - {""}, key=len, reverse=True)))

    def classify(self, text: str) -> EditIntent:
        folded = self._norm.normalize(text).text
        hits: list[EditHit] = []
        for rule in self._rules:
            if rule.kind is EditKind.FACE_EDIT and any(h.kind is EditKind.FACE_SWAP for h in hits):
                continue  # a swap is the stronger reading of the same words
            evidence = self._match(rule, folded)
            if evidence is not None:
                hits.append(EditHit(rule.kind, evidence))
        return EditIntent(tuple(hits))

    def _match(self, rule: _Compiled, folded: str) -> str | None:
        m = rule.alone.search(folded)
        if m is not None:
            return m.group()
        for noun in rule.nouns.finditer(folded):
            lo, hi = max(0, noun.start() - self._window), min(len(folded), noun.end() + self._window)
            verb = rule.verbs.search(folded[lo : noun.start()]) or rule.verbs.search(folded[noun.end() : hi])
            if verb is not None:
                return folded[lo:hi]
        return None
