"""Recognizers of personal information: one small object per kind, a pattern plus a validator.

Each recognizer finds candidates with a bounded regular expression, strips separators, and keeps only
candidates that validate (checksum, date, address range). ``max_span`` is the longest stretch of the
original text one match can depend on, *including* the characters its boundary checks look at: it is
what the check reports as its stream horizon. A recognizer must never match an unbounded stretch (the
stream could not hold it back) and must never do I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hegui.guard.pii import validators as v


@dataclass(frozen=True, slots=True)
class PIIMatch:
    """One piece of personal information, with its span in the inspected text."""

    entity: str
    start: int
    end: int
    text: str
    score: float
    sensitive: bool
    explanation: str


@runtime_checkable
class Recognizer(Protocol):
    """Finds one kind of personal information. Attributes are read-only."""

    @property
    def entity(self) -> str: ...

    @property
    def label_zh(self) -> str:
        """Short name for mask labels."""

    @property
    def label_en(self) -> str:
        """ASCII name for pseudonym tokens."""

    @property
    def sensitive(self) -> bool:
        """Sensitive personal information (PIPL art. 28; GB/T 35273 annex B): needs separate consent."""

    @property
    def max_span(self) -> int: ...

    def find(self, text: str) -> list[PIIMatch]: ...


def _strip_separators(s: str) -> str:
    return re.sub(r"[\s\-·]", "", s)


@dataclass(frozen=True, slots=True)
class PatternRecognizer:
    """A bounded regular expression, an optional validator on the separator-free candidate."""

    entity: str
    label_zh: str
    label_en: str
    pattern: re.Pattern[str]
    max_span: int
    sensitive: bool = False
    validator: Callable[[str], bool] | None = None
    score: float = 0.95
    explanation: str = ""
    #: The group whose span is the personal information (the rest is context such as a keyword).
    group: str | int = 0
    #: Whether separators are removed before validation.
    strip: bool = True
    #: A character class every match needs somewhere: a text without one is skipped with one cheap search
    #: instead of a scan of the whole pattern (a long Chinese text has no digit, Latin letter, @ or :).
    trigger: re.Pattern[str] | None = None

    def find(self, text: str) -> list[PIIMatch]:
        out: list[PIIMatch] = []
        if self.trigger is not None and self.trigger.search(text) is None:
            return out
        for m in self.pattern.finditer(text):
            group = self.group if m.start(self.group) >= 0 else 0
            start, end = m.span(group)
            if start == end:
                continue
            value = m.group(group)
            candidate = _strip_separators(value) if self.strip else value
            if self.validator is not None and not self.validator(candidate):
                continue
            out.append(PIIMatch(self.entity, start, end, value, self.score, self.sensitive, self.explanation))
        return out


#: What every pattern of this module needs somewhere in its match (digits include full-width ones, as
#: ``\d`` does). The name and address heuristics (heuristics.py) match Chinese text and have none.
_TRIGGER = re.compile(r"[\dA-Za-z@:]")

_SEP = r"[ \-]?"
_NO_DIGIT_BEFORE = r"(?<![0-9])"
_NO_DIGIT_AFTER = r"(?![0-9])"

RESIDENT_ID = PatternRecognizer(
    "resident_id",
    "身份证号",
    "ID_NUMBER",
    re.compile(rf"{_NO_DIGIT_BEFORE}[1-9]\d{{5}}{_SEP}(?:19|20)\d{{6}}{_SEP}\d{{3}}[0-9Xx](?![0-9A-Za-z])"),
    max_span=22,
    sensitive=True,
    validator=v.resident_id_valid,
    score=0.99,
    explanation="18-character resident identity number with a valid birth date and check character",
    trigger=_TRIGGER,
)

#: RESIDENT_ID without the check: every 18-character ID-shaped number, for a policy that would rather mask
#: a mistyped ID (wrong check character or date) than let it through (`resident_id_checksum = false`).
RESIDENT_ID_SHAPE = PatternRecognizer(
    "resident_id",
    "身份证号",
    "ID_NUMBER",
    RESIDENT_ID.pattern,
    max_span=22,
    sensitive=True,
    validator=None,
    score=0.9,
    explanation="18-character number shaped like a resident identity number (check character not validated)",
    trigger=_TRIGGER,
)

MOBILE = PatternRecognizer(
    "mobile",
    "手机号",
    "PHONE",
    re.compile(
        rf"(?:(?<![0-9+])\+?86[ \-]?|{_NO_DIGIT_BEFORE})1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}{_NO_DIGIT_AFTER}"
    ),
    max_span=19,
    score=0.9,
    explanation="mainland mobile number (1[3-9] and nine digits, optional +86)",
    trigger=_TRIGGER,
)

LANDLINE = PatternRecognizer(
    "landline",
    "座机号",
    "LANDLINE",
    re.compile(
        r"(?:(?<![0-9])\(0[1-9]\d{1,2}\)[ \-]?|(?<![0-9\-])0[1-9]\d{1,2}[ \-])"
        r"[2-9]\d{6,7}(?:-\d{1,5})?(?![0-9])"
    ),
    max_span=26,
    score=0.85,
    explanation="landline with area code: 010-12345678, (0755) 1234567, optional extension",
    trigger=_TRIGGER,
)

BANK_CARD = PatternRecognizer(
    "bank_card",
    "银行卡号",
    "BANK_CARD",
    re.compile(r"(?<![0-9])[3-69]\d{3}(?:[ \-]?\d{4}){3}(?:[ \-]?\d{1,3})?(?![0-9])"),
    max_span=25,
    sensitive=True,
    validator=lambda s: 16 <= len(s) <= 19 and v.luhn_valid(s),
    score=0.9,
    explanation="16 to 19 digit payment card number that passes the Luhn check",
    trigger=_TRIGGER,
)

USCC = PatternRecognizer(
    "uscc",
    "统一社会信用代码",
    "USCC",
    re.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Za-z])"),
    max_span=20,
    validator=v.uscc_valid,
    score=0.97,
    strip=False,
    explanation="18-character unified social credit code with a valid check character",
    trigger=_TRIGGER,
)

# Chinese ordinary passports: E + 8 digits or E + letter + 7 digits (2012-); G-series before that.
# Passports of other countries have no fixed form, so they are only taken after the word "passport".
PASSPORT = PatternRecognizer(
    "passport",
    "护照号",
    "PASSPORT",
    re.compile(
        r"(?<![0-9A-Za-z])(?:E[0-9A-HJ-NP-Z]\d{7}|[GDSP]\d{8})(?![0-9A-Za-z])"
        r"|(?:护照|[Pp]assport)(?:号码|号|\s?[Nn]o\.?|\s?[Nn]umber)?[:：\s]{0,3}"
        r"(?P<doc>[A-Z0-9]{6,9})(?![0-9A-Za-z])"
    ),
    max_span=28,
    sensitive=True,
    score=0.85,
    strip=False,
    group="doc",
    explanation="Chinese passport number (E/G series), or a number after the word passport",
    trigger=_TRIGGER,
)

EMAIL = PatternRecognizer(
    "email",
    "邮箱",
    "EMAIL",
    re.compile(
        r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@(?:[A-Za-z0-9\-]{1,63}\.){1,8}[A-Za-z]{2,24}"
        r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
    ),
    max_span=256,
    validator=v.email_valid,
    score=0.95,
    strip=False,
    explanation="e-mail address",
    trigger=_TRIGGER,
)

IPV4 = PatternRecognizer(
    "ipv4",
    "IP地址",
    "IP",
    re.compile(r"(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?[0-9])"),
    max_span=18,
    validator=v.ipv4_valid,
    score=0.8,
    strip=False,
    explanation="IPv4 address",
    trigger=_TRIGGER,
)

IPV6 = PatternRecognizer(
    "ipv6",
    "IP地址",
    "IP",
    re.compile(r"(?<![0-9A-Za-z:.])[0-9A-Fa-f:][0-9A-Fa-f:.]{0,43}[0-9A-Fa-f:](?![0-9A-Za-z:])"),
    max_span=47,
    validator=v.ipv6_valid,
    score=0.85,
    strip=False,
    explanation="IPv6 address",
    trigger=_TRIGGER,
)

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTER = "A-HJ-NP-Z"

LICENCE_PLATE = PatternRecognizer(
    "licence_plate",
    "车牌号",
    "PLATE",
    re.compile(
        rf"[{_PROVINCES}][{_PLATE_LETTER}][·\s]?"
        rf"(?:[DF][{_PLATE_LETTER}0-9]\d{{4}}|\d{{5}}[DF]"
        rf"|(?=[{_PLATE_LETTER}0-9]{{0,4}}\d)[{_PLATE_LETTER}0-9]{{4}}[{_PLATE_LETTER}0-9挂学警港澳])"
        rf"(?![{_PLATE_LETTER}0-9a-z])"
    ),
    max_span=10,
    score=0.85,
    explanation="mainland licence plate (province, letter, five characters; new-energy six)",
    trigger=_TRIGGER,
)
