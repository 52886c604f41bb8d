"""Refusal texts per risk category, in Chinese and English, and the notices of the sanction ladder.

The lookup goes from the most specific key to the least: the finding's risk id (``A.4f``), its
category (``A.4``), then ``default``. Every text is configurable (`RefusalPolicy`), and a policy that
names an unknown key or leaves a language empty is rejected at start-up. GB/T 45654 asks providers to
refuse only clearly extreme or inducing questions, so the texts are short, do not lecture, and where
it helps point to another way. This module chooses words; it must never decide whether to refuse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hegui.guard.types import Finding, Verdict
from hegui.taxonomy import CATEGORIES, is_risk

Language = Literal["zh", "en", "both"]
NoticeKind = Literal["warn", "restrict", "suspend", "terminate", "check_failed", "output_stopped"]
NOTICE_KINDS: tuple[str, ...] = ("warn", "restrict", "suspend", "terminate", "check_failed", "output_stopped")


class RefusalText(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1, description="The Chinese text.")
    en: str = Field(min_length=1, description="The English text.")


def _t(zh: str, en: str) -> RefusalText:
    return RefusalText(zh=zh, en=en)


DEFAULT_TEXTS: dict[str, RefusalText] = {
    "default": _t("抱歉，我无法协助处理这个请求。", "Sorry, I can't help with that request."),
    "A.1": _t(
        "抱歉，这个请求涉及法律法规禁止的内容，我无法提供帮助。",
        "Sorry, this request involves content that the law prohibits, so I can't help with it.",
    ),
    "A.2": _t(
        "抱歉，我不能生成带有歧视性的内容。我们可以换个角度讨论这个话题。",
        "Sorry, I can't produce discriminatory content. We could look at this topic from another angle.",
    ),
    "A.3": _t(
        "抱歉，这个请求可能侵犯知识产权或违反商业规范，我无法协助。",
        "Sorry, this request may infringe intellectual property or commercial rules, so I can't assist.",
    ),
    "A.4": _t(
        "抱歉，这个请求可能侵害他人的合法权益，我无法协助。",
        "Sorry, this request may infringe other people's lawful rights, so I can't assist.",
    ),
    "A.4a": _t(
        "听起来你可能正在经历困难。请尽快联系你信任的人或当地的心理援助热线；如有紧急危险，请拨打 120 或 110。",
        "It sounds like you may be going through a hard time. Please reach out to someone you trust or a "
        "local crisis line; if you are in immediate danger, call your local emergency number.",
    ),
    "A.4f": _t(
        "为保护个人信息，我无法处理这个包含他人个人信息的请求。",
        "To protect personal information, I can't process this request that contains someone's personal data.",
    ),
    "A.5": _t(
        "抱歉，我无法就这个问题提供可靠的回答。",
        "Sorry, I can't give a reliable answer to this question.",
    ),
    # The notices are true whatever the count (the first warning comes after one incident by default),
    # and name the appeal channel ([sanctions] appeal_channel) where a user can contest them.
    "warn": _t(
        "提醒：您的请求涉及违规内容，继续违规将导致账号功能受限、暂停乃至终止服务。",
        "Notice: your request involved prohibited content. Further violations will lead to restriction, "
        "suspension or termination of your account.",
    ),
    "restrict": _t(
        "您的账号因违规已被限制部分功能。如有异议，可通过{appeal}申诉。",
        "Some features of your account are restricted because of violations. You can appeal through "
        "{appeal}.",
    ),
    "suspend": _t(
        "您的账号因违规已被暂停服务至 {until}。如有异议，可通过{appeal}申诉。",
        "Your account is suspended until {until} because of violations. You can appeal through {appeal}.",
    ),
    "terminate": _t(
        "您的账号因违规已被终止服务。如有异议，可通过{appeal}申诉。",
        "Your account has been terminated because of violations. You can appeal through {appeal}.",
    ),
    "check_failed": _t(
        "抱歉，内容安全检查暂时不可用，请稍后再试。",
        "Sorry, the content-safety check is unavailable right now. Please try again later.",
    ),
    "output_stopped": _t(
        "（回答因内容安全原因已停止。）",
        "(The answer was stopped for content-safety reasons.)",
    ),
}


#: First-person words of despair or self-harm. A refused text that holds one is answered with the
#: self-harm text (A.4a: people and crisis lines) whatever category refused it: the harmful-request model
#: knows five top-level classes, so a message of distress refused by it reads "A.4g" (another person's
#: rights), and a person in crisis would be told they infringe someone's rights. Words, not a decision:
#: whether the text is refused is the checks' business.
DISTRESS_CUES: tuple[str, ...] = (
    "想死",
    "不想活",
    "活不下去",
    "活着没有意义",
    "活着没有任何意义",
    "活着有什么意义",
    "活着没意义",
    "活着没意思",
    "自杀",
    "自殺",
    "轻生",
    "輕生",
    "寻短见",
    "结束自己的生命",
    "自残",
    "自殘",
    "割腕",
)
SELF_HARM_KEY = "A.4a"


def _valid_key(key: str) -> bool:
    return key == "default" or key in NOTICE_KINDS or key in CATEGORIES or is_risk(key)


class RefusalPolicy(BaseModel):
    """The ``[refusals]`` table: language and any texts that replace the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: Language = Field("both", description="zh, en, or both (Chinese first, then English).")
    texts: dict[str, RefusalText] = Field(
        default_factory=dict,
        description="Texts by key: a risk id (A.4f), a category (A.4), default, or a notice "
        "(warn, restrict, suspend, terminate, check_failed, output_stopped).",
    )

    @field_validator("texts")
    @classmethod
    def _known_keys(cls, texts: dict[str, RefusalText]) -> dict[str, RefusalText]:
        unknown = sorted(k for k in texts if not _valid_key(k))
        if unknown:
            raise ValueError(
                f"unknown refusal keys {unknown}; use a risk id, a category, default or a notice"
            )
        return texts


