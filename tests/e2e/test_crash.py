"""Kill -9 the gateway under a bounded local load: the chain still verifies after restart, and every
response the client received has its audit entry. The chain is protected (entry MACs, checkpoints every
few entries): after the kill the last checkpoint is behind the head or at it, never ahead, and nothing is
reported as tampering; after a clean stop the last checkpoint is at the head."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import VENV_BIN, create_key, fake_upstream, free_port, hegui_env, wait_ready

from hegui.records.audit import find_by_request, verify_chain
from hegui.records.audit_keys import MacKeyRing, generate_signing_key, load_signing_key, signing_key_id
from hegui.records.audit_verify import TrustedCheckpoints
from hegui.records.checkpoints import CheckpointDir
from hegui.records.db import make_engine

pytestmark = pytest.mark.e2e

POLICY = """
version = "crash"
[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
models = ["fake-model"]
read_timeout = 5.0
[[checks]]
name = "demo-denylist"
type = "denylist"
terms = ["演示违禁词"]
"""

THREADS = 6
LOAD_SECONDS = 6.0
KILL_AFTER = 1.5


def start(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(VENV_BIN / "hegui"), "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
    return proc


def test_kill_9_under_load_keeps_the_chain_and_every_received_answer(tmp_path: Path) -> None:
    up_port, port = free_port(), free_port()
    (tmp_path / "hegui.toml").write_text(POLICY.format(port=up_port), encoding="utf-8")
    signing = generate_signing_key(tmp_path / "keys" / "audit.pem")
    env = hegui_env(tmp_path / "data", tmp_path / "hegui.toml") | {
        "HEGUI_AUDIT_KEY": secrets.token_hex(32),
        "HEGUI_AUDIT_SIGNING_KEY": str(signing.private_path),
        "HEGUI_AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "HEGUI_AUDIT_CHECKPOINT_EVERY": "25",
        "HEGUI_AUDIT_CHECKPOINT_SECONDS": "0.2",
    }
    public = load_signing_key(str(signing.private_path)).public_key()
    trusted = TrustedCheckpoints(CheckpointDir(tmp_path / "checkpoints"), {signing.key_id: public})
    assert signing_key_id(public) == signing.key_id
    key = create_key(env)
    complete: list[str] = []  # ids of whole answers the client received
    partial: list[str] = []  # ids of streams that had begun when the gateway died
    lock = threading.Lock()
    deadline = 0.0  # set once the gateway is ready: a slow start on a busy machine must not eat the load time

    def load(n: int) -> None:
        cli = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=5.0)
        i = 0
        while time.monotonic() < deadline:
            i += 1
            messages = [{"role": "user", "content": f"请求 {n}-{i}"}]
            try:
                if i % 2:
                    answer = cli.chat.completions.create(model="fake-model", messages=messages)  # type: ignore[arg-type]
                    with lock:
                        complete.append(answer.id)
                else:
                    rid, finished = "", False
                    stream = cli.chat.completions.create(
                        model="fake-model",
                        messages=messages,
                        stream=True,  # type: ignore[arg-type]
                        extra_body={"x_script": {"chunks": ["一", "二", "三"], "delay": 0.005}},
                    )
                    try:
                        for chunk in stream:
                            rid = chunk.id
                            finished = finished or any(c.finish_reason for c in chunk.choices)
                    finally:
                        with lock:
                            if rid:
                                (complete if finished else partial).append(rid)
            except (openai.APIConnectionError, openai.APIStatusError, httpx.HTTPError):
                time.sleep(0.05)  # the gateway is down; keep trying until the deadline

    with fake_upstream(up_port):
        proc = start(port, env)
        deadline = time.monotonic() + LOAD_SECONDS
        threads = [threading.Thread(target=load, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        time.sleep(KILL_AFTER)
        while not list((tmp_path / "checkpoints").glob("*.json")) and time.monotonic() < deadline - 1:
            time.sleep(0.05)  # a busy machine: kill once a checkpoint exists, still under load
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for t in threads:
            t.join(timeout=LOAD_SECONDS + 10)
        assert complete, "the load produced no answers before the kill"

        engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'hegui.db'}")
        try:
            report = verify_chain(engine, keys=MacKeyRing.parse(env["HEGUI_AUDIT_KEY"]), checkpoints=trusted)
            assert report.macs_checked == report.entries and report.unauthenticated == 0
            assert report.last_checkpoint is not None, "no checkpoint in the seconds before the kill"
            assert report.last_checkpoint.entries <= report.entries
            for rid in complete:
                stages = [e.stage for e in find_by_request(engine, rid)]
                assert stages == ["input", "output"], f"{rid}: {stages}"
            for rid in partial:
                assert "input" in [e.stage for e in find_by_request(engine, rid)], rid
        finally:
            engine.dispose()

        proc = start(port, env)  # restarts cleanly on the crashed database
        try:
            cli = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
            cli.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "again"}])
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    out = subprocess.run(
        [
            str(VENV_BIN / "hegui"),
            "audit",
            "verify",
            "--checkpoints",
            str(tmp_path / "checkpoints"),
            "--strict",
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert f"{report.entries + 2} entries" in out.stdout
    assert f"covers entries 1–{report.entries + 2}" in out.stdout, (
        out.stdout
    )  # the clean stop signed the head
