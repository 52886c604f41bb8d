"""`hegui serve`: start the gateway with uvicorn."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.common import settings as load
from hegui.gateway.preflight import Preflight, preflight
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
) -> None:
    """Start the gateway: OpenAI-compatible API on /v1, health on /healthz and /readyz, /metrics.
    One gateway per SQLite file: a second one on the same data directory refuses to start (exit 2)."""
    s = load(policy, host=host, port=port, data_dir=data_dir)
    # Before the lock and the database: the checks `config validate` runs (the pipeline is built by the
    # gateway itself, also before the database), so that validate and serve agree.
    checked = preflight(load_policy(s.policy_file), build_checks=False)
    lock = writer_lock.acquire(s.resolved_database_url(), f"pid {os.getpid()}, http://{s.host}:{s.port}")
    try:
        _serve(s, checked, access_log)
    finally:
        if lock is not None:
            lock.release()


def _serve(s: Settings, checked: Preflight, access_log: bool) -> None:
    import uvicorn

    from hegui.gateway import create_app

    logging.basicConfig(level=s.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if s.log_level != "debug":  # httpx logs every forwarded request at INFO: one line per request is noise
        logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(s, policy=checked.policy)
    state = app.state.hegui
    if s.first_key and state.keys.count() == 0:
        key, info = state.keys.create(name="first-key", role="client")
        typer.echo(
            f"hegui: created the first client API key ({info.prefix}…); it is shown only now:\n  {key}\n"
            "hegui: it is an api-channel key: its users' turns enter the training pool only after they "
            "consent (`hegui data export` says why turns were left out)"
        )
    models = ", ".join(m for m, _ in state.router.models())
    typer.echo(
        f"hegui: policy {state.pipeline.policy_version} ({state.policy.source}); "
        f"database {state.engine.url.render_as_string()}; models: {models}"
    )
    for warning in checked.warnings:
        typer.echo(f"hegui: warning: {warning}", err=True)
    typer.echo(f"hegui: serving on http://{s.host}:{s.port}/v1")
    uvicorn.run(
        app,
        host=s.host,
        port=s.port,
        log_level=s.log_level,
        access_log=access_log,
        loop="auto",
        http="auto",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
