"""The generated-content risks of the life cycle beyond harmful text: real persons' likeness, voice and
name (A.4b, A.4c, A.4g), edits of a person's face or voice (DS-02), and the copyright of outputs
(A.3a). Each is decided from the policy in service (is the control there?) and what it reads (the person
registry, the edit consents, the works index), for `hegui assess`.

A control that is absent is a non-compliant finding that names the control: the assessment's job is
to show the risk uncovered, not to leave it out because nothing was configured.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, inspect

from hegui.filing.findings import COMPLIANT, GAP, NODES, NON_COMPLIANT, Finding
from hegui.guard.checkspec import CheckPolicy
from hegui.policy import Policy

NODE = NODES[5]
PERSONS = "real persons: likeness, voice, name, defamation (A.4b, A.4c, A.4g)"
EDITS = "edits of a person's face or voice: separate consent (DS-02)"
WORKS = "copyright of outputs: protected-works overlap (A.3a)"
#: The scopes an edit of a person touches; Deep Synthesis Provisions Art. 14 asks consent for both.
BIOMETRIC = ("likeness", "voice")


def _checks(policy: Policy, kind: str) -> list[CheckPolicy]:
    return [c for c in policy.checks if c.type == kind and c.enabled]


def _where(c: CheckPolicy) -> str:
    return f"`{c.name}` at {', '.join(s.value for s in c.stages)}"


def _policy_ref(policy: Policy) -> str:
    return f"policy {policy.source}"


def _path(policy: Policy, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else policy.base_dir / path


def persons_finding(policy: Policy, engine: Engine | None, now: datetime | None = None) -> Finding:
    """A `persona` check in service, and a registry with someone in it to protect."""
    from hegui.persons.model import RegistrySnapshot

    checks = _checks(policy, "persona")
    if not checks:
        return Finding(
            NODE,
            PERSONS,
            NON_COMPLIANT,
            "the policy has no enabled `persona` check: requests for a real person's likeness, voice or "
            "name, and defamation of a person, are not controlled (docs/persons.md)",
            _policy_ref(policy),
        )
    check = checks[0]
    registry = str(check.options().get("registry", "database"))
    try:
        if registry == "database":
            if engine is None:
                return Finding(
                    NODE,
                    PERSONS,
                    GAP,
                    f"the persona check {_where(check)} reads the registry from the records database, "
                    "and none is configured (or --no-records)",
                )
            evidence = "persons, person_authorizations"
            if not inspect(engine).has_table("persons"):
                snapshot = RegistrySnapshot((), ())
            else:
                from hegui.records.persons_store import PersonRegistry

                snapshot = PersonRegistry(engine).snapshot()
        else:
            path = _path(policy, registry)
            evidence = str(path)
            snapshot = RegistrySnapshot.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        return Finding(
            NODE, PERSONS, NON_COMPLIANT, f"cannot read the person registry {registry}: {exc}", registry
        )
    at = now or datetime.now(UTC)
    if not snapshot.persons:
        return Finding(
            NODE,
            PERSONS,
            NON_COMPLIANT,
            f"the persona check {_where(check)} runs, but the registry holds no person: it protects "
            "nobody (`hegui persons add` / `import`)",
            evidence,
        )
    kinds = Counter(str(p.kind) for p in snapshot.persons)
    active = Counter(str(a.scope) for a in snapshot.authorizations if a.active(at))
    revoked = sum(not a.active(at) and a.revoked_at is not None for a in snapshot.authorizations)
    lapsed = len(snapshot.authorizations) - sum(active.values()) - revoked
    return Finding(
        NODE,
        PERSONS,
        COMPLIANT,
        f"persona check {_where(check)}; {len(snapshot.persons)} person(s) registered ("
        + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        + f"); {sum(active.values())} active authorization(s)"
        + (f" ({', '.join(f'{s} {n}' for s, n in sorted(active.items()))})" if active else "")
        + f", {lapsed} expired, {revoked} revoked: a scope without an active authorization is refused",
        evidence,
    )


def edits_finding(policy: Policy, engine: Engine | None, now: datetime | None = None) -> Finding:
    """Edits of a face or a voice need the edited person's separate consent: the scopes the gateway
    asks consent for, and the consents recorded."""
    scopes = list(policy.media.edit_consent_scopes)
    ref = f"{_policy_ref(policy)}: [media] edit_consent_scopes = {scopes}"
    missing = [s for s in BIOMETRIC if s not in scopes]
    if missing:
        return Finding(
            NODE,
            EDITS,
            NON_COMPLIANT,
            f"[media] edit_consent_scopes leaves out {', '.join(missing)}: an edit of a person's "
            f"{' or '.join(missing)} goes upstream without the edited person's separate consent",
            ref,
        )
    if engine is None:
        return Finding(
            NODE,
            EDITS,
            COMPLIANT,
            f"edits touching {', '.join(scopes)} need a recorded consent; no records database, so the "
            "consents are not counted",
            ref,
        )
    from hegui.records.edit_consents import EditConsents

    at = now or datetime.now(UTC)
    consents = EditConsents(engine).list() if inspect(engine).has_table("edit_consents") else []
    active = sum(c.active(at) for c in consents)
    revoked = sum(not c.active(at) and c.revoked_at is not None for c in consents)
    lapsed = len(consents) - active - revoked
    return Finding(
        NODE,
        EDITS,
        COMPLIANT,
        f"edits touching {', '.join(scopes)} are refused without a recorded consent; {len(consents)} "
        f"consent(s) recorded: {active} active, {lapsed} expired, {revoked} revoked",
        f"{ref}; edit_consents",
    )


def works_finding(policy: Policy) -> Finding:
    """A `works_overlap` check in service with an index that loads (what it protects, counted)."""
    from hegui.works.index import IndexFormatError, WorksIndex

    checks = _checks(policy, "works_overlap")
    if not checks:
        return Finding(
            NODE,
            WORKS,
            NON_COMPLIANT,
            "the policy has no enabled `works_overlap` check: answers that reproduce protected works are "
            "not caught (`hegui works index`, docs/works.md)",
            _policy_ref(policy),
        )
    check = checks[0]
    path = _path(policy, str(check.options().get("index", "")))
    try:
        stats = WorksIndex.load(path).stats()
    except (OSError, ValueError, KeyError, IndexFormatError) as exc:
        return Finding(NODE, WORKS, NON_COMPLIANT, f"the works index {path} does not load: {exc}", str(path))
    return Finding(
        NODE,
        WORKS,
        COMPLIANT,
        f"works_overlap check {_where(check)}; index of {stats.works:,} work(s), "
        f"{stats.characters:,} characters, {stats.fingerprints:,} fingerprints",
        str(path),
    )


def generated_findings(policy: Policy, engine: Engine | None) -> list[Finding]:
    return [persons_finding(policy, engine), edits_finding(policy, engine), works_finding(policy)]
