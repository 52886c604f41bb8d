"""Issue 5 end to end: the official openai client against a started gateway; the training pool, consent,
withdrawal, deletion and access exports through the admin API and `hegui data`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from hegui.errors import HeguiError
from hegui.records.conversations import ciphertexts_of
from hegui.records.db import make_engine
from hegui.records.vault import Vault

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import VENV_BIN, free_port, hegui_env, hegui_server

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Stack:
    base: str
    env: dict[str, str]
    api_key: str
    chat_key: str
    admin: httpx.Client


def hegui(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "hegui"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def key(env: dict[str, str], *args: str) -> str:
    return hegui(env, "keys", "create", "--name", "e2e", *args).stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("records")
    env = hegui_env(root / "data")
    api_key, chat_key = key(env, "--channel", "api"), key(env, "--channel", "chat")
    admin_key = key(env, "--role", "admin")
    port = free_port()
    with hegui_server(port, env, root / "hegui.log"):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(
            base_url=base, headers={"authorization": f"Bearer {admin_key}"}, timeout=30
        ) as admin:
            yield Stack(base, env, api_key, chat_key, admin)


def ask(stack: Stack, key: str, user: str, content: str, stream: bool = False) -> str:
    client = OpenAI(base_url=f"{stack.base}/v1", api_key=key, max_retries=0)
    if stream:
        chunks = client.chat.completions.create(
            model="hegui-demo", user=user, stream=True, messages=[{"role": "user", "content": content}]
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    answer = client.chat.completions.create(
        model="hegui-demo", user=user, messages=[{"role": "user", "content": content}]
    )
    return answer.choices[0].message.content or ""


def export(stack: Stack, out: Path) -> list[dict[str, object]]:
    hegui(stack.env, "data", "export", str(out))
    return [json.loads(line) for line in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]


ALICE = "请推荐三本关于园艺的书"
BOB_BEFORE_CONSENT = "怎样给多肉植物浇水"
BOB_AFTER_CONSENT = "哪些植物适合放在卧室"


def prompts(records: list[dict[str, object]]) -> list[object]:
    """Exports carry no user ids; the prompts tell whose turns they are."""
    return sorted(str(r["prompt"]) for r in records)


def test_pool_consent_withdrawal_and_deletion(stack: Stack, tmp_path: Path) -> None:
    # A chat-channel user is in by default (opt-out); an API-channel user is out until consent (opt-in).
    ask(stack, stack.chat_key, "alice", ALICE)
    ask(stack, stack.api_key, "bob", BOB_BEFORE_CONSENT, stream=True)
    ask(stack, stack.chat_key, "alice", "我想知道演示违禁词")  # refused: never enters the pool
    first = export(stack, tmp_path / "export1")
    assert prompts(first) == [ALICE]
    assert not any("演示违禁词" in json.dumps(r, ensure_ascii=False) for r in first)

    r = stack.admin.post("/hegui/api/users/bob/consent", json={"granted": True, "channel": "api"})
    assert r.status_code == 201, r.text
    ask(stack, stack.api_key, "bob", BOB_AFTER_CONSENT, stream=True)
    second = export(stack, tmp_path / "export2")
    assert prompts(second) == sorted([ALICE, BOB_AFTER_CONSENT])

    # Alice withdraws: the next export leaves her out, and the older exports are flagged.
    assert (
        stack.admin.post(
            "/hegui/api/users/alice/consent", json={"granted": False, "channel": "chat"}
        ).status_code
        == 201
    )
    third = export(stack, tmp_path / "export3")
    assert prompts(third) == [BOB_AFTER_CONSENT]
    flagged = hegui(stack.env, "data", "check", str(tmp_path / "export2"), check=False)
    assert flagged.returncode == 1
    assert "1 of 2 records must be purged" in flagged.stderr
    assert hegui(stack.env, "data", "check", str(tmp_path / "export3"), check=False).returncode == 0

    # Bob is deleted: his content cannot be decrypted and his access export is empty.
    before = stack.admin.post("/hegui/api/dsr", json={"user": "bob", "kind": "access"})
    assert before.status_code in (200, 201), before.text
    done = stack.admin.post(f"/hegui/api/dsr/{before.json()['id']}/complete", json={}).json()
    assert [t["role"] for t in done["result"]["conversations"]] == ["user", "assistant", "user", "assistant"]
    db = Path(stack.env["HEGUI_DATA_DIR"]) / "hegui.db"
    backup = tmp_path / "backup.db"
    with sqlite3.connect(db) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)  # a backup taken before the deletion keeps bob's ciphertexts
    hegui(stack.env, "data", "delete", "bob")
    live_engine = make_engine(f"sqlite:///{db}")
    try:
        vault = Vault(live_engine, bytes.fromhex((db.parent / "master.key").read_text().strip()))
        old = ciphertexts_of(make_engine(f"sqlite:///{backup}"), "default", "bob")
        assert len(old) == 4
        for token in old:
            with pytest.raises(HeguiError):
                vault.decrypt("default", "bob", token)
    finally:
        live_engine.dispose()
    after = stack.admin.post("/hegui/api/dsr", json={"user": "bob", "kind": "access"}).json()
    result = stack.admin.post(f"/hegui/api/dsr/{after['id']}/complete", json={}).json()["result"]
    assert result["conversations"] == [] and result["training_pool"] == []
    fourth = export(stack, tmp_path / "export4")
    assert prompts(fourth) == []
