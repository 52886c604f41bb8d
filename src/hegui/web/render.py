"""Rendering: one Jinja2 environment per process, autoescaping every template, and the security headers
every page carries. Why no JavaScript: the pages are forms and tables; server-rendered HTML is faster to
load, works without a build step, and lets the CSP forbid scripts outright."""

from __future__ import annotations

import functools
import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hegui.cases.config import KIND_NAMES

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("hegui.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["KIND_NAMES"] = KIND_NAMES
    # readable (CJK as itself); still autoescaped as text on output, unlike the |tojson filter's output
    env.filters["readable"] = lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)
    return env


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the provider's facts for the footer."""
    provider = request.app.state.hegui.policy.provider
    html = environment().get_template(template).render(provider=provider, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
