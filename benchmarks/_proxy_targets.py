"""The paths ``proxy_overhead.py`` measures: the stub, ``hegui serve`` (one process, workers or
replicas, under a chosen policy) and the LiteLLM proxy, each started on loopback and described for the
report. Split from the script so that it keeps the measuring."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from _loopback import BenchError, Service, cpu_seconds, free_port, http_status, start, wait_ready

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work" / "proxy_overhead"
LITELLM_VENV = HERE / ".venv-litellm"
MODEL = "bench-model"
PROMPT = (
    "Please summarise the following note in one sentence. The quarterly report covers sales in three "
    "regions, staffing changes and the new support hours. 请用一句话概括以下内容：季度报告涵盖三个地区的"
    "销售情况、人员变动以及新的客服时间。"
)
#: The user message with the bundled policy (``default``, ``guard``): its prompt model refuses `PROMPT`
#: (a hash bucket's weight, docs/guard-models.md "Shared hash buckets"), and a refused request never
#: reaches the upstream, so it would measure something else.
GUARD_PROMPT = (
    "Please turn these meeting notes into three bullet points. 请把下面的会议纪要整理成三条要点：本周完成了"
    "新版本的测试，下周一开始灰度发布，客服团队需要提前准备常见问题的答复。"
)


# ---------------------------------------------------------------- the targets


@dataclass
class Target:
    """One path to the stub: direct, or through one proxy deployment (one process, a process with
    workers, or several replicas, each with its own port: ``bases[i]`` is served by ``services[i]``)."""

    name: str
    bases: list[str]  # http://127.0.0.1:PORT (no /v1), one per replica
    headers: dict[str, str]
    services: list[Service]  # the proxy processes ([]: direct to the stub)
    note: str = ""
    ready_path: str = "/health"  # GET answers 200 while the path can serve
    user: str = ""  # the end user every request names (``user``), "" for none
    prompt: str = PROMPT  # the user message of every request

    @property
    def base(self) -> str:
        return self.bases[0]

    @property
    def service(self) -> Service | None:
        return self.services[0] if self.services else None

    def problem(self) -> str | None:
        """None while the path is up, else what is wrong (a step may have broken it)."""
        for service in self.services:
            if service.proc.poll() is not None:
                return f"{service.name} exited with {service.proc.returncode}{self._last_error(service)}"
        for base, service in zip(self.bases, self.services or [None] * len(self.bases), strict=True):
            try:
                status = http_status(base + self.ready_path, timeout=5)
            except OSError as exc:
                where = f"{self.name} {base}{self.ready_path}"
                return f"{where}: {exc.__class__.__name__}: {exc}{self._last_error(service)}"
            if status != 200:
                return f"{self.name} {base}{self.ready_path} answered {status}{self._last_error(service)}"
        return None

    @staticmethod
    def _last_error(service: Service | None) -> str:
        """The last error line in the proxy's log, so that the report says why it stopped."""
        if service is None:
            return ""
        found = [line for line in service.tail(400).splitlines() if "Error" in line or "ERROR" in line]
        return f"; its log: `{found[-1].strip()[:200]}`" if found else ""

    def cpu(self, stub: Service) -> float:
        """CPU seconds so far of the path's server processes (their workers included); direct: the stub."""
        return sum(cpu_seconds(s.proc.pid) for s in self.services or [stub])


