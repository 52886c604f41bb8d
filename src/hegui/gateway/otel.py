"""OpenTelemetry traces of the gateway's HTTP requests: an optional extra (``pip install 'hegui[otel]'``).

With ``HEGUI_OTEL=1`` every request becomes a server span (OpenTelemetry's ASGI instrumentation), tagged
with the hegui request id that the audit chain and the logs carry, so a trace leads to the audit entry.
Spans are exported by OTLP over HTTP to where the standard variables say (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_SERVICE_NAME``, ...). Asking for traces without the packages is a configuration error with the
install hint, at start: never an ImportError trace, and never a gateway that silently traces nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from hegui.errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

_HEADER = b"x-hegui-request-id"


_SERVER_SPAN = "hegui.otel_server_span"


def _keep_server_span(span: Any, scope: dict[str, Any]) -> None:
    """Remember the request's server span in its scope: the response hook is handed the send span."""
    scope[_SERVER_SPAN] = span


def _tag_request_id(_send_span: Any, scope: dict[str, Any], message: dict[str, Any]) -> None:
    """On the response's start, put its request id on the request's server span."""
    span = scope.get(_SERVER_SPAN)
    if message.get("type") != "http.response.start" or span is None or not span.is_recording():
        return
    for name, value in message.get("headers", ()):
        if name.lower() == _HEADER:
            span.set_attribute("hegui.request_id", value.decode("latin-1"))
            return


def default_provider() -> TracerProvider:
    """A tracer provider exporting by OTLP/HTTP in batches (the exporter reads the OTEL_* variables)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise _missing(exc) from None
    provider = TracerProvider(resource=Resource.create({"service.name": "hegui"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument(app: FastAPI, provider: TracerProvider | None = None) -> TracerProvider:
    """Wrap ``app`` in OpenTelemetry's ASGI middleware (outermost: the span covers every other layer).
    The provider is kept on ``app.state.otel_provider`` so that shutdown flushes its last spans."""
    try:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    except ImportError as exc:
        raise _missing(exc) from None
    provider = provider or default_provider()
    app.add_middleware(
        OpenTelemetryMiddleware,
        tracer_provider=provider,
        server_request_hook=_keep_server_span,
        client_response_hook=_tag_request_id,
        excluded_urls="healthz,readyz,metrics",
    )
    app.state.otel_provider = provider
    return provider


def _missing(exc: ImportError) -> ConfigError:
    return ConfigError(
        f"traces need the otel extra ({exc.name} is not installed): pip install 'hegui[otel]'",
        key="HEGUI_OTEL",
    )
