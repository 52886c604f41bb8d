"""Server-rendered pages: the public complaint channel (/report, /privacy) and the staff console
(/console). HTML from Jinja2 templates with autoescaping on, no JavaScript at all (the pages send a
Content-Security-Policy that forbids scripts), so an injected payload has nothing to run in.

`register(app)` mounts every route and the cases metrics on a gateway app; the pages call the cases
room and the records room, and hold no state of their own except the per-address rate limit.
"""

from __future__ import annotations

from fastapi import FastAPI

from hegui.cases.metrics import CasesCollector


def register(app: FastAPI) -> None:
    from hegui.web import console, console_labels, console_lexicons, console_records, public

    public.register(app)
    console.register(app)
    console_records.register(app)
    console_labels.register(app)
    console_lexicons.register(app)
    state = app.state.hegui
    state.metrics.add_collector(CasesCollector(state.engine))
