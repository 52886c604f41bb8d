"""DS-02 at the edit routes: an edit of a real person's face or voice needs that person's recorded
separate consent (Deep Synthesis Provisions Art. 14).

The instruction is classified (`hegui.guard.edits`); the scopes the ``[media] edit_consent_scopes``
policy lists (default ``likeness`` and ``voice``) need a consent:

- when the prompt names registered persons (the person registry, through the normalizer), each of
  them needs an active consent of this tenant that covers the scope: one named in the
  ``X-Hegui-Consent`` header, or else any on record for that person;
- when it names nobody registered, the consent must be named in the ``X-Hegui-Consent`` header
  (comma-separated ids): the gateway cannot tell whose face is in the picture, so the user says whose
  consent covers it, and the provider has recorded it.

Anything else is refused with the policy's notice (``[media] edit_notice``), which tells the user what
the rule asks. The decision reads the records database; the route runs it in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, inspect

from hegui.guard.edits import EditClassifier, EditIntent
from hegui.media.config import MediaPolicy
from hegui.records.edit_consents import EditConsent, EditConsents
from hegui.text.normalize import default_normalizer

HEADER = "x-hegui-consent"
_WHAT = {
    "likeness": ("人脸或肖像", "face or likeness"),
    "voice": ("声音", "voice"),
    "brand": ("商标或标识", "brand or logo"),
    "document": ("证件或文书", "document"),
}


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    intent: EditIntent
    needed: tuple[str, ...]
    persons: tuple[str, ...] = ()
    used: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()  # "scope" or "scope:person", what no consent covered
    problems: tuple[str, ...] = field(default=())  # header ids not found, expired, revoked

    @property
    def allowed(self) -> bool:
        return not self.missing

    def detail(self) -> dict[str, Any]:
        return {
            "edit_kinds": [k.value for k in self.intent.kinds],
            "consent_needed": list(self.needed),
            "consent_persons": list(self.persons),
            "consents": list(self.used),
            "consent_missing": list(self.missing),
            "consent_problems": list(self.problems),
        }


def notice(policy: MediaPolicy, decision: ConsentDecision) -> str:
    scopes = tuple(dict.fromkeys(m.split(":", 1)[0] for m in decision.missing)) or decision.needed
    what = "、".join(_WHAT[s][0] for s in scopes)
    what_en = ", ".join(_WHAT[s][1] for s in scopes)
    text = policy.edit_notice.replace("{what}", what).replace("{what_en}", what_en)
    if decision.problems:
        text += " (" + "; ".join(decision.problems) + ")"
    return text


def header_ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))[:8]


def registered_names(engine: Engine, prompt: str) -> tuple[str, ...]:
    """Keys of registered persons whose name, alias, misspelling or pinyin the prompt contains."""
    if not inspect(engine).has_table("persons"):
        return ()
    from hegui.records.persons_store import PersonRegistry

    norm = default_normalizer()
    folded = norm.normalize(prompt).text
    out = []
    for p in PersonRegistry(engine).persons():
        for spelling in p.spellings():
            s = norm.normalize(spelling).text
            if len(s) >= 2 and s in folded:
                out.append(p.key)
                break
    return tuple(out)


def decide(
    engine: Engine,
    policy: MediaPolicy,
    tenant: str,
    prompt: str,
    given: Sequence[str],
    now: datetime,
    classifier: EditClassifier | None = None,
) -> ConsentDecision:
    intent = (classifier or EditClassifier()).classify(prompt)
    needed = tuple(s for s in intent.scopes() if s in policy.edit_consent_scopes)
    if not needed:
        return ConsentDecision(intent, ())
    store = EditConsents(engine)
    persons = registered_names(engine, prompt)
    problems: list[str] = []
    offered: list[EditConsent] = []
    for cid in given:
        c = store.get(cid, tenant)
        if c is None:
            problems.append(f"consent {cid} is not on record for this tenant")
        elif not c.active(now):
            problems.append(f"consent {cid} is revoked or expired")
        else:
            offered.append(c)
    used: list[str] = []
    missing: list[str] = []
    for scope in needed:
        if not persons:
            hit = next((c for c in offered if c.covers(scope, now)), None)
            if hit is None:
                missing.append(scope)
            else:
                used.append(hit.id)
            continue
        for person in persons:
            pool = [c for c in offered if c.person_key == person] or (
                [] if given else store.list(tenant, person)
            )
            hit = next((c for c in pool if c.covers(scope, now)), None)
            if hit is None:
                missing.append(f"{scope}:{person}")
            else:
                used.append(hit.id)
    return ConsentDecision(
        intent, needed, persons, tuple(dict.fromkeys(used)), tuple(missing), tuple(problems)
    )
