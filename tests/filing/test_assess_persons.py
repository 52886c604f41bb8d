"""The generated-content risks beyond harmful text in `hegui assess`, on SQLite and PostgreSQL: the
person registry behind a `persona` check, the edit consents, the protected-works index. Each verdict
follows the policy and the records: no control is non-compliant and named, an empty registry protects
nobody, a registry or index that cannot be read says so. All names are fictional."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from hegui.filing.assess_persons import edits_finding, persons_finding, works_finding
from hegui.filing.findings import COMPLIANT, GAP, NON_COMPLIANT
from hegui.persons.model import Kind, Person, Scope
from hegui.policy import Policy, load_policy
from hegui.records.edit_consents import EditConsents
from hegui.records.persons_store import PersonRegistry
from hegui.works.index import Work, WorksIndex

NOW = datetime(2026, 6, 1, tzinfo=UTC)
UPSTREAM = '[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["m"]\n'


def _policy(tmp_path: Path, body: str) -> Policy:
    path = tmp_path / "hegui.toml"
    path.write_text(UPSTREAM + body, encoding="utf-8")
    return load_policy(path)


PERSONA = '[[checks]]\nname = "persons"\ntype = "persona"\nregistry = "{registry}"\n'


def _fill(engine: Engine) -> None:
    reg = PersonRegistry(engine)
    reg.add(Person("linxiaowen", "林晓雯", Kind.PUBLIC_FIGURE), at=NOW - timedelta(days=30))
    reg.add(Person("chen", "陈思远", Kind.LICENSED), at=NOW - timedelta(days=30))
    grant = {"tenant": "acme", "purpose": "广告", "grantor": "本人", "evidence": "c.pdf"}
    reg.authorize("chen", scope=Scope.VOICE, at=NOW - timedelta(days=20), **grant)
    reg.authorize(
        "linxiaowen",
        scope=Scope.LIKENESS,
        at=NOW - timedelta(days=20),
        expires_at=NOW - timedelta(days=1),
        **grant,
    )
    gone = reg.authorize("chen", scope=Scope.NAME, at=NOW - timedelta(days=20), **grant)
    reg.revoke(gone.id, by="ops", reason="合同终止", at=NOW - timedelta(days=2))


def test_persons_from_the_database(engine: Engine, tmp_path: Path) -> None:
    assert persons_finding(_policy(tmp_path, ""), engine, NOW).verdict == NON_COMPLIANT  # no check
    policy = _policy(tmp_path, PERSONA.format(registry="database"))
    empty = persons_finding(policy, engine, NOW)
    assert empty.verdict == NON_COMPLIANT and "protects nobody" in empty.detail
    assert persons_finding(policy, None, NOW).verdict == GAP  # the registry lives in no database
    _fill(engine)
    found = persons_finding(policy, engine, NOW)
    assert found.verdict == COMPLIANT and found.evidence == "persons, person_authorizations"
    assert "2 person(s) registered (licensed 1, public_figure 1)" in found.detail
    assert "1 active authorization(s) (voice 1), 1 expired, 1 revoked" in found.detail
    disabled = PERSONA.format(registry="database") + "enabled = false\n"
    assert persons_finding(_policy(tmp_path, disabled), engine, NOW).verdict == NON_COMPLIANT


def test_persons_from_a_snapshot_file(engine: Engine, tmp_path: Path) -> None:
    _fill(engine)
    snapshot = PersonRegistry(engine).snapshot(NOW)
    (tmp_path / "persons.json").write_text(json.dumps(snapshot.to_json()), encoding="utf-8")
    policy = _policy(tmp_path, PERSONA.format(registry="persons.json"))  # relative to the policy
    found = persons_finding(policy, None, NOW)
    assert found.verdict == COMPLIANT and found.evidence == str(tmp_path / "persons.json")
    (tmp_path / "persons.json").write_text('{"format": "other"}', encoding="utf-8")
    broken = persons_finding(policy, None, NOW)
    assert broken.verdict == NON_COMPLIANT and "not a hegui-persons/1 snapshot" in broken.detail


def test_edit_consents(engine: Engine, tmp_path: Path) -> None:
    store = EditConsents(engine)
    common = {"tenant": "acme", "purpose": "海报", "consented_by": "本人", "evidence": "f.pdf"}
    store.record(
        subject="陈思远", scopes=("likeness",), recorded_by="ops", at=NOW - timedelta(days=3), **common
    )
    store.record(
        subject="王五",
        scopes=("voice",),
        recorded_by="ops",
        at=NOW - timedelta(days=9),
        expires_at=NOW - timedelta(days=4),
        **common,
    )
    found = edits_finding(_policy(tmp_path, ""), engine, NOW)
    assert (
        found.verdict == COMPLIANT and "2 consent(s) recorded: 1 active, 1 expired, 0 revoked" in found.detail
    )
    assert found.evidence.endswith("edit_consents")
    narrow = edits_finding(_policy(tmp_path, '[media]\nedit_consent_scopes = ["likeness"]\n'), engine, NOW)
    assert narrow.verdict == NON_COMPLIANT and "leaves out voice" in narrow.detail


def test_works_index(tmp_path: Path) -> None:
    assert works_finding(_policy(tmp_path, "")).verdict == NON_COMPLIANT
    works = [
        Work("诗集", "床前明月光疑是地上霜举头望明月低头思故乡" * 10),
        Work("散文", "春天来了花开了" * 30),
    ]
    WorksIndex.build(works).save(tmp_path / "works.idx.npz")
    check = (
        '[[checks]]\nname = "works"\ntype = "works_overlap"\nstages = ["output"]\nindex = "works.idx.npz"\n'
    )
    found = works_finding(_policy(tmp_path, check))
    assert found.verdict == COMPLIANT and "index of 2 work(s)" in found.detail
    assert "`works` at output" in found.detail and found.evidence == str(tmp_path / "works.idx.npz")
    (tmp_path / "works.idx.npz").write_bytes(b"not an index")
    broken = works_finding(_policy(tmp_path, check))
    assert broken.verdict == NON_COMPLIANT and "does not load" in broken.detail
