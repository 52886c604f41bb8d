"""The egress stage: what may leave the provider's jurisdiction, and in what form.

When the chosen upstream's region differs from the provider's, `EgressGuard.inspect` takes the
request's text slots and the end user's separate-consent state (PIPL 39) and either

- refuses, naming the sensitive kinds it found, when the user has no separate consent on record
  (nothing is changed and nothing may be sent), or
- pseudonymizes every slot in place (``[PHONE_1]`` for a mobile number, one vault per request or
  conversation) and lists the persons whose information is exported, as salted hashes only.

The answer goes back through `EgressGuard.restore` (whole) or an `EgressRestorer` (streamed, one
`StreamRestorer` per slot of the answer), so the user receives the original values.

What is detected: resident ID numbers, bank/payment card numbers and passport numbers (sensitive, by
the validated recognizers of `hegui.guard.pii`), mobile and landline numbers, e-mail, addresses, names
after a cue, IP addresses, licence plates and USCC codes (non-sensitive). Health, biometric and
minors' data have no reliable pattern: they are found only through the cue terms the policy lists in
``[egress.sensitive_terms]`` (empty by default), and a cue only flags the request, it cannot be
pseudonymized. See docs/egress.md.

Pure: no I/O, no HTTP, no SQL. It must never return a decision that lets a raw recognized value
through, never put a raw value into a decision's persons or kinds, and never swallow an error.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hegui.errors import CheckFailed, ContentRefused
from hegui.guard.pii.analyzer import PIIAnalyzer, builtin_entities, recognizers_for
from hegui.guard.pii.pseudonym import Pseudonymizer, PseudonymVault, StreamRestorer
from hegui.guard.pii.recognizers import PIIMatch

#: Kinds of sensitive information that only policy cue terms can reveal.
CUE_KINDS = ("health", "biometric", "minor")

_KIND_NAMES = {
    "resident_id": "resident ID numbers",
    "bank_card": "bank or payment card numbers",
    "passport": "passport numbers",
    "health": "health information",
    "biometric": "biometric information",
    "minor": "information about minors",
}


class EgressPolicy(BaseModel):
    """The ``[egress]`` policy table. Every threshold marked UNCONFIRMED in the spec stays configurable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        True,
        description="Control requests to upstreams outside the provider's region. If false, they are "
        "sent unchanged (only for providers whose transfers are covered by other means).",
    )
    entities: list[str] = Field(
        default_factory=lambda: list(builtin_entities()),
        description="Personal-information entities pseudonymized before a cross-border request.",
    )
    consent_required_for: Literal["sensitive", "all"] = Field(
        "sensitive",
        description="'sensitive': refuse a request carrying sensitive personal information unless the "
        "user's PIPL 39 separate consent is on record; 'all': refuse every cross-border request without it.",
    )
    sensitive_terms: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Cue terms per sensitive kind the recognizers cannot detect (health, biometric, minor); "
        "a request containing one counts as carrying that kind. Empty by default.",
    )
    person_entities: list[str] = Field(
        default_factory=lambda: ["resident_id", "passport", "bank_card", "mobile", "email"],
        description="Entities whose each distinct value counts as one person exported (besides the end user).",
    )
    count_end_users: bool = Field(
        True, description="Count each distinct end user whose request crossed the border as one person."
    )
    year_timezone: str = Field(
        "Asia/Shanghai", description="Time zone in which the counting year starts on 1 January (DCB)."
    )
    standard_contract_persons: int = Field(
        100_000,
        ge=1,
        description="Persons (non-sensitive PI) per year from which a standard contract is needed.",
    )
    assessment_persons: int = Field(
        1_000_000,
        ge=1,
        description="Persons (non-sensitive PI) per year from which a security assessment is needed.",
    )
    sensitive_contract_persons: int = Field(
        1,
        ge=1,
        description="Persons with sensitive PI per year from which a standard contract is needed (any).",
    )
    assessment_sensitive_persons: int = Field(
        10_000,
        ge=1,
        description="Persons with sensitive PI per year from which a security assessment is needed.",
    )
    warn_ratio: float = Field(
        0.8,
        gt=0.0,
        le=1.0,
        description="An early-warning alert fires when a counter reaches this share of its next threshold.",
    )

    @model_validator(mode="after")
    def _check(self) -> EgressPolicy:
        recognizers_for(self.entities)  # raises ValueError on unknown names
        unknown = [e for e in self.person_entities if e not in builtin_entities()]
        if unknown:
            raise ValueError(f"person_entities: unknown entities {unknown}")
        bad = [k for k in self.sensitive_terms if k not in CUE_KINDS]
        if bad:
            raise ValueError(f"sensitive_terms: unknown kinds {bad}; known: {list(CUE_KINDS)}")
        try:
            ZoneInfo(self.year_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"year_timezone: unknown time zone {self.year_timezone!r}") from None
        if self.assessment_persons <= self.standard_contract_persons:
            raise ValueError("assessment_persons must be above standard_contract_persons")
        if self.assessment_sensitive_persons < self.sensitive_contract_persons:
            raise ValueError("assessment_sensitive_persons must not be below sensitive_contract_persons")
        return self


