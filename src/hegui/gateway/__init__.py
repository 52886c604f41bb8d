"""The ASGI gateway: OpenAI-compatible routes, upstream client, SSE relay, health and metrics.

Every route that carries content runs the input and output stages of the guard pipeline and records
each decision in the audit chain before the answer leaves. An endpoint that is not inspected is not
exposed.
"""

from __future__ import annotations

from hegui.gateway.app import create_app

__all__ = ["create_app"]
