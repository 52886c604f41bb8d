"""Envelope encryption and crypto-shredding of the conversation store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hegui.errors import ConfigError, ContentErased, StorageError
from hegui.records.conversations import ciphertexts_of, store_turn, turns_of
from hegui.records.dsr import erase_user
from hegui.records.vault import Vault, master_key
from hegui.settings import Settings


@pytest.mark.parametrize("text", ["你好，我的手机号是13800138000", "plain ascii", "", "emoji 😀 and \u00e9"])
def test_round_trip_and_no_plaintext_at_rest(engine: Engine, text: str) -> None:
    v = Vault(engine, os.urandom(32))
    store_turn(
        engine,
        v,
        tenant="t",
        user="u1",
        session="s",
        request_id="r1",
        role="user",
        text=text,
        marks={"action": "allow"},
    )
    [turn] = turns_of(engine, v, "t", "u1")
    assert (turn.text, turn.role, turn.marks) == (text, "user", {"action": "allow"})
    [blob] = ciphertexts_of(engine, "t", "u1")
    assert text.encode() not in blob.encode() or text == ""


def test_shredding_makes_every_copy_unreadable(engine: Engine) -> None:
    master = os.urandom(32)
    v = Vault(engine, master)
    store_turn(
        engine, v, tenant="t", user="u1", session=None, request_id="r1", role="user", text="secret one"
    )
    store_turn(
        engine, v, tenant="t", user="u2", session=None, request_id="r2", role="user", text="other user"
    )
    backup = ciphertexts_of(engine, "t", "u1")  # a copy taken before deletion, e.g. a backup
    erase_user(engine, v, "t", "u1")
    fresh = Vault(engine, master)  # another process with the same master key
    for vault in (v, fresh):
        with pytest.raises(ContentErased):
            vault.decrypt("t", "u1", backup[0])
    assert turns_of(engine, fresh, "t", "u1") == []
    assert [t.text for t in turns_of(engine, fresh, "t", "u2")] == ["other user"]


def test_wrong_master_key_fails_closed(engine: Engine) -> None:
    v = Vault(engine, os.urandom(32))
    store_turn(engine, v, tenant="t", user="u", session=None, request_id="r", role="user", text="x")
    with pytest.raises(StorageError, match="master key"):
        turns_of(engine, Vault(engine, os.urandom(32)), "t", "u")


def test_tampered_ciphertext_fails_closed(engine: Engine) -> None:
    v = Vault(engine, os.urandom(32))
    token = v.encrypt("t", "u", "hello")
    with pytest.raises(StorageError, match="tampered"):
        v.decrypt("t", "u", token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"))
    v.data_key("t", "other", create=True)
    with pytest.raises(StorageError):  # bound to its owner: another user's key does not open it
        v.decrypt("t", "other", v.encrypt("t", "u", "hello"))


@pytest.mark.parametrize(
    ("configured", "error"),
    [("00" * 32, None), ("zz", "64 hex"), ("00" * 16, "32 bytes"), (None, None)],
)
def test_master_key_setting(tmp_path: Path, configured: str | None, error: str | None) -> None:
    s = Settings(data_dir=tmp_path, master_key=configured)
    if error:
        with pytest.raises(ConfigError, match=error):
            master_key(s)
        return
    key = master_key(s)
    assert len(key) == 32
    assert master_key(s) == key  # generated once, then read back
    assert (configured is None) == (tmp_path / "master.key").exists()
