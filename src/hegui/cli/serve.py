"""`hegui serve`: start the gateway with uvicorn, in one process or in N worker processes."""

from __future__ import annotations

import logging
import logging.config
import os
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.common import settings as load
from hegui.cli.workers import announce_first_key, serve_workers, uvicorn_options
from hegui.gateway.preflight import Preflight, preflight
from hegui.logs import logging_config
from hegui.policy import load_policy
from hegui.records import writer_lock
from hegui.settings import Settings


@handled
def serve(
    host: str | None = typer.Option(None, help="Address to bind (HEGUI_HOST; default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (HEGUI_PORT; default 8000)."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file (HEGUI_POLICY_FILE)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory (HEGUI_DATA_DIR)."),
    access_log: bool = typer.Option(False, "--access-log/--no-access-log", help="Log every request line."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        max=64,
        help="Processes serving the port (HEGUI_WORKERS; default 1). Above 1 needs PostgreSQL.",
    ),
) -> None:
    """Start the gateway: OpenAI-compatible API on /v1, health on /healthz and /readyz, /metrics.
    One gateway per SQLite file: a second one on the same data directory refuses to start (exit 2).
    SIGTERM stops it gracefully: no new connections, open streams run to their end (at most
    HEGUI_SHUTDOWN_GRACE_SECONDS), the audit writer is flushed and a last checkpoint written.
    SIGHUP reloads the policy file in place (every worker with --workers N): `hegui config reload`."""
    s = load(policy, host=host, port=port, data_dir=data_dir, workers=workers)
    # Before the lock and the database: the checks `config validate` runs (the pipeline is built by the
    # gateway itself, also before the database), so that validate and serve agree.
    checked = preflight(load_policy(s.policy_file), build_checks=False)
    if s.workers > 1:
        serve_workers(s, checked, access_log)
        return
    lock = writer_lock.acquire(s.resolved_database_url(), f"pid {os.getpid()}, http://{s.host}:{s.port}")
    try:
        _serve(s, checked, access_log)
    finally:
        if lock is not None:
            lock.release()


def _serve(s: Settings, checked: Preflight, access_log: bool) -> None:
    import uvicorn

    from hegui.gateway import create_app
    from hegui.gateway.heap import freeze_built

    logging.config.dictConfig(logging_config(s.log_level, s.log_format))
    app = create_app(s, policy=checked.policy)
    state = app.state.hegui
    announce_first_key(s, state.keys)
    models = ", ".join(m for m, _ in state.router.models())
    typer.echo(
        f"hegui: policy {state.pipeline.policy_version} ({state.policy.source}); "
        f"database {state.engine.url.render_as_string()}; models: {models}"
    )
    for warning in checked.warnings:
        typer.echo(f"hegui: warning: {warning}", err=True)
    typer.echo(f"hegui: serving on http://{s.host}:{s.port}/v1")
    freeze_built()  # the built gateway out of full garbage collections (hegui.gateway.heap)
    uvicorn.run(app, **uvicorn_options(s, access_log))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
