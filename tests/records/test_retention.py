"""The purge job removes old turns and rejection notes, never audit entries, and reports counts."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from sqlalchemy import Engine

from hegui.policy import RetentionPolicy
from hegui.records.audit import AuditDraft, verify_chain, write_batch
from hegui.records.conversations import store_turn, turns_of
from hegui.records.retention import purge
from hegui.records.vault import Vault


def test_purge(engine: Engine) -> None:
    v = Vault(engine, os.urandom(32))
    store_turn(
        engine,
        v,
        tenant="t",
        user="u",
        session=None,
        request_id="old",
        role="user",
        text="old",
        at="2026-01-01T00:00:00.000000Z",
    )
    store_turn(
        engine,
        v,
        tenant="t",
        user="u",
        session=None,
        request_id="new",
        role="user",
        text="new",
        at="2026-03-01T00:00:00.000000Z",
    )
    write_batch(
        engine,
        [
            AuditDraft(request_id=f"r{i}", stage="input", action="allow", policy_version="p", content_hash="")
            for i in range(3)
        ],
    )
    report = purge(engine, RetentionPolicy(prompt_days=30), now=datetime(2026, 3, 10, tzinfo=UTC))
    assert report.turns_removed == 1 and report.prompt_cutoff == "2026-02-08T00:00:00.000000Z"
    assert [t.text for t in turns_of(engine, v, "t", "u")] == ["new"]
    assert report.audit_entries_kept == 3 and report.audit_entries_archivable == 0
    assert verify_chain(engine).entries == 4  # the purge's own entry appended, nothing cut
    again = purge(engine, RetentionPolicy(prompt_days=0), now=datetime(2026, 3, 10, tzinfo=UTC))
    assert again.turns_removed == 1
    verify_chain(engine)
