"""deploy/Dockerfile, read and run without a container engine (test_image_podman.py builds the image where
podman can run). What the images are made of is checked from the file; then the gateway image's own
start-up command (its ENTRYPOINT and CMD, with its ENV) runs on a fresh install: a wheel built from exactly
what the Dockerfile copies, installed into an empty directory, on an empty data directory. A client key is
made the way docs/deploy.md says, the official `openai` client is answered, the image's HEALTHCHECK command
passes, the log lines are JSON, and SIGTERM stops it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dockerfile import image, stages

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from servers import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
MEDIA_PACKAGES = ("fonts-noto-cjk", "libimage-exiftool-perl", "ffmpeg")


def test_the_default_target_is_the_slim_gateway_and_media_tools_are_only_in_media() -> None:
    names = [s.name for s in stages(DOCKERFILE)]
    assert names[-1] == "gateway"  # `docker build` without --target builds the last stage
    gateway, media = image(DOCKERFILE, "gateway"), image(DOCKERFILE, "media")
    gateway_text = " ".join(a for _, a in gateway.instructions)
    media_text = " ".join(a for _, a in media.instructions)
    for package in MEDIA_PACKAGES:
        assert package in media_text and package not in gateway_text, package
    for built in (gateway, media):
        assert built.user == "10001:10001"  # non-root, numeric: Kubernetes' runAsNonRoot can check it
        assert (built.entrypoint, built.cmd) == (["hegui"], ["serve"])
        assert built.env["HEGUI_FIRST_KEY"] == "false" and built.env["HEGUI_LOG_FORMAT"] == "json"
    # The build stages, not the runtime, hold pip's work: the runtime stages only copy the venv.
    assert not [a for i, a in gateway.instructions[-3:] if i == "RUN" and "pip" in a]


def test_the_build_context_is_what_the_dockerfile_copies() -> None:
    copied: set[str] = set()
    for stage in stages(DOCKERFILE):
        for instruction, args in stage.instructions:
            if instruction == "COPY" and not args.startswith("--from"):
                copied.update(source.rstrip("/") for source in args.split()[:-1])  # the last is the target
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert copied <= allowed, copied - allowed
    assert all((ROOT / name).exists() for name in copied)


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hegui installed from a wheel built from the image's build context (no dependencies: the test
    environment has them), into an empty directory."""
    root = tmp_path_factory.mktemp("image")
    context = root / "context"
    context.mkdir()
    for name in ("pyproject.toml", "README.md", "NOTICE.md"):
        shutil.copy(ROOT / name, context / name)
    shutil.copytree(ROOT / "src", context / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(context)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0:
        pytest.skip(
            f"cannot build the wheel here (pip needs setuptools from the package index): {built.stderr[-300:]}"
        )
    wheel = next((root / "dist").glob("hegui-*.whl"))
    site = root / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300)
    return site


def test_the_image_start_up_command_serves_a_fresh_install(fresh_install: Path, tmp_path: Path) -> None:
    built = image(DOCKERFILE, "gateway")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEGUI_")},
        **built.env,
        # What differs from the container, and why: the test binds loopback only (the image binds
        # 0.0.0.0 inside its own network namespace), on a free port, with a fresh data directory.
        "HEGUI_HOST": "127.0.0.1",
        "HEGUI_PORT": str(port),
        "HEGUI_DATA_DIR": str(tmp_path / "data"),
        "PATH": f"{fresh_install / 'bin'}:{os.environ['PATH']}",
        "PYTHONPATH": str(fresh_install),  # the wheel's hegui, before any other on the path
    }
    where = subprocess.run(
        [sys.executable, "-c", "import hegui; print(hegui.__file__)"], env=env, capture_output=True, text=True
    )
    assert Path(where.stdout.strip()).is_relative_to(fresh_install), where.stdout
    created = subprocess.run(
        ["hegui", "keys", "create", "--name", "first"], env=env, capture_output=True, text=True, timeout=120
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    log = tmp_path / "hegui.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*built.entrypoint, *built.cmd], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", proc, timeout=120)
            answer = OpenAI(
                base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0
            ).chat.completions.create(model="hegui-demo", messages=[{"role": "user", "content": "你好"}])
            assert answer.choices[0].message.content
            health = subprocess.run(built.healthcheck, env=env, capture_output=True, text=True, timeout=30)
            assert health.returncode == 0, health.stderr
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode in (0, -signal.SIGTERM)
    lines = log.read_text(encoding="utf-8").splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert logged and {"time", "level", "logger", "message", "request_id"} <= set(logged[0])
    assert any(m["message"].startswith("shut down:") for m in logged)
