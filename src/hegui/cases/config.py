"""The ``[cases]`` policy table: the case kinds' deadlines and the public form's limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: The kinds of case. IP and personal-information complaints need the complainant's contact (they act
#: on the complainant's own right); illegal content may be reported anonymously.
KINDS: tuple[str, ...] = ("ip", "illegal", "personal_info", "appeal", "rumour", "other")
CONTACT_REQUIRED: frozenset[str] = frozenset({"ip", "personal_info", "appeal"})

KIND_NAMES: dict[str, tuple[str, str]] = {
    "ip": ("知识产权侵权", "IP infringement"),
    "illegal": ("违法和不良信息", "Illegal or harmful content"),
    "personal_info": ("个人信息", "Personal information"),
    "appeal": ("处置申诉", "Appeal of a sanction"),
    "rumour": ("谣言", "Rumour"),
    "other": ("其他", "Other"),
}


class CasesPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    deadline_days: int = Field(
        15,
        ge=1,
        le=60,
        description="Working days (Chinese calendar) to answer a complaint (Interim Measures art. 15).",
    )
    deadline_days_by_kind: dict[str, int] = Field(
        default_factory=dict,
        description="Per-kind deadlines in working days, overriding deadline_days (keys: ip, illegal, "
        "personal_info, appeal, rumour, other).",
    )
    evidence_max_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024, description="Largest evidence file accepted."
    )
    evidence_max_files: int = Field(5, ge=0, le=20, description="Most evidence files on one complaint.")
    evidence_types: tuple[str, ...] = Field(
        ("image/png", "image/jpeg", "application/pdf", "text/plain"),
        description="Evidence types accepted; the type is read from the file's first bytes, not trusted "
        "from the browser.",
    )
    report_rate_per_hour: int = Field(
        10, ge=1, le=10_000, description="Complaints accepted per client address per hour (/report)."
    )

    def deadline_for(self, kind: str) -> int:
        return self.deadline_days_by_kind.get(kind, self.deadline_days)

    def model_post_init(self, _context: object) -> None:
        unknown = set(self.deadline_days_by_kind) - set(KINDS)
        if unknown:
            raise ValueError(f"deadline_days_by_kind: unknown kinds {sorted(unknown)}; kinds: {KINDS}")
        bad = {k: v for k, v in self.deadline_days_by_kind.items() if not 1 <= v <= 60}
        if bad:
            raise ValueError(f"deadline_days_by_kind: days must be 1..60, got {bad}")