class RefusalCatalog:
    """Immutable; built once from the policy."""

    def __init__(
        self, policy: RefusalPolicy | None = None, *, time_zone: str = "Asia/Shanghai", appeal: str = ""
    ) -> None:
        policy = policy or RefusalPolicy()
        self.language: Language = policy.language
        self.texts: Mapping[str, RefusalText] = {**DEFAULT_TEXTS, **policy.texts}
        self.zone = ZoneInfo(time_zone)
        self.appeal = RefusalText(zh=appeal or "投诉渠道", en=appeal or "the complaints channel")

    def _render(self, text: RefusalText, language: Language | None) -> str:
        lang = language or self.language
        if lang == "zh":
            return text.zh
        if lang == "en":
            return text.en
        return f"{text.zh} {text.en}"

    def for_category(self, category: str | None, language: Language | None = None) -> str:
        for key in (category, category[:3] if category else None, "default"):
            if key and key in self.texts:
                return self._render(self.texts[key], language)
        raise KeyError("no default refusal text")  # unreachable: DEFAULT_TEXTS has "default"

    def for_findings(self, findings: tuple[Finding, ...], language: Language | None = None) -> str:
        """The text for the most severe finding (the first of those with the highest action); the
        self-harm text when a stopping finding's evidence holds words of distress (`DISTRESS_CUES`)."""
        worst = max(findings, key=lambda f: f.action.rank, default=None)
        if any(cue in f.evidence for f in findings if f.action.stops for cue in DISTRESS_CUES):
            return self.for_category(SELF_HARM_KEY, language)
        return self.for_category(worst.category if worst else None, language)

    def for_verdict(self, verdict: Verdict, language: Language | None = None) -> str:
        return self.for_findings(verdict.findings, language)

    def notice(
        self, kind: NoticeKind, *, until: datetime | None = None, language: Language | None = None
    ) -> str:
        text = self.texts[kind]
        when = local_time(until, self.zone) if until else "—"
        zh = text.zh.replace("{appeal}", self.appeal.zh).replace("{until}", when)
        en = text.en.replace("{appeal}", self.appeal.en).replace("{until}", when)
        return self._render(RefusalText(zh=zh, en=en), language)


def local_time(at: datetime, zone: ZoneInfo) -> str:
    """``at`` in the service's time zone with its UTC offset, as users read it: 2026-12-07 18:30 (UTC+08:00)."""
    local = at.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def refusal_text(
    catalog: RefusalCatalog,
    findings: Sequence[Finding],
    *,
    override: str = "",
    notice: str = "",
) -> str:
    """The refusal a user reads for ``findings``: ``override`` (the policy's one text for every refusal)
    or the catalog's text for the worst finding, then the sanction ``notice`` (if a step was taken) on its
    own paragraph. Pure: counting the violation on the user's ladder is the caller's separate, named step
    (the gateway's ``Exchange.sanction``), never a side effect of choosing words."""
    text = override or catalog.for_findings(tuple(findings))
    return f"{text}\n\n{notice}" if notice else text
