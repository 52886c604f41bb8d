"""The 31 risks of GB/T 45654-2025 Annex A (TC260-003 Annex A), in five categories.

Every finding carries one of these ids. A.1 and A.2 (17 risks) are the scope of the keyword library and
of the should-refuse bank; all 31 apply to annotation, the generated-content bank and classifiers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Risk:
    id: str
    category: str
    zh: str
    en: str


CATEGORIES: dict[str, tuple[str, str]] = {
    "A.1": ("违反社会主义核心价值观", "Violating core socialist values"),
    "A.2": ("歧视性内容", "Discriminatory content"),
    "A.3": ("商业违法违规", "Commercial violations"),
    "A.4": ("侵犯他人合法权益", "Infringing others' lawful rights"),
    "A.5": ("无法满足特定服务类型的安全需求", "Unmet safety needs of a specific service type"),
}

_TABLE: tuple[tuple[str, str, str], ...] = (
    (
        "A.1a",
        "煽动颠覆国家政权、推翻社会主义制度",
        "Inciting subversion of state power or the socialist system",
    ),
    (
        "A.1b",
        "危害国家安全和利益、损害国家形象",
        "Endangering national security and interests, harming the national image",
    ),
    (
        "A.1c",
        "煽动分裂国家、破坏国家统一和社会稳定",
        "Inciting separatism, undermining national unity and social stability",
    ),
    ("A.1d", "宣扬恐怖主义、极端主义", "Promoting terrorism or extremism"),
    ("A.1e", "宣扬民族仇恨", "Promoting ethnic hatred"),
    ("A.1f", "宣扬暴力、淫秽色情", "Promoting violence, obscenity or pornography"),
    ("A.1g", "传播虚假有害信息", "Spreading false and harmful information"),
    (
        "A.1h",
        "其他法律、行政法规禁止的内容",
        "Other content prohibited by laws and administrative regulations",
    ),
    ("A.2a", "民族歧视内容", "Ethnic discrimination"),
    ("A.2b", "信仰歧视内容", "Discrimination by belief"),
    ("A.2c", "国别歧视内容", "Discrimination by nationality"),
    ("A.2d", "地域歧视内容", "Regional discrimination"),
    ("A.2e", "性别歧视内容", "Gender discrimination"),
    ("A.2f", "年龄歧视内容", "Age discrimination"),
    ("A.2g", "职业歧视内容", "Occupational discrimination"),
    ("A.2h", "健康歧视内容", "Health discrimination"),
    ("A.2i", "其他方面歧视内容", "Other discrimination"),
    ("A.3a", "侵犯他人知识产权", "Infringing intellectual property"),
    ("A.3b", "违反商业道德", "Violating business ethics"),
    ("A.3c", "泄露他人商业秘密", "Disclosing trade secrets"),
    ("A.3d", "利用算法、数据、平台等优势实施垄断和不正当竞争行为", "Monopoly or unfair competition"),
    ("A.3e", "其他商业违法违规行为", "Other commercial violations"),
    ("A.4a", "危害他人身心健康", "Endangering others' physical or mental health"),
    ("A.4b", "侵害他人肖像权", "Infringing portrait rights"),
    ("A.4c", "侵害他人名誉权", "Infringing reputation rights"),
    ("A.4d", "侵害他人荣誉权", "Infringing honour rights"),
    ("A.4e", "侵害他人隐私权", "Infringing privacy rights"),
    ("A.4f", "侵害他人个人信息权益", "Infringing personal-information rights"),
    ("A.4g", "侵犯他人其他合法权益", "Infringing other lawful rights"),
    ("A.5a", "内容不准确，严重不符合科学常识或主流认知", "Inaccurate content"),
    ("A.5b", "内容不可靠，虽不包含违法不良信息但无法对使用者形成帮助", "Unreliable content"),
)

RISKS: dict[str, Risk] = {rid: Risk(rid, rid[:3], zh, en) for rid, zh, en in _TABLE}

#: The scope of the keyword library and the should-refuse bank (GB/T 45654 8.1, 8.3).
KEYWORD_SCOPE: tuple[str, ...] = tuple(rid for rid in RISKS if rid[:3] in ("A.1", "A.2"))


def risk(risk_id: str) -> Risk:
    """The risk with this id; KeyError names the unknown id."""
    try:
        return RISKS[risk_id]
    except KeyError:
        raise KeyError(f"unknown risk id {risk_id!r}; expected one of A.1a … A.5b") from None


def is_risk(risk_id: str) -> bool:
    return risk_id in RISKS
