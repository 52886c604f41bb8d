"""Recognizers of personal information: one small object per kind, a pattern plus a validator.

Each recognizer finds candidates with a bounded regular expression, strips separators, and keeps only
candidates that validate (checksum, date, address range). ``max_span`` is the longest stretch of the
original text one match can depend on, *including* the characters its boundary checks look at: it is
what the check reports as its stream horizon. A recognizer must never match an unbounded stretch (the
stream could not hold it back) and must never do I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
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


@functools.lru_cache(maxsize=64)
def _hits(anchor: re.Pattern[str], text: str) -> tuple[tuple[int, int], ...]:
    """An anchor's hits in a text, remembered for the next recognizer with the same anchor: the analyzer
    runs them one after another over the same text (six share the run of four digits)."""
    return tuple(m.span() for m in anchor.finditer(text))


@functools.cache
def outside_of(run: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern of one character outside a one-character class ``[...]`` or ``[^...]``."""
    source = run.pattern
    if not (source.startswith("[") and source.endswith("]")) or len(source) < 3:
        raise ValueError(f"a recognizer's run must be one character class [...] or [^...], not {source!r}")
    inside = source[2:] if source.startswith("[^") else "^" + source[1:]
    return re.compile("[" + inside, run.flags)


def run_before(outside: re.Pattern[str], text: str, pos: int, limit: int) -> int:
    """How many characters of a class end at ``pos`` (at most ``limit``); ``outside`` is the pattern of
    one character outside the class (`outside_of`)."""
    if pos == 0 or outside.match(text, pos - 1) is not None:
        return 0  # prose: the character before is outside the class, no slice of the text is read
    lo = max(0, pos - limit)
    found = outside.search(text[lo:pos][::-1])
    return pos - lo if found is None else found.start()


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
    #: Cheap patterns at least one of which every match *contains* (a run of digits, an @, a keyword).
    #: When given, the full pattern runs only on windows of ``max_span`` around the anchors' hits: the
    #: same matches as a scan of the whole text (the tests compare both), at a fraction of the cost on
    #: long texts with few digits.
    anchors: tuple[re.Pattern[str], ...] = ()
    #: A pattern of one character that every character of every match belongs to (the pattern's
    #: look-arounds may read one character beyond). A match then lies inside one *run* of such characters,
    #: and the whole text's matches in a run are those of a scan that starts just before the run. A stream
    #: needs to hold back and rescan that run rather than ``max_span`` characters
    #: (`PIIAnalyzer.holdback_at`): the e-mail recognizer's 256 would otherwise hold back 255 characters
    #: of every streamed answer. ``tests/guard/test_pii_runs.py`` checks the classes.
    run: re.Pattern[str] | None = None

    def find(self, text: str) -> list[PIIMatch]:
        if self.trigger is not None and self.trigger.search(text) is None:
            return []
        return self.find_triggered(text)

    def find_triggered(self, text: str) -> list[PIIMatch]:
        """``find`` for a text known to hold the trigger: the analyzer searches a trigger that several
        recognizers share once per text, not once per recognizer."""
        if not self.anchors:
            return self._validated(text, self.pattern.finditer(text))
        if not any(_hits(anchor, text) for anchor in self.anchors):
            return []  # no anchor, no window: most texts with a letter or a digit end here
        return self._validated(text, self._windowed(text))

    def find_unwindowed(self, text: str) -> list[PIIMatch]:
        """Every match by a scan of the whole text: the reference ``find`` must agree with."""
        return self._validated(text, self.pattern.finditer(text))

    def _windowed(self, text: str) -> Iterator[re.Match[str]]:
        """The pattern's matches within the anchors' windows, in order, as ``finditer`` gives them.

        A match contains an anchor hit, so it lies within ``max_span`` of it (boundary look-arounds
        included). Windows that touch are merged, which keeps the leftmost-first order of a whole scan.
        ``endpos`` hides what follows a window from a look-ahead, so a match that ends at a window's end
        is taken again from the whole text."""
        spans = sorted(
            self._window(text, start, end) for anchor in self.anchors for start, end in _hits(anchor, text)
        )
        windows: list[list[int]] = []
        for lo, hi in spans:
            if windows and lo <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], hi)
            else:
                windows.append([lo, hi])
        pos = 0
        for lo, hi in windows:
            pos = max(pos, lo)
            while pos < hi:
                m = self.pattern.search(text, pos, hi)
                if m is None:
                    break
                if m.end() == hi < len(text):
                    m = self.pattern.search(text, m.start())  # what a whole scan finds from here
                    if m is None:
                        return
                pos = max(m.end(), m.start() + 1)
                yield m

    def _window(self, text: str, start: int, end: int) -> tuple[int, int]:
        """Where a match containing the anchor hit ``text[start:end]`` can lie: ``max_span`` either side,
        and for a run recognizer only the hit's run (with the character after it, which a look-ahead may
        read): no match crosses a character outside the class. Chinese prose cuts an address's run at
        every clause word and mark, so its scan reads a few characters around each house number instead
        of 240, which in a text with many numbers merged into long stretches of backtracking."""
        lo, hi = max(0, start - self.max_span), min(len(text), end + self.max_span)
        if self.run is None:
            return lo, hi
        outside = outside_of(self.run)
        if outside.search(text, start, end) is not None:
            return lo, hi  # the hit is not all in the class (not so for the built-in anchors)
        before = run_before(outside, text, start, start - lo)
        after = outside.search(text, end, hi)
        return start - before, hi if after is None else after.start() + 1

    def _validated(self, text: str, matches: Iterable[re.Match[str]]) -> list[PIIMatch]:
        out: list[PIIMatch] = []
        for m in matches:
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

#: Anchors (see ``PatternRecognizer.anchors``): what each pattern's matches contain.
_D4 = re.compile(r"\d{4}")

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
    anchors=(_D4,),
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
    anchors=(_D4,),
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
    anchors=(_D4,),
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
    anchors=(_D4,),
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
    anchors=(_D4,),
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
    anchors=(_D4,),
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
    anchors=(_D4, re.compile("护照"), re.compile("[Pp]assport")),
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
    anchors=(re.compile("@"),),
    run=re.compile(r"[A-Za-z0-9._%+\-@]"),
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
    anchors=(re.compile(r"\d\.\d"),),
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
    anchors=(re.compile(":"),),
    run=re.compile(r"[0-9A-Fa-f:.]"),
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
    anchors=(re.compile(f"[{_PROVINCES}][{_PLATE_LETTER}]"),),
)
