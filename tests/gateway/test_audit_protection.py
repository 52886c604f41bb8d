"""The gateway with a protected audit chain: MAC'd entries, checkpoints, what start-up and /readyz say."""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from pathlib import Path

import pytest
from tests.gateway.conftest import MakeClient

from hegui.errors import ConfigError
from hegui.records.audit import iter_entries, verify_chain
from hegui.records.audit_keys import MacKeyRing, generate_signing_key, load_public_key
from hegui.records.audit_verify import TrustedCheckpoints
from hegui.records.checkpoints import CheckpointDir, trusted_keys

CHAT = {"model": "hegui-demo", "messages": [{"role": "user", "content": "你好"}]}


def test_a_protected_gateway_authenticates_and_checkpoints(make_client: MakeClient, tmp_path: Path) -> None:
    mac = secrets.token_hex(32)
    signing = generate_signing_key(tmp_path / "k.pem")
    client = make_client(
        audit_key=mac,
        audit_signing_key=str(signing.private_path),
        audit_checkpoint_dir=tmp_path / "cp",
        audit_checkpoint_every=1,
    )
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
    state = client.app.state.hegui  # type: ignore[attr-defined]
    entries = list(iter_entries(state.engine))
    assert entries and all(e.mac and e.key_id == MacKeyRing.parse(mac).current.key_id for e in entries)  # type: ignore[union-attr]

    deadline = time.monotonic() + 20
    checkpointer = state.audit._observer
    while (checkpointer.newest is None or checkpointer.newest.entries < 2) and time.monotonic() < deadline:
        time.sleep(0.02)  # the checkpointer thread catches up with the first request's two entries
    shutil.rmtree(tmp_path / "cp" / ".staging")
    (tmp_path / "cp" / ".staging").write_text("not a directory")
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200  # still recorded and answered
    while state.audit.checkpoint_problem is None and time.monotonic() < deadline:
        time.sleep(0.02)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["problems"] == []
    assert ready.json()["warnings"][0].startswith("audit checkpoint not written: NotADirectoryError")

    (tmp_path / "cp" / ".staging").unlink()
    (tmp_path / "cp" / ".staging").mkdir()
    client.__exit__(None, None, None)  # shutdown: the final checkpoint, at the head
    trusted = TrustedCheckpoints(
        CheckpointDir(tmp_path / "cp"), trusted_keys([load_public_key(signing.public_path)])
    )
    report = verify_chain(state.engine, keys=MacKeyRing.parse(mac), checkpoints=trusted)
    assert report.complete and report.macs_checked == report.entries == 4


def test_an_unprotected_gateway_says_what_is_left_open(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hegui.gateway.state"):
        client = make_client()
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
    warned = [r.getMessage() for r in caplog.records]
    assert any("WITHOUT MACs" in w for w in warned) and any(
        "no signed audit checkpoints" in w for w in warned
    )
    entries = list(iter_entries(client.app.state.hegui.engine))  # type: ignore[attr-defined]
    assert entries and all(e.mac is None and e.key_id is None for e in entries)


def test_a_gateway_without_the_key_refuses_an_authenticated_chain(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(audit_key=secrets.token_hex(32))
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
    client.__exit__(None, None, None)
    data_dir = tmp_path / "data0"
    with pytest.raises(ConfigError, match="set the same HEGUI_AUDIT_KEY"):
        make_client(database_url=f"sqlite:///{data_dir / 'hegui.db'}")


def test_an_empty_checkpoint_directory_beside_a_chain_is_said_at_start(
    make_client: MakeClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mac = secrets.token_hex(32)
    signing = str(generate_signing_key(tmp_path / "k.pem").private_path)
    settings = {"audit_key": mac, "audit_signing_key": signing, "audit_checkpoint_dir": tmp_path / "cp"}
    first = make_client(**settings)
    assert first.post("/v1/chat/completions", json=CHAT).status_code == 200
    first.__exit__(None, None, None)
    shutil.rmtree(tmp_path / "cp")
    url = f"sqlite:///{tmp_path / 'data0' / 'hegui.db'}"
    with caplog.at_level(logging.WARNING, logger="hegui.gateway.state"):
        make_client(database_url=url, **settings)
    assert any("holds 2 entries but" in r.getMessage() for r in caplog.records), caplog.text
