"""SIGTERM while a stream is open: the gateway stops taking connections, lets the stream run to its end,
flushes the audit writer and signs the final head. The client, through the official `openai` client,
gets the whole answer; the chain verifies with its MACs and checkpoints; the last checkpoint is at the
head. The gateway logs JSON (HEGUI_LOG_FORMAT=json) and its access line carries the stream's request id."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import script
from servers import VENV_BIN, create_key, fake_upstream, free_port, hegui_env, wait_ready

from hegui.records.audit import find_by_request, verify_chain
from hegui.records.audit_keys import MacKeyRing, generate_signing_key, load_signing_key
from hegui.records.audit_verify import TrustedCheckpoints
from hegui.records.checkpoints import CheckpointDir
from hegui.records.db import make_engine

pytestmark = pytest.mark.e2e

POLICY = """
version = "shutdown"
[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
models = ["fake-model"]
read_timeout = 10.0
total_timeout = 30.0
"""

CHUNKS = ["第一段，", "第二段，", "第三段，", "第四段，", "第五段，", "第六段。"]
DELAY = 0.5  # per chunk: the stream outlives the SIGTERM by about two seconds


def test_sigterm_mid_stream_finishes_the_stream_then_flushes_and_checkpoints(tmp_path: Path) -> None:
    up_port, port = free_port(), free_port()
    (tmp_path / "hegui.toml").write_text(POLICY.format(port=up_port), encoding="utf-8")
    signing = generate_signing_key(tmp_path / "keys" / "audit.pem")
    env = hegui_env(tmp_path / "data", tmp_path / "hegui.toml") | {
        "HEGUI_AUDIT_KEY": secrets.token_hex(32),
        "HEGUI_AUDIT_SIGNING_KEY": str(signing.private_path),
        "HEGUI_AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "HEGUI_AUDIT_CHECKPOINT_EVERY": "100000",  # no checkpoint while serving: the one found is shutdown's
        "HEGUI_AUDIT_CHECKPOINT_SECONDS": "3600",
        "HEGUI_SHUTDOWN_GRACE_SECONDS": "20",
        "HEGUI_LOG_FORMAT": "json",
        "HEGUI_LOG_LEVEL": "info",
    }
    key = create_key(env)
    log = tmp_path / "hegui.log"
    with fake_upstream(up_port), open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "hegui"), "serve", "--port", str(port), "--access-log"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", proc, timeout=120)
            client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=30)
            stream = client.chat.completions.create(
                model="fake-model",
                messages=[{"role": "user", "content": "请讲一个故事"}],
                stream=True,
                extra_body={"x_script": script(chunks=CHUNKS, delay=DELAY)},
            )
            received, request_id, finish = [], "", None
            for chunk in stream:
                request_id = chunk.id
                if chunk.choices and chunk.choices[0].delta.content:
                    received.append(chunk.choices[0].delta.content)
                    if len(received) == 1:
                        proc.send_signal(signal.SIGTERM)
                        time.sleep(0.5)  # uvicorn closes its listening socket at once
                        with pytest.raises(httpx.ConnectError):
                            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if chunk.choices and chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
            text = "".join(received)
            assert text.startswith("".join(CHUNKS)) and text.endswith("【AI生成】"), (
                text
            )  # whole, and labelled
            assert finish == "stop"
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # uvicorn re-raises the signal it handled once it has shut down: "stopped by SIGTERM", not a crash.
    assert proc.returncode in (0, -signal.SIGTERM), log.read_text(encoding="utf-8")

    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'hegui.db'}")
    try:
        public = load_signing_key(str(signing.private_path)).public_key()
        trusted = TrustedCheckpoints(CheckpointDir(tmp_path / "checkpoints"), {signing.key_id: public})
        report = verify_chain(engine, keys=MacKeyRing.parse(env["HEGUI_AUDIT_KEY"]), checkpoints=trusted)
        assert [e.stage for e in find_by_request(engine, request_id)] == ["input", "output"]
    finally:
        engine.dispose()
    assert report.macs_checked == report.entries > 0
    assert report.last_checkpoint is not None and report.last_checkpoint.entries == report.entries

    lines = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines() if x.startswith("{")]
    access = [x for x in lines if x["logger"] == "uvicorn.access" and "/v1/chat/completions" in x["message"]]
    assert [(x["request_id"], x["method"], x["status"]) for x in access] == [(request_id, "POST", 200)]
    messages = [x["message"] for x in lines]
    assert any(m.startswith("shutting down: flushing the audit writer") for m in messages), messages
    assert not [x for x in lines if x["level"] == "error"], lines


def test_a_stream_longer_than_the_grace_period_is_cut_and_still_recorded(tmp_path: Path) -> None:
    up_port, port = free_port(), free_port()
    (tmp_path / "hegui.toml").write_text(POLICY.format(port=up_port), encoding="utf-8")
    env = hegui_env(tmp_path / "data", tmp_path / "hegui.toml") | {
        "HEGUI_AUDIT_KEY": secrets.token_hex(32),
        "HEGUI_SHUTDOWN_GRACE_SECONDS": "1",
    }
    key = create_key(env)
    started = 0.0
    with fake_upstream(up_port):
        proc = subprocess.Popen(
            [str(VENV_BIN / "hegui"), "serve", "--port", str(port)],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", proc, timeout=120)
            client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=30)
            stream = client.chat.completions.create(
                model="fake-model",
                messages=[{"role": "user", "content": "请讲一个很长的故事"}],
                stream=True,
                extra_body={"x_script": script(chunks=["段"] * 40, delay=0.5)},  # twenty seconds of stream
            )
            received, request_id, finish = 0, "", None
            with pytest.raises((openai.APIConnectionError, httpx.HTTPError)):  # cut: no [DONE]
                for chunk in stream:
                    request_id = chunk.id
                    if chunk.choices and chunk.choices[0].delta.content:
                        received += 1
                        if received == 1:
                            proc.send_signal(signal.SIGTERM)
                            started = time.monotonic()
                    if chunk.choices and chunk.choices[0].finish_reason:
                        finish = chunk.choices[0].finish_reason
            proc.wait(timeout=30)
            stopped_after = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert finish is None and 1 <= received < 40
    assert stopped_after < 15, "the grace period did not cut the stream"
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'hegui.db'}")
    try:
        report = verify_chain(engine, keys=MacKeyRing.parse(env["HEGUI_AUDIT_KEY"]))
        stages = [e.stage for e in find_by_request(engine, request_id)]
    finally:
        engine.dispose()
    assert report.macs_checked == report.entries
    assert stages[0] == "input" and len(stages) == 2, stages  # the cut stream's output decision too
