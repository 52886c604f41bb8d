"""`hegui serve --workers N`: N processes on one port, so that one machine's cores all serve.

uvicorn's supervisor (`hegui.supervisor`, exec'd by this command once it has prepared) binds the port
once and starts N processes that accept on it; each builds its own gateway from the environment
(``create_app`` as a factory), so each has its own guard, upstream pool and audit writer thread. Several processes must then share the records: with PostgreSQL they do (the audit
chain's writers serialize on the head row's lock, sanctions and memories are rows every process reads).
SQLite takes one writing process per file (`hegui.records.writer_lock`), so N > 1 on SQLite is refused
with the setting to change, rather than served by processes that contend for the file's write lock on
every group commit. docs/deploy.md says what N processes cost.

The parent process does, once, what N workers must not all do at once: check the policy, create the
secrets the data directory holds when none are configured, migrate the schema (N migrations racing on one
database would collide) and create the first API key.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.engine import make_url

from hegui.cli.common import engine as open_engine
from hegui.errors import ConfigError
from hegui.gateway.preflight import Preflight
from hegui.logs import logging_config
from hegui.records.keys import KeyStore
from hegui.records.secrets import audit_content_key
from hegui.records.vault import master_key
from hegui.settings import Settings

#: How long a worker may take to build its gateway (guard models, lexicons) before uvicorn gives up on it.
#: uvicorn uses the same value as the timeout of its liveness ping to every worker (a short one kills busy
#: workers); a worker that dies while a ping to it is outstanding is still replaced at once
#: (`hegui.supervisor.WatchedProcess`).
WORKER_START_SECONDS = 120


def uvicorn_options(s: Settings, access_log: bool) -> dict[str, Any]:
    """What one process and N workers share: the log format (uvicorn applies it in every worker) and
    the graceful-shutdown deadline."""
    return {
        "host": s.host,
        "port": s.port,
        "log_config": logging_config(s.log_level, s.log_format),
        "log_level": s.log_level,
        "access_log": access_log,
        "loop": "auto",
        "http": "auto",
        "lifespan": "on",
        "timeout_graceful_shutdown": s.shutdown_grace_seconds,
    }


def announce_first_key(s: Settings, keys: KeyStore) -> None:
    """On a first start with no API keys, create a client key and print it, once."""
    if not s.first_key or keys.count() != 0:
        return
    key, info = keys.create(name="first-key", role="client")
    typer.echo(
        f"hegui: created the first client API key ({info.prefix}…); it is shown only now:\n  {key}\n"
        "hegui: it is an api-channel key: its users' turns enter the training pool only after they "
        "consent (`hegui data export` says why turns were left out)"
    )


def require_shared_database(s: Settings) -> None:
    """N > 1 processes need a database that several writers share: PostgreSQL."""
    backend = make_url(s.resolved_database_url()).get_backend_name()
    if backend != "postgresql":
        raise ConfigError(
            f"--workers {s.workers} needs PostgreSQL, and the database is {backend}: SQLite takes one "
            "writing process per file. Set HEGUI_DATABASE_URL=postgresql+psycopg://user:pass@host/db "
            "(and install hegui[postgres]), or serve with one worker",
            key="HEGUI_DATABASE_URL",
        )


def worker_environment(s: Settings) -> dict[str, str]:
    """The settings the command line gave, as the HEGUI_* variables the workers read; the first key is
    the parent's business, so no worker creates one."""
    env = {
        "HEGUI_HOST": s.host,
        "HEGUI_PORT": str(s.port),
        "HEGUI_DATA_DIR": str(s.data_dir.resolve()),
        "HEGUI_FIRST_KEY": "false",
    }
    if s.policy_file is not None:
        env["HEGUI_POLICY_FILE"] = str(s.policy_file.resolve())
    return env


def metrics_directory(s: Settings) -> Path:
    """Where the workers keep their metric values for `/metrics` to sum (prometheus_client's multiprocess
    mode): ``PROMETHEUS_MULTIPROC_DIR`` when set, else ``<data_dir>/metrics``; emptied at each start, so
    the sums begin at zero as they do for one process."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(configured) if configured else s.data_dir / "metrics"
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return path


def serve_workers(s: Settings, checked: Preflight, access_log: bool) -> None:
    """Prepare, then become the supervisor (`hegui.supervisor`): this process's pid, a lean process."""
    require_shared_database(s)
    # Secrets generated into the data directory when not configured: made here, once, so that N workers
    # starting together never race to create them and all use the same ones.
    audit_content_key(s.audit_content_key, s.data_dir)
    master_key(s)
    eng = open_engine(s)  # migrates, once, before any worker starts
    try:
        announce_first_key(s, KeyStore(eng))
        database = eng.url.render_as_string()
    finally:
        eng.dispose()
    for warning in checked.warnings:
        typer.echo(f"hegui: warning: {warning}", err=True)
    os.environ.update(worker_environment(s))  # the workers are spawned: they inherit this environment
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_directory(s))
    # exec keeps this pid: a worker that reloaded its policy on the admin API asks the supervisor to
    # forward SIGHUP to its siblings (hegui.gateway.admin_policy), when no Redis tells them.
    os.environ["HEGUI_SUPERVISOR_PID"] = str(os.getpid())
    typer.echo(
        f"hegui: policy {checked.policy.full_version} ({checked.policy.source}); database {database}; "
        f"{s.workers} workers"
    )
    typer.echo(f"hegui: serving on http://{s.host}:{s.port}/v1")
    options = uvicorn_options(s, access_log) | {
        "workers": s.workers,
        "timeout_worker_healthcheck": WORKER_START_SECONDS,
    }
    sys.stdout.flush()  # exec keeps the file descriptors, not Python's buffers
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-P", "-m", "hegui.supervisor", json.dumps(options)])
