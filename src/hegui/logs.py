"""Log lines as text or as JSON, each carrying the id of the request it was written for.

A log collector (Loki, Elasticsearch, CloudWatch) joins a gateway's lines to its audit entries by the
request id: the id a client sees in ``x-hegui-request-id`` and the audit chain records. The id lives in a
context variable that the gateway's request middleware opens per HTTP request and the exchange fills in
once it has named the request (`bind_request_id`); every line logged while that request runs, in its task
or in the tasks it starts, carries it. Nothing here knows HTTP: the middleware is in the gateway.

`logging_config` is a `logging.config.dictConfig` dictionary rather than calls on the root logger, because
uvicorn applies it itself in each worker process it starts (`hegui serve --workers N`).
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

LogFormat = Literal["text", "json"]


@dataclass(slots=True)
class RequestLogContext:
    """What the lines of one HTTP request share. Mutable: the id is known only once the exchange has made
    it, after the middleware opened the context, and the tasks the request started see the same object."""

    request_id: str | None = None


_current: ContextVar[RequestLogContext | None] = ContextVar("hegui_request_log", default=None)


def open_request_context() -> RequestLogContext:
    """Start the log context of a new request (in the task that serves it)."""
    ctx = RequestLogContext()
    _current.set(ctx)
    return ctx


def bind_request_id(request_id: str) -> None:
    """Name the current request in its log lines (a no-op outside a request, e.g. in a CLI command)."""
    ctx = _current.get()
    if ctx is not None and ctx.request_id is None:
        ctx.request_id = request_id


def current_request_id() -> str | None:
    ctx = _current.get()
    return ctx.request_id if ctx is not None else None


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record (None outside a request), for both formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


# LogRecord attributes that are not extra fields of the caller's (logging's own, and ours).
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, any ``extra``
    fields, and the traceback as ``exc_info`` text."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            # uvicorn's access line, as fields a collector can filter on without parsing the message.
            client, method, path, _version, status = record.args
            out |= {"client": client, "method": method, "path": path, "status": status}
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def logging_config(level: str, fmt: LogFormat) -> dict[str, Any]:
    """The dictConfig for the gateway process(es): hegui's, uvicorn's and the libraries' lines in one
    format on stderr. httpx logs every forwarded request at INFO, one line per request: kept at WARNING
    unless the level is debug."""
    formatter: dict[str, Any] = (
        {"()": "hegui.logs.JsonFormatter"} if fmt == "json" else {"format": TEXT_FORMAT, "datefmt": None}
    )
    return {  # plain data (classes by name): it is handed to the workers' supervisor as JSON
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "hegui.logs.RequestIdFilter"}},
        "formatters": {"hegui": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "hegui",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's loggers propagate to the root handler instead of their own (coloured) ones.
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.access": {"level": level.upper(), "handlers": [], "propagate": True},
            "httpx": {"level": "DEBUG" if level == "debug" else "WARNING"},
        },
    }
