"""The app factory: `create_app(settings)` builds a gateway from Settings and the policy file."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hegui import __version__, web
from hegui.errors import HeguiError
from hegui.gateway import (
    admin,
    admin_policy,
    image_edits,
    keys_api,
    media,
    messages_api,
    responses_api,
    routes,
)
from hegui.gateway.heap import freeze_built
from hegui.gateway.hotroutes import HotRoutes
from hegui.gateway.http import json_response, state_of
from hegui.gateway.inflight import InFlight, TrackInFlight
from hegui.gateway.keyprefetch import KeyPrefetch
from hegui.gateway.limits import LimitMetrics, RateLimitGate
from hegui.gateway.media_inspect import start_ocr
from hegui.gateway.metrics import worker_leaves
from hegui.gateway.policy_reload import EarlySighup
from hegui.gateway.readiness import failed_probes
from hegui.gateway.requestlog import RequestLogContext
from hegui.gateway.state import GatewayState
from hegui.persons import admin as persons_admin
from hegui.policy import Policy
from hegui.settings import Settings, load_settings

log = logging.getLogger(__name__)

_ENDPOINTS = {
    "/v1/chat/completions": "chat.completions",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
    "/v1/models": "models",
    "/v1/images/generations": "images.generations",
    "/v1/images/edits": "images.edits",
    "/v1/images/variations": "images.variations",
    "/v1/responses": "responses",
    "/v1/messages": "messages",
    "/hegui/api/label": "label",
}


class RequestMetrics:
    """Counts requests by endpoint and status (a plain ASGI middleware: no per-request task overhead)."""

    def __init__(self, app: ASGIApp, state: GatewayState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = _ENDPOINTS.get(scope["path"], "other")
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.state.metrics.requests.labels(endpoint, str(status)).inc()


def create_app(
    settings: Settings | None = None,
    *,
    policy: Policy | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """A ready gateway. Raises ConfigError (bad settings or policy) or StorageError (database)."""
    settings = settings or load_settings()
    early = EarlySighup.catch()  # the build takes seconds; a SIGHUP meanwhile must not end the process
    state = GatewayState.build(settings, policy, transports)
    assert state.reloader is not None  # set by GatewayState.build
    state.reloader.early = early
    inflight = InFlight(state.keeper)  # the keep worker drains when no request is being served

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        reloader = state.reloader
        assert reloader is not None
        reloader.start()  # before the events: Redis' first (re)sync may already ask for a reload
        await state.shared.start()  # the replicas' events (no-op without HEGUI_REDIS_URL)
        await start_ocr(state.policy.media)  # rapidocr's child, when the policy reads images
        yield
        # uvicorn calls this once open requests and streams ended or the grace period
        # (HEGUI_SHUTDOWN_GRACE_SECONDS) cut them; the cut ones record their output as they unwind.
        if not await inflight.drained():
            log.error(
                "shutting down with %d requests still unwinding: their output may be unrecorded",
                inflight.count,
            )
        reloader.stop()
        await shutdown(state)
        worker_leaves()  # with workers: this one's live gauges leave /metrics' sum
        if (provider := getattr(_app.state, "otel_provider", None)) is not None:
            provider.shutdown()  # exports the spans still batched

    app = FastAPI(
        title="hegui",
        version=__version__,
        lifespan=lifespan,
        docs_url="/hegui/docs",
        redoc_url=None,
        openapi_url="/hegui/openapi.json",
        description="Runtime compliance gateway: OpenAI-compatible API with input and output inspection.",
    )
    app.state.hegui = state

    @app.exception_handler(HeguiError)
    async def _hegui_error(_request: Request, exc: HeguiError) -> Response:
        return json_response(exc.to_openai(), status=exc.status())

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        kind = "not_found" if exc.status_code == 404 else "invalid_request_error"
        message = "Unknown URL." if exc.status_code == 404 else str(exc.detail)
        body = {"error": {"message": message, "type": kind, "param": None, "code": str(exc.status_code)}}
        return json_response(body, status=exc.status_code)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _exc: ClientDisconnect) -> Response:
        # The client left while its request was being read: nothing was inspected or forwarded, and no
        # one reads this answer. Not a fault of the gateway, so not logged as one.
        log.info("client disconnected before its request to %s was read", request.url.path)
        body = {
            "error": {
                "message": "The client disconnected before the request was read.",
                "type": "invalid_request_error",
                "param": None,
                "code": "client_disconnected",
            }
        }
        return json_response(body, status=400)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unexpected error; the request was not served")
        body = {
            "error": {
                "message": "Internal error; the request was not served.",
                "type": "server_error",
                "param": None,
                "code": "internal_error",
            }
        }
        return json_response(body, status=500)

    app.add_api_route("/v1/chat/completions", routes.chat_completions, methods=["POST"], tags=["OpenAI"])
    app.add_api_route("/v1/completions", routes.completions, methods=["POST"], tags=["OpenAI"])
    app.add_api_route("/v1/embeddings", routes.embeddings, methods=["POST"], tags=["OpenAI"])
    app.add_api_route("/v1/images/generations", media.images_generations, methods=["POST"], tags=["OpenAI"])
    app.add_api_route("/v1/images/edits", image_edits.images_edits, methods=["POST"], tags=["OpenAI"])
    app.add_api_route(
        "/v1/images/variations", image_edits.images_variations, methods=["POST"], tags=["OpenAI"]
    )
    app.add_api_route("/v1/responses", responses_api.responses, methods=["POST"], tags=["OpenAI"])
    app.add_api_route("/v1/messages", messages_api.messages, methods=["POST"], tags=["Anthropic"])
    app.add_api_route("/hegui/api/label", media.label_upload, methods=["POST"], tags=["labels"])
    app.add_api_route("/v1/models", routes.list_models, methods=["GET"], tags=["OpenAI"])
    app.add_api_route("/v1/models/{model:path}", routes.get_model, methods=["GET"], tags=["OpenAI"])
    admin.register(app)
    admin_policy.register(app)
    keys_api.register(app)
    web.register(app)  # /report, /privacy, /console and the cases metrics
    persons_admin.register(app)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Response:
        """Liveness: the process answers."""
        return json_response({"status": "ok", "version": __version__})

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request) -> Response:
        """Readiness: every probe answers (the database; Redis when shared state is configured) and the
        audit writer runs."""
        st = state_of(request)
        problems = await failed_probes(st.readiness)
        if not st.audit.healthy:
            problems.append("audit writer is not running or its last write failed")
        warnings = []
        if st.audit.checkpoint_problem is not None:
            # Entries are still committed; what is lost is their protection against truncation: said
            # here, without taking the gateway out of service.
            warnings.append(f"audit checkpoint not written: {st.audit.checkpoint_problem}")
        open_circuits = [n for n, u in st.router.upstreams.items() if u.breaker.state == "open"]
        for name, up in st.router.upstreams.items():
            st.metrics.breaker_open.labels(name).set(1 if up.breaker.state == "open" else 0)
        body = {
            "status": "ok" if not problems else "unavailable",
            "problems": problems,
            "warnings": warnings,
            "open_circuits": open_circuits,
            "policy": st.pipeline.policy_version,
        }
        return json_response(body, status=200 if not problems else 503)

    @app.get("/metrics", tags=["operations"])
    async def metrics(request: Request) -> Response:
        return PlainTextResponse(
            state_of(request).metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    app.add_middleware(  # innermost: the model routes without FastAPI's router (hotroutes.py)
        HotRoutes,
        routes={
            "/v1/chat/completions": routes.chat_completions,
            "/v1/completions": routes.completions,
            "/v1/embeddings": routes.embeddings,
            "/v1/images/generations": media.images_generations,
            "/v1/responses": responses_api.responses,
            "/v1/messages": messages_api.messages,
        },
        handlers=lambda: app.exception_handlers,
    )
    app.add_middleware(
        RateLimitGate,
        limiter=state.replicas.limiter,
        keys=state.keys,
        key_limits=state.replicas.key_limits,
        metrics=LimitMetrics(state.metrics.registry),
        max_body=settings.max_body_bytes,
    )
    app.add_middleware(KeyPrefetch, keys=state.keys)
    app.add_middleware(RequestMetrics, state=state)
    app.add_middleware(TrackInFlight, inflight=inflight)
    app.add_middleware(RequestLogContext)  # outermost: every line of the request, its access line too
    if settings.otel:
        from hegui.gateway.otel import instrument

        instrument(app)
    return app


async def shutdown(state: GatewayState) -> None:
    """Close the gateway: upstream clients, check threads, then the audit writer (it writes everything
    queued, then the checkpointer signs the final head), then the database pool. Logged, so that the log
    of a stopped replica says its decisions were flushed, or why its last checkpoint was not written."""
    log.info("shutting down: flushing the audit writer and writing the last checkpoint")
    await state.aclose()
    if problem := state.audit.checkpoint_problem:
        log.error("shut down; the last audit checkpoint was not written: %s", problem)
    else:
        log.info("shut down: %d audit entries written by this process", state.audit.entries)


def create_served_app() -> FastAPI:
    """A worker process's gateway (`hegui serve --workers N`, uvicorn's factory): `create_app` from the
    HEGUI_* environment, its objects then kept out of full garbage collections (hegui.gateway.heap)."""
    app = create_app()
    freeze_built()
    return app