def start_stub(stop_after: float) -> tuple[Service, int]:
    service = start(
        "upstream_stub",
        [sys.executable, str(HERE / "upstream_stub.py"), "--port", "0", "--stop-after", str(stop_after)],
        WORK,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for line in service.log.read_text(errors="replace").splitlines():
            if line.startswith("READY "):
                return service, int(line.split()[1])
        if service.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise BenchError(f"upstream stub did not start:\n{service.tail()}")


DENYLIST_POLICY = """version = "bench"

[[checks]]
name = "bench-denylist"
type = "denylist"
stages = ["input", "output"]
terms = ["hegui-forbidden-demo", "演示违禁词"]
"""
DATA = Path(os.environ.get("HEGUI_SHARED_DATA", REPO.parent / "shared" / "data"))
LEXICON = DATA / "sensitive-word" / "src" / "main" / "resources"


def stub_upstream(stub_port: int) -> str:
    return f"""
[[upstreams]]
name = "stub"
type = "openai"
base_url = "http://127.0.0.1:{stub_port}/v1"
models = ["{MODEL}"]
"""


def without_upstreams(text: str) -> str:
    """A policy's text without its ``[[upstreams]]`` tables (each runs to the next table header)."""
    return re.sub(r"^\[\[upstreams\]\][^\n]*\n(?:(?!\[)[^\n]*\n?)*", "", text, flags=re.M)


@dataclass
class BenchPolicy:
    """The guard the hegui paths run: its policy text (upstreams are replaced by the stub) and its name."""

    name: str
    text: str
    note: str


def bench_policy(spec: str) -> BenchPolicy:
    """``denylist`` (a two-term deny-list on both stages: the gateway's own cost), ``default`` (the
    bundled policy: prompt and answer models, the comment classifier, PII), ``guard`` (the bundled policy
    plus the 64k lexicon of ../shared/data/sensitive-word, the guard issue 16 names), or a policy file."""
    if spec == "denylist":
        return BenchPolicy(spec, DENYLIST_POLICY, "deny-list on input and output")
    if spec in ("default", "guard"):
        text = without_upstreams((REPO / "src" / "hegui" / "default_policy.toml").read_text(encoding="utf-8"))
        if spec == "default":
            return BenchPolicy(spec, text, "the bundled policy (models, comment classifier, PII, deny-list)")
        names = ("sensitive_word_dict.txt", "sensitive_word_tags.txt", "sensitive_word_allow.txt")
        files = {n: LEXICON / n for n in names}
        if missing := [str(p) for p in files.values() if not p.exists()]:
            raise BenchError(f"--policy guard needs the 64k lexicon: missing {', '.join(missing)}")
        text += (
            '\n[[checks]]\nname = "lexicon-64k"\ntype = "lexicon"\nstages = ["input", "output"]\n'
            f'path = "{files["sensitive_word_dict.txt"]}"\nformat = "plain"\n'
            f'tags_file = "{files["sensitive_word_tags.txt"]}"\nallow_file = "{files["sensitive_word_allow.txt"]}"\n'
        )
        return BenchPolicy(spec, text, "the bundled policy plus the 64k lexicon")
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
        tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BenchError(f"--policy {spec}: {exc}") from None
    return BenchPolicy(path.name, without_upstreams(text), f"the policy `{path}`")


@dataclass
class Deployment:
    """How a hegui path runs: one process on SQLite (``workers`` 1, no ``database_url``), one port with
    ``workers`` processes on PostgreSQL, or ``replicas`` processes with their own ports sharing PostgreSQL
    and Redis, as two gateways behind a load balancer would."""

    workers: int = 1
    replicas: int = 1
    database_url: str = ""
    redis_url: str = ""

    def describe(self) -> str:
        if self.replicas > 1:
            return f"{self.replicas} replicas (one process each) on one PostgreSQL and one Redis"
        if self.workers > 1:
            return f"`--workers {self.workers}` on one port, PostgreSQL"
        return "one process, SQLite in a fresh data dir"


def start_hegui(
    hegui: Path,
    stub_port: int,
    timeout: float,
    policy: BenchPolicy,
    *,
    name: str = "hegui",
    src: Path | None = None,
    deploy: Deployment | None = None,
) -> Target:
    """``hegui serve`` as installed, or from the source tree ``src`` (``PYTHONPATH``: an earlier tree,
    measured beside the current one in the same run), deployed as ``deploy`` says."""
    deploy = deploy or Deployment()
    if not hegui.exists():
        raise BenchError(f"{hegui} not found: run scripts/bootstrap first")
    data = WORK / f"{name}-data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    policy_file = WORK / f"{name}-bench.toml"
    policy_file.write_text(policy.text.rstrip() + "\n" + stub_upstream(stub_port), encoding="utf-8")
    env = {**os.environ, "HEGUI_DATA_DIR": str(data), "HEGUI_POLICY_FILE": str(policy_file)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    if deploy.database_url:
        env["HEGUI_DATABASE_URL"] = deploy.database_url
    if deploy.redis_url:
        env["HEGUI_REDIS_URL"] = deploy.redis_url
    made = subprocess.run(
        [str(hegui), "keys", "create", "--name", name, "--role", "client"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=WORK,
    )
    lines = made.stdout.strip().splitlines()
    if made.returncode != 0 or not lines:
        raise BenchError(f"hegui keys create failed ({made.returncode}): {made.stderr.strip()[-800:]}")
    key = lines[-1].strip()
    services: list[Service] = []
    bases: list[str] = []
    took = 0.0
    try:
        for i in range(deploy.replicas):
            port = free_port()
            argv = [str(hegui), "serve", "--host", "127.0.0.1", "--port", str(port)]
            if deploy.workers > 1:
                argv += ["--workers", str(deploy.workers)]
            label = name if deploy.replicas == 1 else f"{name}-{i + 1}"
            services.append(start(label, argv, WORK, env=env))
            bases.append(f"http://127.0.0.1:{port}")
            took = max(took, wait_ready(services[-1], bases[-1] + "/readyz", timeout))
    except BenchError:
        for service in services:
            service.stop()
        raise
    tree = f" from the source tree `{src}`" if src is not None else ""
    return Target(
        name,
        bases,
        {"Authorization": f"Bearer {key}"},
        services,
        ready_path="/readyz",
        note=f"`hegui serve`{tree} ({deploy.describe()}; no access log), {policy.note}; ready in {took:.1f} s",
    )


def ensure_litellm(spec: str, timeout: float) -> tuple[Path, str]:
    """The LiteLLM proxy in its own venv (created on first use); returns its executable and a note."""
    exe = LITELLM_VENV / "bin" / "litellm"
    python = LITELLM_VENV / "bin" / "python"
    note = ""
    if not exe.exists():
        started = time.monotonic()
        print(f"creating {LITELLM_VENV} and installing {spec!r} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True, timeout=timeout)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", spec],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
        )
        note = f"installed in {time.monotonic() - started:.0f} s; "
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    return exe, f"{note}LiteLLM {version}"


def start_litellm(stub_port: int, spec: str, timeout: float) -> Target:
    exe, note = ensure_litellm(spec, timeout=900)
    master = "sk-bench-litellm-master"
    config = WORK / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: http://127.0.0.1:{stub_port}/v1\n"
        "      api_key: sk-stub-not-a-secret\n"
        "general_settings:\n"
        f"  master_key: {master}\n",
        encoding="utf-8",
    )
    port = free_port()
    # Loopback only: use the cost map bundled with the package instead of fetching it from the internet.
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    argv = [
        str(exe),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    service = start("litellm", argv, WORK, env=env)
    took = wait_ready(service, f"http://127.0.0.1:{port}/health/readiness", timeout)
    return Target(
        "litellm",
        [f"http://127.0.0.1:{port}"],
        {"Authorization": f"Bearer {master}"},
        [service],
        ready_path="/health/readiness",
        note=f"{note}, `litellm --config` (defaults: uvicorn, 1 worker, access log on), master key, "
        f"no database; ready in {took:.1f} s",
    )
