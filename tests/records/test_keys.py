"""API keys on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from hegui.errors import RequestError
from hegui.records.keys import KeyStore
from hegui.records.tables import ApiKeyRow


def test_create_authenticate_revoke(engine: Engine) -> None:
    store = KeyStore(engine)
    key, info = store.create(name="app", tenant="t1", role="admin", channel="chat")
    assert key.startswith("hg-") and len(key) > 40
    assert store.authenticate(key) == info
    assert (info.tenant, info.role, info.channel) == ("t1", "admin", "chat")
    assert store.authenticate(key + "x") is None
    store.revoke(info.prefix)
    assert store.authenticate(key) is None
    assert store.list() == [] and len(store.list(include_revoked=True)) == 1


def test_only_the_hash_is_stored(engine: Engine) -> None:
    key, _ = KeyStore(engine).create(name="app")
    with engine.connect() as conn:
        stored = conn.execute(select(ApiKeyRow.key_hash, ApiKeyRow.prefix)).one()
    assert key not in stored.key_hash and stored.prefix == key[:11]


@pytest.mark.parametrize("kwargs", [{"role": "root"}, {"channel": "sms"}, {"name": " "}])
def test_bad_key_attributes_are_refused(engine: Engine, kwargs: dict[str, str]) -> None:
    with pytest.raises(RequestError):
        KeyStore(engine).create(**({"name": "x"} | kwargs))


def test_revoking_an_unknown_key_names_it(engine: Engine) -> None:
    with pytest.raises(RequestError, match="hg-nothing"):
        KeyStore(engine).revoke("hg-nothing")
