"""Admin routes of the running policy (admin key only): which policy this process serves, and a hot
reload of the policy file (`hegui.gateway.policy_reload`).

``POST /hegui/api/policy/reload`` answers once this process serves the new file (or refused it, with
the running policy still in service); the other replicas are told through Redis and reload their own
copy of the file without answering anyone: ``GET /hegui/api/policy`` on each, its ``/readyz`` or the
``hegui_policy_info`` metric say which version each one serves.
"""

from __future__ import annotations

import logging
import os
import signal
from datetime import UTC, datetime

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from hegui.gateway.http import authenticate, json_response, state_of
from hegui.gateway.policy_reload import RESTART_SECTIONS, SWAPPED_FIELDS, SWAPPED_SECTIONS, Trigger

log = logging.getLogger(__name__)

#: Set by `hegui serve --workers N` to the supervisor's pid (`hegui.cli.workers`).
SUPERVISOR_PID = "HEGUI_SUPERVISOR_PID"


async def get_policy(request: Request) -> Response:
    authenticate(request, admin=True)
    state = state_of(request)
    reloader = state.reloader
    loaded = reloader.loaded_at if reloader is not None else None
    return json_response(
        {
            "object": "policy",
            "version": state.policy.full_version,
            "file": state.policy.source,
            "loaded_at": datetime.fromtimestamp(loaded, UTC).isoformat() if loaded else None,
            "checks": [c.name for c in state.pipeline.checks],
            "swapped_on_reload": sorted(SWAPPED_SECTIONS)
            + sorted(f"{s}.{f}" for s, fields in SWAPPED_FIELDS.items() for f in fields),
            "restart_needed_for": sorted(RESTART_SECTIONS) + sorted(f"{s}.*" for s in SWAPPED_FIELDS),
        }
    )


async def reload_policy(request: Request) -> Response:
    """Reload the policy file in this process; tell the other replicas (Redis) or, under `hegui serve
    --workers N` without Redis, the other workers (SIGHUP through the supervisor)."""
    principal = authenticate(request, admin=True)
    state = state_of(request)
    assert state.reloader is not None  # set by GatewayState.build
    outcome = await state.reloader.reload(Trigger("admin-api", f"key:{principal.key_prefix}"))
    if outcome.changed and not state.settings.redis_url:
        tell_sibling_workers()
    return json_response(outcome.to_json())


def tell_sibling_workers() -> None:
    """Under `hegui serve --workers N` without Redis, this worker's siblings hear no event: ask the
    supervisor to forward SIGHUP to every worker (this one finds its file unchanged)."""
    supervisor = os.environ.get(SUPERVISOR_PID, "")
    if supervisor.isdigit() and int(supervisor) == os.getppid():
        log.info("policy reloaded: asking the supervisor (pid %s) to reload every worker", supervisor)
        os.kill(int(supervisor), signal.SIGHUP)


def register(app: FastAPI) -> None:
    app.add_api_route("/hegui/api/policy", get_policy, methods=["GET"], tags=["policy"])
    app.add_api_route("/hegui/api/policy/reload", reload_policy, methods=["POST"], tags=["policy"])
