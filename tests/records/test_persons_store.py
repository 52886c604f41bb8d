"""The person registry on SQLite and PostgreSQL: CRUD, import, authorize, revoke, snapshot."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hegui.errors import RecordNotFound, RequestError
from hegui.persons.importer import PersonsTableError, read_persons
from hegui.persons.model import Kind, Person, Scope
from hegui.records.persons_store import ImportCounts, PersonRegistry

T0 = datetime(2026, 11, 1, tzinfo=UTC)
LIN = Person("lin-xiaowen", "林晓雯", Kind.PUBLIC_FIGURE, ("雯雯",), ("linxiaowen",), ("林小雯",))


def test_add_get_list_and_replace(engine: Engine) -> None:
    reg = PersonRegistry(engine)
    assert reg.add(LIN, at=T0)
    assert reg.get("lin-xiaowen") == LIN and reg.get("nobody") is None
    with pytest.raises(RequestError, match="already registered"):
        reg.add(Person("lin-xiaowen", "林晓雯", Kind.PRIVATE), at=T0)
    assert not reg.add(LIN, at=T0)  # the same record again: nothing changes
    changed = Person("lin-xiaowen", "林晓雯", Kind.EMPLOYEE, ("雯雯", "Lin"))
    assert reg.add(changed, replace=True, at=T0)
    assert reg.persons() == [changed]


def test_import_counts(engine: Engine) -> None:
    reg = PersonRegistry(engine)
    reg.add(LIN, at=T0)
    other = Person("wang-jianguo", "王建国", Kind.EMPLOYEE)
    counts = reg.import_persons([LIN, other, Person("lin-xiaowen", "林晓雯", Kind.LICENSED)])
    assert counts == ImportCounts(added=1, updated=1, unchanged=1, changed=("wang-jianguo", "lin-xiaowen"))
    assert [p.key for p in reg.persons()] == ["lin-xiaowen", "wang-jianguo"]


def test_authorize_expire_revoke_and_snapshot(engine: Engine) -> None:
    reg = PersonRegistry(engine)
    reg.add(LIN, at=T0)
    a = reg.authorize(
        "lin-xiaowen",
        tenant="acme",
        scope=Scope.VOICE,
        purpose="有声书配音",
        grantor="林晓雯本人",
        evidence="contracts/lin-voice.pdf",
        evidence_sha256="0" * 64,
        expires_at=T0 + timedelta(days=30),
        at=T0,
    )
    snap = reg.snapshot(T0 + timedelta(days=1))
    assert snap.authorized("lin-xiaowen", "acme", Scope.VOICE, T0 + timedelta(days=1)) == a
    assert snap.authorized("lin-xiaowen", "other", Scope.VOICE, T0 + timedelta(days=1)) is None
    assert snap.authorized("lin-xiaowen", "acme", Scope.LIKENESS, T0 + timedelta(days=1)) is None
    assert snap.authorized("lin-xiaowen", "acme", Scope.VOICE, T0 + timedelta(days=31)) is None
    revoked = reg.revoke(a.id, by="ops", reason="合同终止", at=T0 + timedelta(days=2))
    assert revoked.revoked_at == T0 + timedelta(days=2)
    assert reg.snapshot().authorized("lin-xiaowen", "acme", Scope.VOICE, T0 + timedelta(days=3)) is None
    assert reg.snapshot().authorized("lin-xiaowen", "acme", Scope.VOICE, T0 + timedelta(days=1)) is not None
    with pytest.raises(RequestError, match="already revoked"):
        reg.revoke(a.id, by="ops", reason="again")
    assert [x.id for x in reg.authorizations(person="lin-xiaowen")] == [a.id]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"person": "nobody"}, "no registered person"),
        ({"purpose": " "}, "needs its purpose"),
        ({"grantor": ""}, "needs its grantor"),
        ({"evidence": ""}, "needs its evidence"),
        ({"expires_at": T0}, "expiry is not after"),
    ],
)
def test_authorization_needs_its_parts(engine: Engine, change: dict[str, object], message: str) -> None:
    reg = PersonRegistry(engine)
    reg.add(LIN, at=T0)
    args: dict[str, object] = {
        "person": "lin-xiaowen",
        "tenant": "acme",
        "scope": Scope.LIKENESS,
        "purpose": "广告",
        "grantor": "经纪公司",
        "evidence": "e.pdf",
        "at": T0,
    } | change
    person = args.pop("person")
    with pytest.raises(RequestError, match=message):
        reg.authorize(str(person), **args)  # type: ignore[arg-type]


def test_read_persons_csv_with_chinese_headers(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "姓名,类型,别名,常见错写,备注\n林晓雯,公众人物,雯雯；Lin Xiaowen,林小雯,虚构\n王建国,employee,,,\n",
        encoding="utf-8",
    )
    persons = read_persons(path)
    assert persons[0] == Person(
        "linxiaowen", "林晓雯", Kind.PUBLIC_FIGURE, ("雯雯", "Lin Xiaowen"), (), ("林小雯",), "虚构"
    )
    assert (persons[1].key, persons[1].kind) == ("wangjianguo", Kind.EMPLOYEE)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty table"),
        ("key,kind\nx,private\n", "name (姓名) column"),
        ("name,kind\n林晓雯,celebrity\n", "row 2: unknown kind 'celebrity'"),
        ("name\n\n,\n林晓雯\n林晓雯\n", "key 'linxiaowen' appears twice"),
    ],
)
def test_read_persons_errors_name_the_row(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(PersonsTableError, match=re.escape(message)):
        read_persons(path)


def test_read_persons_xlsx(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl (the [office] extra) not installed")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["key", "name", "kind", "aliases", "pinyin"])
    ws.append(["chen", "陈思远", "licensed", "思远|小陈", "chensiyuan"])
    wb.save(tmp_path / "p.xlsx")
    assert read_persons(tmp_path / "p.xlsx") == [
        Person("chen", "陈思远", Kind.LICENSED, ("思远", "小陈"), ("chensiyuan",))
    ]


def test_remove_deletes_the_person_and_revokes_what_is_in_force(engine: Engine) -> None:
    reg = PersonRegistry(engine)
    reg.add(LIN, at=T0)
    reg.add(Person("wang-jianguo", "王建国", Kind.EMPLOYEE), at=T0)

    def grant(tenant: str, scope: Scope) -> str:
        return reg.authorize(
            "lin-xiaowen", tenant=tenant, scope=scope, purpose="配音", grantor="本人", evidence="c.pdf", at=T0
        ).id

    kept = grant("acme", Scope.VOICE)
    other = grant("beta", Scope.LIKENESS)
    earlier = grant("acme", Scope.NAME)
    reg.revoke(earlier, by="ops", reason="合同终止", at=T0)
    removal = reg.remove("lin-xiaowen", by="ops", reason="本人要求删除", at=T0 + timedelta(days=2))
    assert removal.person == LIN and removal.revoked == (kept, other)
    assert reg.get("lin-xiaowen") is None and [p.key for p in reg.persons()] == ["wang-jianguo"]
    auths = {a.id: a for a in reg.authorizations("lin-xiaowen")}
    assert len(auths) == 3  # never deleted
    assert {auths[i].revoked_at for i in (kept, other)} == {T0 + timedelta(days=2)}
    assert auths[earlier].revoked_at == T0  # an earlier revocation is left as it was
    snap = reg.snapshot(T0 + timedelta(days=3))
    assert snap.authorized("lin-xiaowen", "acme", Scope.VOICE, T0 + timedelta(days=3)) is None
    with pytest.raises(RecordNotFound, match="no person 'lin-xiaowen'"):
        reg.remove("lin-xiaowen", by="ops", reason="again")
