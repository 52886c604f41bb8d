"""The training pool: user turns admitted only by rule, kept apart from the conversation store.

Admission rules, in order (the first that fails is recorded as the reason, never the text):

1. an end-user id is known (``no_user``);
2. training consent was effective at collection time (``no_consent``; see `consent`);
3. neither the input nor the output was refused or masked by the guard (``refused_or_masked``);
4. personal information is scrubbed (always; the recognizers of `hegui.guard.pii`), and what is left is
   long enough (``too_short``);
5. no record already in the pool is a near-duplicate (``near_duplicate``: MinHash over character
   shingles, LSH bands in the database so that the check stays cheap as the pool grows).

This module never admits a turn it could not check: an error while checking propagates.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from datasketch import MinHash
from sqlalchemy import Connection, Engine, bindparam, func, insert, select

from hegui.guard.memory import shingles
from hegui.guard.pii import PIIAnalyzer
from hegui.guard.types import Action
from hegui.records.audit import canonical, utc_now
from hegui.records.config import RecordsPolicy
from hegui.records.consent import consent_at, iso
from hegui.records.db import transaction
from hegui.records.tables_records import PoolBandRow, PoolRecordRow, PoolRejectionRow

NUM_PERM = 64
BANDS = 16  # 16 bands of 4 rows: candidates from Jaccard ≈ 0.5 up; the exact estimate decides
_ROWS = NUM_PERM // BANDS


@functools.cache
def _perms() -> object:
    """The permutations are a pure function of the seed: computed once, read-only after."""
    return MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32").permutations


def _minhash(text: str) -> MinHash:
    m = MinHash(num_perm=NUM_PERM, seed=1, permutations=_perms(), scheme="affine32")
    m.update_batch(s.encode("utf-8", "surrogatepass") for s in (shingles(text) or {text}))
    return m


def _bands(m: MinHash) -> list[str]:
    vals = m.hashvalues
    return [
        f"{b:02d}" + hashlib.blake2b(vals[b * _ROWS : (b + 1) * _ROWS].tobytes(), digest_size=16).hexdigest()
        for b in range(BANDS)
    ]


def scrub(text: str, analyzer: PIIAnalyzer) -> tuple[str, list[str]]:
    """``text`` with every recognized piece of personal information replaced by ``[entity]``."""
    out, last, found = [], 0, []
    for m in analyzer.analyze(text):
        out += [text[last : m.start], f"[{m.entity}]"]
        last = m.end
        found.append(m.entity)
    out.append(text[last:])
    return "".join(out), found


@dataclass(frozen=True, slots=True)
class Admission:
    admitted: bool
    reason: str
    record_hash: str | None = None
    scrubbed: tuple[str, ...] = ()


_INSERT_REJECTION = insert(PoolRejectionRow)


def _reject(
    bind: Engine | Connection, tenant: str, user: str | None, request_id: str, reason: str, detail: str
) -> Admission:
    with transaction(bind) as conn:
        conn.execute(
            _INSERT_REJECTION,
            {
                "tenant": tenant,
                "user_id": user,
                "request_id": request_id,
                "reason": reason,
                "detail": detail,
                "at": utc_now(),
            },
        )
    return Admission(False, reason)


_CANDIDATES = (
    select(PoolRecordRow.record_hash, PoolRecordRow.minhash)
    .join(PoolBandRow, PoolBandRow.record_id == PoolRecordRow.id)
    .where(
        (PoolBandRow.tenant == bindparam("tenant"))
        & PoolBandRow.band_key.in_(bindparam("bands", expanding=True))
    )
    .distinct()
)


def _near_duplicate(
    conn: Connection, tenant: str, m: MinHash, bands: list[str], threshold: float
) -> str | None:
    for row in conn.execute(_CANDIDATES, {"tenant": tenant, "bands": bands}):
        other = MinHash(
            num_perm=NUM_PERM,
            seed=1,
            hashvalues=np.array(json.loads(row.minhash), dtype=np.uint32),
            permutations=_perms(),
            scheme="affine32",
        )
        if m.jaccard(other) >= threshold:
            return str(row.record_hash)
    return None


def admit_to_pool(
    bind: Engine | Connection,
    policy: RecordsPolicy,
    *,
    tenant: str,
    user: str | None,
    channel: str,
    request_id: str,
    prompt: str,
    answer: str,
    input_action: Action | str,
    output_action: Action | str,
    at: datetime | str | None = None,
    analyzer: PIIAnalyzer | None = None,
) -> Admission:
    """Apply the admission rules to one turn; admit it or record why not (``bind``: an engine, each
    write in its own transaction; or a connection, in the caller's transaction)."""
    collected = iso(at) if isinstance(at, datetime) else (at or utc_now())
    if not user:
        return _reject(bind, tenant, None, request_id, "no_user", "")
    consent = consent_at(bind, policy, tenant, user, channel, collected)
    if not consent.granted:
        return _reject(bind, tenant, user, request_id, "no_consent", consent.basis)
    worst = max(Action(input_action), Action(output_action))
    if worst >= Action.MASK:
        return _reject(bind, tenant, user, request_id, "refused_or_masked", worst.value)
    analyzer = analyzer or PIIAnalyzer()
    clean_prompt, found_p = scrub(prompt, analyzer)
    clean_answer, found_a = scrub(answer, analyzer)
    # Judge the length without the placeholders: a prompt that was nothing but personal information
    # has nothing left to learn from.
    left = len(re.sub(r"\[[a-z_]+\]", "", clean_prompt).strip())
    if left < max(policy.pool_min_chars, 1):
        return _reject(bind, tenant, user, request_id, "too_short", str(left))
    m = _minhash(clean_prompt + "\n" + clean_answer)
    bands = _bands(m)
    record_hash = hashlib.sha256(
        canonical({"request_id": request_id, "prompt": clean_prompt, "answer": clean_answer}).encode()
    ).hexdigest()
    # One writer at a time on SQLite (BEGIN IMMEDIATE), so two copies of one text cannot both get in.
    with transaction(bind, immediate=True) as conn:
        dup = _near_duplicate(conn, tenant, m, bands, policy.pool_near_duplicate)
        if dup is None:
            rid = conn.execute(
                insert(PoolRecordRow)
                .values(
                    record_hash=record_hash,
                    tenant=tenant,
                    user_id=user,
                    channel=channel,
                    request_id=request_id,
                    prompt=clean_prompt,
                    answer=clean_answer,
                    consent_event_id=consent.event_id,
                    consent_basis=consent.basis,
                    rules_version=policy.pool_rules_version,
                    minhash=json.dumps([int(v) for v in m.hashvalues]),
                    collected_at=collected,
                    admitted_at=utc_now(),
                )
                .returning(PoolRecordRow.id)
            ).scalar_one()
            conn.execute(
                insert(PoolBandRow), [{"record_id": rid, "tenant": tenant, "band_key": b} for b in bands]
            )
    if dup is not None:
        return _reject(bind, tenant, user, request_id, "near_duplicate", dup)
    return Admission(True, "admitted", record_hash, tuple(found_p + found_a))


@dataclass(frozen=True, slots=True)
class Rejection:
    request_id: str
    user: str | None
    reason: str
    detail: str
    at: str


def rejections(engine: Engine, *, request_id: str | None = None, limit: int = 1000) -> list[Rejection]:
    t = PoolRejectionRow
    q = select(t.request_id, t.user_id, t.reason, t.detail, t.at).order_by(t.id.desc()).limit(limit)
    if request_id is not None:
        q = q.where(t.request_id == request_id)
    with engine.connect() as conn:
        return [Rejection(*r) for r in conn.execute(q)]


def pool_size(engine: Engine, tenant: str | None = None) -> int:
    q = select(func.count()).select_from(PoolRecordRow)
    if tenant is not None:
        q = q.where(PoolRecordRow.tenant == tenant)
    with engine.connect() as conn:
        return int(conn.execute(q).scalar_one())