class TextSlot(Protocol):
    """A piece of request text and its setter (`hegui.gateway.schemas.Slot` has this shape)."""

    field: str
    text: str
    set: Callable[[str], None] | None


@dataclass(frozen=True, slots=True)
class ExportedPerson:
    """One person whose information leaves: a salted hash of who, never the value itself."""

    kind: str  # "end_user" or a recognizer entity
    digest: str
    sensitive: bool


@dataclass(frozen=True, slots=True)
class EgressDecision:
    cross_border: bool
    refused: bool
    message: str = ""
    #: Sensitive kinds found (entity names or cue kinds), sorted.
    sensitive_kinds: tuple[str, ...] = ()
    #: Every kind of personal information found, sorted (entity names and cue kinds).
    kinds: tuple[str, ...] = ()
    persons: tuple[ExportedPerson, ...] = ()
    replaced: int = 0
    vault: PseudonymVault = field(default_factory=PseudonymVault)

    def refusal_error(self) -> ContentRefused:
        """The error to answer a refused request with (400, OpenAI-shaped at the boundary)."""
        return ContentRefused(self.message, param="messages")


def _digest(salt: bytes, kind: str, value: str) -> str:
    return hmac.new(salt, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()


def _normalize(entity: str, value: str) -> str:
    """One canonical form per identifier, so '138 1234 5678' and '+8613812345678' are one person."""
    if entity == "email":
        return value.strip().lower()
    s = re.sub(r"[\s\-·()]", "", value).upper()
    if entity == "mobile" and s.startswith(("+86", "86")) and len(s) > 11:
        s = s[-11:]
    return s


class EgressGuard:
    """Built once from the policy; immutable; share between threads (each request brings its vault)."""

    def __init__(self, config: EgressPolicy, provider_region: str, salt: bytes) -> None:
        if len(salt) < 16:
            raise ValueError("the person-hash salt must be at least 16 bytes")
        self.config = config
        self.provider_region = provider_region
        self._salt = salt
        self._pseudonymizer = Pseudonymizer(PIIAnalyzer(recognizers_for(config.entities)))
        self._cues = {
            kind: re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
            for kind, terms in config.sensitive_terms.items()
            if terms
        }

    def applies(self, upstream_region: str) -> bool:
        """Whether a request to an upstream in ``upstream_region`` is cross-border and controlled."""
        return self.config.enabled and upstream_region.casefold() != self.provider_region.casefold()

    def user_digest(self, tenant: str, user: str) -> str:
        """The end user as exported and counted (also a fit replacement for the body's ``user`` field)."""
        return _digest(self._salt, "end_user", f"{tenant}\x00{user}")

    def inspect(
        self,
        slots: Sequence[TextSlot],
        *,
        upstream_region: str,
        tenant: str,
        user: str | None,
        separate_consent: bool,
        vault: PseudonymVault | None = None,
    ) -> EgressDecision:
        """Decide on one request. On a pass the slots are pseudonymized in place; on a refusal untouched."""
        vault = vault if vault is not None else PseudonymVault()
        if not self.applies(upstream_region):
            return EgressDecision(cross_border=False, refused=False, vault=vault)
        found: list[PIIMatch] = []
        cue_kinds: set[str] = set()
        for slot in slots:
            found += self._pseudonymizer.analyzer.analyze(slot.text)
            cue_kinds.update(k for k, rx in self._cues.items() if rx.search(slot.text))
        sensitive = sorted({m.entity for m in found if m.sensitive} | cue_kinds)
        kinds = tuple(sorted({m.entity for m in found} | cue_kinds))
        needs_consent = bool(sensitive) or self.config.consent_required_for == "all"
        if needs_consent and not separate_consent:
            return EgressDecision(
                cross_border=True,
                refused=True,
                message=self._refusal_message(upstream_region, sensitive),
                sensitive_kinds=tuple(sensitive),
                kinds=kinds,
                vault=vault,
            )
        replaced = sum(self._rewrite(slot, vault) for slot in slots)
        return EgressDecision(
            cross_border=True,
            refused=False,
            sensitive_kinds=tuple(sensitive),
            kinds=kinds,
            persons=self._persons(found, cue_kinds, tenant, user),
            replaced=replaced,
            vault=vault,
        )

    def _rewrite(self, slot: TextSlot, vault: PseudonymVault) -> int:
        text, replaced = slot.text, 0
        # A replacement can, rarely, expose a lower-scored overlapping match; repeat until none is left.
        for _ in range(3):
            result = self._pseudonymizer.pseudonymize(text, vault)
            if not result.matches:
                break
            text, replaced = result.text, replaced + len(result.matches)
        else:
            if self._pseudonymizer.analyzer.analyze(text):
                raise CheckFailed(f"egress: personal information in {slot.field} could not be pseudonymized")
        if replaced:
            if slot.set is None:
                raise CheckFailed(f"egress: {slot.field} holds personal information and cannot be rewritten")
            slot.set(text)
            slot.text = text
        return replaced

    def _persons(
        self, found: Iterable[PIIMatch], cue_kinds: set[str], tenant: str, user: str | None
    ) -> tuple[ExportedPerson, ...]:
        persons: dict[str, ExportedPerson] = {}
        for m in found:
            if m.entity in self.config.person_entities:
                d = _digest(self._salt, m.entity, _normalize(m.entity, m.text))
                persons[d] = ExportedPerson(m.entity, d, m.sensitive)
        if user is not None and self.config.count_end_users:
            d = self.user_digest(tenant, user)
            # The cue kinds (health, biometrics, minors) are taken to be about the user who wrote them.
            persons[d] = ExportedPerson("end_user", d, bool(cue_kinds))
        return tuple(sorted(persons.values(), key=lambda p: p.digest))

    def _refusal_message(self, region: str, sensitive: Sequence[str]) -> str:
        where = f"a model outside {self.provider_region} (region {region})"
        if not sensitive:
            return (
                f"This request would send personal information to {where}. That needs your separate "
                "consent to the cross-border transfer (PIPL art. 39), and none is on record."
            )
        named = ", ".join(_KIND_NAMES.get(k, k) for k in sensitive)
        return (
            f"This request contains sensitive personal information ({named}) and would send it to "
            f"{where}. That needs your separate consent to the cross-border transfer (PIPL art. 39), and "
            "none is on record. Remove that information or give consent, then try again."
        )

    @staticmethod
    def restore(text: str, vault: PseudonymVault) -> str:
        """A whole answer with the original values put back."""
        return Pseudonymizer.restore(text, vault)

    @staticmethod
    def restorer(vault: PseudonymVault) -> EgressRestorer:
        return EgressRestorer(vault)


class EgressRestorer:
    """Restores a streamed answer: one `StreamRestorer` per slot key (choice × field)."""

    def __init__(self, vault: PseudonymVault) -> None:
        self._vault = vault
        self._slots: dict[object, StreamRestorer] = {}

    def feed(self, key: object, chunk: str) -> str:
        restorer = self._slots.get(key)
        if restorer is None:
            restorer = self._slots[key] = StreamRestorer(self._vault)
        return restorer.feed(chunk)

    def finish(self, key: object) -> str:
        """What the slot still holds back; call at the end of that slot's text."""
        restorer = self._slots.pop(key, None)
        return "" if restorer is None else restorer.finish()

    def pending_keys(self) -> list[object]:
        return list(self._slots)
