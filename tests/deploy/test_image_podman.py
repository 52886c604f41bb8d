"""Build the gateway image from deploy/Dockerfile with podman and smoke-test it: it starts as uid 10001,
answers /readyz, a key made with `hegui keys create` inside the container is answered through the
official `openai` client, and `podman stop` (SIGTERM) ends it cleanly after flushing the audit writer.

Runs only where podman can run a container (root, podman, runc and debootstrap installed: scripts/
debian-packages.txt installs them; skipped elsewhere, saying why). How it runs on the CI machine, and why:

- runc with the cgroupfs manager: the machine's cgroups are hybrid (v1 controllers and an empty v2 mount),
  which crun refuses;
- lowered ulimits: the VM withholds CAP_SYS_RESOURCE, so the container may keep or lower limits, never
  raise them;
- host networking, the container listening on a free loopback port;
- the base image is Debian bookworm made with debootstrap (its python3 is 3.11, as in
  python:3.11-slim-bookworm), passed as the Dockerfile's PYTHON_IMAGE: no container registry is reachable
  here, Debian's package archive is. It is built once and kept (localhost/hegui-base:bookworm);
- the host's CA bundle and pip configuration are mounted into the build, so that pip reaches the package
  index through the same (TLS-inspecting) egress as the host.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from servers import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BASE = "localhost/hegui-base:bookworm"
IMAGE = "localhost/hegui:gateway-smoke"
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]


def _podman() -> list[str]:
    runc = shutil.which("runc")
    assert runc is not None
    return ["podman", "--runtime", runc, "--cgroup-manager=cgroupfs"]


def _run(args: list[str], timeout: float, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload,no-any-return]


@pytest.fixture(scope="module")
def podman() -> list[str]:
    missing = [tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        pytest.skip(f"no container engine here (missing: {', '.join(missing) or 'root'})")
    cmd = _podman()
    if _run([*cmd, "image", "exists", BASE], 60).returncode != 0:
        _build_base(cmd)
    probe = _run(
        [*cmd, "run", "--rm", *LIMITS, "--network", "host", BASE, "python", "-c", "print('ok')"], 120
    )
    if probe.returncode != 0 or probe.stdout.strip() != "ok":
        pytest.skip(f"podman cannot run a container here: {probe.stderr.strip()[-300:]}")
    return cmd


def _build_base(cmd: list[str]) -> None:
    rootfs = Path(f"/var/tmp/hegui-base-{os.getpid()}")
    try:
        made = _run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,python-is-python3,ca-certificates",
                "bookworm",
                str(rootfs),
                "http://deb.debian.org/debian",
            ],
            900,
        )
        if made.returncode != 0:
            pytest.skip(f"debootstrap could not make the base image: {made.stderr.strip()[-300:]}")
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        tarball = rootfs.with_suffix(".tar")
        packed = _run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], 600)
        assert packed.returncode == 0, packed.stderr
        imported = _run([*cmd, "import", str(tarball), BASE], 600)
        assert imported.returncode == 0, imported.stderr
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.with_suffix(".tar").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def gateway_image(podman: list[str]) -> Iterator[str]:
    mounts = []
    for host_file in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pip.conf"):
        if Path(host_file).is_file():
            mounts += ["-v", f"{host_file}:{host_file}:ro"]
    built = _run(
        [
            *podman,
            "build",
            "--format",
            "docker",  # keeps the HEALTHCHECK (the OCI format has none)
            "--network",
            "host",
            *LIMITS,
            *mounts,
            "--build-arg",
            f"PYTHON_IMAGE={BASE}",
            "-f",
            str(ROOT / "deploy" / "Dockerfile"),
            "-t",
            IMAGE,
            str(ROOT),
        ],
        1800,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    yield IMAGE
    _run([*podman, "rmi", "-f", IMAGE], 120)


def test_the_gateway_image_serves_and_stops_cleanly(podman: list[str], gateway_image: str) -> None:
    port = free_port()
    name = f"hegui-smoke-{os.getpid()}"
    started = _run(
        [
            *podman,
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            *LIMITS,
            "-e",
            "HEGUI_HOST=127.0.0.1",  # host networking: loopback only, on a free port
            "-e",
            f"HEGUI_PORT={port}",
            gateway_image,
        ],
        120,
    )
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, _run([*podman, "logs", name], 60).stdout[-2000:]
            time.sleep(0.5)
        assert _run([*podman, "exec", name, "id", "-u"], 60).stdout.strip() == "10001"
        health = _run([*podman, "healthcheck", "run", name], 60)
        assert health.returncode == 0, health.stdout + health.stderr
        made = _run([*podman, "exec", name, "hegui", "keys", "create", "--name", "smoke"], 120)
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip().splitlines()[-1]
        answer = OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0
        ).chat.completions.create(model="hegui-demo", messages=[{"role": "user", "content": "你好"}])
        assert answer.id.startswith("chatcmpl-") and answer.choices[0].message.content
        stopped = _run([*podman, "stop", "-t", "30", name], 90)
        assert stopped.returncode == 0, stopped.stderr
        state = json.loads(_run([*podman, "inspect", name], 60).stdout)[0]["State"]
        assert state["ExitCode"] == 0
        logs = _run([*podman, "logs", name], 60)
        lines = [json.loads(x) for x in (logs.stdout + logs.stderr).splitlines() if x.startswith("{")]
        messages = [x["message"] for x in lines]
        assert "shut down: 2 audit entries written by this process" in messages, messages[-5:]
    finally:
        _run([*podman, "rm", "-f", name], 120)
