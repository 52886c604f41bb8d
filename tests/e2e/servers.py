"""Starting real servers on loopback for the end-to-end tests: bounded waits, always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent


#: Every port ``free_port`` handed out in this process: a port bound and closed is free to be handed out
#: again, so ``free_port(), free_port()`` could return one port twice (the two servers would collide).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free loopback port, never one this process was given before."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready ({url})")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server not ready within {timeout}s: {url}")


def stop(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM (a graceful shutdown), SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_serve(port: int, env: dict[str, str], log: Path, timeout: float = 60.0) -> subprocess.Popen[bytes]:
    """`hegui serve` on loopback ``port`` with ``env`` added to ours, its output appended to ``log``,
    once /readyz answers; the caller stops it (`stop`)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "hegui"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_ready(f"http://127.0.0.1:{port}/readyz", proc, timeout=timeout)
    return proc


@contextmanager
def running(
    cmd: list[str],
    ready_url: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    *,
    cwd: Path | None = None,
    replace_env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """``replace_env``: the whole environment (a new user's), instead of ours plus ``env``."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    full_env = replace_env if replace_env is not None else {**os.environ, **(env or {})}
    proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        wait_ready(ready_url, proc)
        yield proc
    finally:
        stop(proc, grace=15)
        if log:
            out.close()  # type: ignore[union-attr]


def fake_upstream(port: int, log: Path | None = None) -> AbstractContextManager[subprocess.Popen[bytes]]:
    env = {"FAKE_UPSTREAM_LOG": str(log)} if log else {}
    return running(
        [sys.executable, str(HERE / "fake_upstream.py"), str(port)], f"http://127.0.0.1:{port}/healthz", env
    )


def hegui_env(data_dir: Path, policy: Path | None = None) -> dict[str, str]:
    env = {"HEGUI_DATA_DIR": str(data_dir), "HEGUI_FIRST_KEY": "false", "HEGUI_LOG_LEVEL": "warning"}
    if policy is not None:
        env["HEGUI_POLICY_FILE"] = str(policy)
    return env


def create_key(env: dict[str, str], role: str = "client") -> str:
    out = subprocess.run(
        [str(VENV_BIN / "hegui"), "keys", "create", "--name", "e2e", "--role", role],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()[-1]


def hegui_server(
    port: int, env: dict[str, str], log: Path | None = None
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return running(
        [str(VENV_BIN / "hegui"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        f"http://127.0.0.1:{port}/readyz",
        env,
        log,
    )
