"""deploy/compose.yaml and deploy/k8s/hegui.yaml, parsed and checked against what hegui reads: every
HEGUI_* variable they set is a setting, the probes ask /healthz and /readyz on the port the gateway
binds, the keys come from the Secret, and the kill deadline leaves the graceful shutdown its time. When
Debian's docker-compose is installed (scripts/debian-packages.txt), it validates the compose file too."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hegui.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
K8S = ROOT / "deploy" / "k8s" / "hegui.yaml"
#: Set by the manifests ahead of the setting: shared state between replicas (issue 16, part 1).
PENDING = {"HEGUI_REDIS_URL"}
SETTINGS = {f"HEGUI_{name.upper()}" for name in Settings.model_fields} | PENDING
KEYS = ("HEGUI_MASTER_KEY", "HEGUI_AUDIT_KEY", "HEGUI_AUDIT_CONTENT_KEY")


def _seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+)s", value)
    assert m, value
    return float(m.group(1))


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def k8s() -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all(K8S.read_text(encoding="utf-8")) if d}


def test_compose_runs_two_gateways_on_postgres_and_redis() -> None:
    services = compose()["services"]
    gateways = {n: s for n, s in services.items() if s.get("image") == "hegui:gateway"}
    assert sorted(gateways) == ["hegui-a", "hegui-b"]
    assert {"postgres", "redis", "lb"} <= set(services)
    for service in gateways.values():
        env = service["environment"]
        assert set(env) <= SETTINGS, set(env) - SETTINGS
        assert env["HEGUI_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["HEGUI_REDIS_URL"].startswith("redis://redis:")
        assert all(env[k].startswith("${") for k in KEYS)  # given by the operator, never in the file
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert _seconds(service["stop_grace_period"]) > float(env["HEGUI_SHUTDOWN_GRACE_SECONDS"])
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile", "target": "gateway"}
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert all(f"server {name}:8000" in nginx for name in gateways)
    assert "proxy_buffering off" in nginx  # streams are passed on chunk by chunk


def test_compose_config_validates_when_docker_compose_is_installed(tmp_path: Path) -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (scripts/debian-packages.txt installs it)")
    work = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", work)
    (work / "secrets").mkdir()
    (work / "secrets" / "audit-signing.pem").write_text("not a key: the file only has to exist\n")
    env = {**os.environ, "POSTGRES_PASSWORD": "p"} | dict.fromkeys(KEYS, "0" * 64)
    ok = subprocess.run(
        [tool, "-f", str(work / "compose.yaml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    unset = subprocess.run(
        [tool, "-f", str(work / "compose.yaml"), "config", "-q"],
        env={k: v for k, v in env.items() if k != "HEGUI_AUDIT_KEY"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unset.returncode != 0 and "openssl rand -hex 32" in unset.stderr  # a missing key stops it


def test_kubernetes_deployment_probes_secret_and_shutdown() -> None:
    docs = k8s()
    assert set(docs) == {"Secret", "PersistentVolumeClaim", "Deployment", "Service", "PodDisruptionBudget"}
    deployment = docs["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert set(env) <= SETTINGS, set(env) - SETTINGS
    secret = docs["Secret"]
    for name in (*KEYS, "HEGUI_DATABASE_URL", "HEGUI_REDIS_URL"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"], name
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == int(env["HEGUI_PORT"]["value"])
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
    pause = float(container["lifecycle"]["preStop"]["exec"]["command"][1])
    grace = float(env["HEGUI_SHUTDOWN_GRACE_SECONDS"]["value"])
    assert pod["terminationGracePeriodSeconds"] > pause + grace
    service = docs["Service"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["HEGUI_AUDIT_SIGNING_KEY"]["value"].startswith(mounts["keys"])
    assert env["HEGUI_AUDIT_CHECKPOINT_DIR"]["value"] == mounts["checkpoints"]
