"""The README's commands, run as a new user would, from a fresh copy of the repository (issue 12).

The copy is every file git tracks or would track (``git ls-files -co --exclude-standard``), in a
temporary directory. Installing hegui again into a new ``.venv`` would take minutes and need the network,
so the copy gets a small ``.venv`` that reuses the interpreter and packages of the venv running these
tests: ``.venv/bin/python`` and ``.venv/bin/hegui`` are two-line wrappers around this interpreter with
``PYTHONPATH=<copy>/src`` (so the copy's code is what runs), and ``scripts/bootstrap``'s install stamp is
in place, so ``./scripts/serve`` goes straight to ``hegui serve`` exactly as on a second run.

Every server start is bounded (``servers.wait_ready``) and every command has a timeout. The gateway runs
on a free port given as ``HEGUI_PORT`` rather than on 8000, which another process on a shared machine
may hold; the port-change section is then run with its own command, port number substituted.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from openai import OpenAI
from servers import HERE, fake_upstream, free_port, running

pytestmark = pytest.mark.e2e

ROOT = HERE.parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def blocks(lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(README) if kind == lang]


def block_with(lang: str, needle: str) -> str:
    found = [b for b in blocks(lang) if needle in b]
    assert len(found) == 1, f"README: expected one {lang} block with {needle!r}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the repository with a reusing .venv (see the module docstring)."""
    repo = tmp_path_factory.mktemp("readme") / "hegui"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    src = repo / "src"
    wrappers = {
        "python": f'PYTHONPATH="{src}" exec "{sys.executable}" "$@"',
        "hegui": f'PYTHONPATH="{src}" exec "{sys.executable}" -c '
        '\'import sys; sys.argv[0] = "hegui"; from hegui.cli import main; main()\' "$@"',
    }
    for name, line in wrappers.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{line}\n", encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    # What scripts/serve's bootstrap checks: the hash of pyproject.toml and constraints.txt, and the extras.
    # A stamp that does not match makes bootstrap run pip through the wrapper above, that is into the venv
    # running these tests, installing this temporary copy over it (it did once constraints.txt joined).
    pinned = (repo / "pyproject.toml").read_bytes() + (repo / "constraints.txt").read_bytes()
    digest = hashlib.sha256(pinned).hexdigest()[:16]
    (repo / ".venv" / f".hegui-installed-{digest}-all").touch()
    # The stamp bootstrap will look for, computed as bootstrap computes it: a test that fails here instead
    # of quietly reinstalling the shared venv when that formula changes.
    wanted = subprocess.run(
        ["bash", "-c", "cat pyproject.toml constraints.txt | sha256sum | cut -c1-16"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    assert wanted == digest and "constraints.txt" in (repo / "scripts" / "bootstrap").read_text(
        encoding="utf-8"
    )
    return repo


def user_env(port: int) -> dict[str, str]:
    """A new user's environment: no HEGUI_* settings of ours, only the port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEGUI_") and k != "PYTHONPATH"}
    return env | {"HEGUI_PORT": str(port)}


@contextmanager
def serve(repo: Path, command: str, port: int, log: Path) -> Iterator[None]:
    with running(
        ["bash", "-c", command],
        f"http://127.0.0.1:{port}/readyz",
        env=None,
        log=log,
        cwd=repo,
        replace_env=user_env(port),
    ):
        yield


def api_key(repo: Path, log: Path, port: int) -> str:
    """The key printed at first start, or (when an earlier test of this module started first) a new
    one from `hegui keys create`."""
    printed = re.search(r"\n  (hg-\S+)\n", log.read_text(encoding="utf-8"))
    if printed:
        return printed.group(1)
    created = subprocess.run(
        [str(repo / ".venv" / "bin" / "hegui"), "keys", "create", "--name", "readme"],
        cwd=repo,
        env=user_env(port),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return created.stdout.strip().splitlines()[-1]


def test_quick_start_serves_labels_and_verifies(
    fresh: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    command = blocks("sh")[0].strip()  # the quick start's first command
    assert command == "./scripts/serve"
    port, log = free_port(), tmp_path / "serve.log"
    first_start = not (fresh / "hegui-data").exists()
    with serve(fresh, command, port, log):
        printed = log.read_text(encoding="utf-8")
        assert (
            "hegui: warning: labels.producer is not set: labels carry hegui's demo provider code" in printed
        )
        assert ("hegui: created the first client API key" in printed) == first_start, printed
        key = api_key(fresh, log, port)
        snippet = block_with("python", "OpenAI(").replace(
            "http://127.0.0.1:8000/v1", f"http://127.0.0.1:{port}/v1"
        )
        snippet = snippet.replace("hg-…", key)
        namespace: dict[str, object] = {}
        exec(compile(snippet, "README.md", "exec"), namespace)  # the README's own client code runs as is
        client = namespace["client"]
        assert isinstance(client, OpenAI)
        request.addfinalizer(client.close)
        answer = client.chat.completions.create(
            model="hegui-demo", messages=[{"role": "user", "content": "你好"}]
        )
        assert answer.choices[0].message.content and answer.choices[0].message.content.endswith("【AI生成】")
        image = client.images.generate(
            model="hegui-demo", prompt="一座山", size="320x200", response_format="b64_json"
        )
        assert image.data and image.data[0].b64_json
        png = tmp_path / "gateway.png"
        png.write_bytes(base64.b64decode(image.data[0].b64_json))
    verified = subprocess.run(
        [str(fresh / ".venv" / "bin" / "hegui"), "label", "verify", str(png)],
        cwd=fresh,
        env=user_env(port),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{png} (png): PASS with warnings: LBL-07\n" in verified.stdout
    assert "LBL-07  warn  ContentProducer 00HEGUIDEMO000000000000DEMO is hegui's demo code" in verified.stdout


def test_a_real_model_behind_it_without_a_key(fresh: Path, tmp_path: Path) -> None:
    stub_port, port = free_port(), free_port()
    toml = block_with("toml", "[[upstreams]]").replace(
        "http://127.0.0.1:8001/v1", f"http://127.0.0.1:{stub_port}/v1"
    )
    assert "\napi_key_env" not in toml, "the README's example must work without a key"
    config = subprocess.run(
        ["bash", "-c", ".venv/bin/hegui config default > hegui.toml"],
        cwd=fresh,
        env=user_env(port),
        timeout=60,
        check=True,
    )
    assert config.returncode == 0
    with (fresh / "hegui.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n" + toml)
    validate, start = [line for line in block_with("sh", "config validate").splitlines() if line.strip()]
    checked = subprocess.run(
        ["bash", "-c", validate], cwd=fresh, env=user_env(port), capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    assert (
        "upstream 'local-vllm': " in checked.stdout and "no API key (api_key_env not set)" in checked.stdout
    )
    log = tmp_path / "serve.log"
    with fake_upstream(stub_port), serve(fresh, start, port, log):
        with OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=api_key(fresh, log, port)) as client:
            models = {m.id for m in client.models.list()}
            assert {"hegui-demo", "qwen2.5-7b-instruct"} <= models
            answer = client.chat.completions.create(
                model="qwen2.5-7b-instruct", messages=[{"role": "user", "content": "你好"}]
            )
        assert answer.choices[0].message.content == "fake upstream heard: 你好\n\n【AI生成】"


def test_the_port_change(fresh: Path, tmp_path: Path) -> None:
    command = block_with("sh", "--port 8080").strip()
    port = free_port()
    line = command.replace("8080", str(port))
    env = user_env(port)
    env.pop("HEGUI_PORT")  # the README's command alone must choose the port
    with running(
        ["bash", "-c", line],
        f"http://127.0.0.1:{port}/readyz",
        log=tmp_path / "serve.log",
        cwd=fresh,
        replace_env=env,
    ):
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
    assert f"serving on http://127.0.0.1:{port}/v1" in (tmp_path / "serve.log").read_text(encoding="utf-8")
