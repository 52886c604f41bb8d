"""A scriptable faulty upstream and image host for the end-to-end tests (run as a separate process).

It stands in for an OpenAI-compatible server that misbehaves. What it answers on any ``/v1/...`` POST is
the request's own extra field ``"x_fault"``, which hegui forwards untouched:

- ``{"body": "...", "status": 200, "content_type": "text/html", "delay": s, "location": URL}``: exactly
  these bytes, after ``delay`` seconds (with a ``Location`` header when given: a redirect);
- ``{"events": ["data: {...}", ": ping", ...], "delay": s, "hang": true}``: each string as one SSE line
  (a blank line after each), ``delay`` seconds before each, then (``hang``) no end for an hour.

``GET /img/NAME`` serves a PNG (``?bytes=N``: N bytes of padding instead, ``&length=0``: without a
Content-Length); ``GET /redirect?to=URL`` answers 302 to URL. Every request's method, path and headers
are appended as a JSON line to the file named by FAULT_LOG (if set), so a test can see which credentials
reached which server.

Usage: python fault_upstream.py PORT
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route


def _log(request: Request) -> None:
    path = os.environ.get("FAULT_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            entry = {"method": request.method, "path": request.url.path, "headers": dict(request.headers)}
            fh.write(json.dumps(entry) + "\n")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (40, 120, 200)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


async def answer(request: Request) -> Response:
    _log(request)
    body: dict[str, Any] = await request.json()
    script = body.get("x_fault") or {}
    status = int(script.get("status", 200))
    delay = float(script.get("delay", 0))
    if "body" in script:
        await asyncio.sleep(delay)
        headers = {"location": script["location"]} if "location" in script else None
        return Response(
            script["body"], status_code=status, media_type=script.get("content_type"), headers=headers
        )
    events: list[str] = script.get("events") or []

    async def stream() -> AsyncIterator[str]:
        for line in events:
            if delay:
                await asyncio.sleep(delay)
            yield line + "\n\n"
        if script.get("hang"):
            await asyncio.sleep(3600)

    return StreamingResponse(stream(), status_code=status, media_type="text/event-stream")


async def image(request: Request) -> Response:
    _log(request)
    size = request.query_params.get("bytes")
    if size is None:
        return Response(PNG, media_type="image/png")
    total = int(size)
    if request.query_params.get("length") == "0":

        async def pieces() -> AsyncIterator[bytes]:
            sent = 0
            while sent < total:
                piece = min(65536, total - sent)
                sent += piece
                yield b"\0" * piece

        return StreamingResponse(pieces(), media_type="image/png")
    return Response(b"\0" * total, media_type="image/png")


async def redirect(request: Request) -> Response:
    _log(request)
    return RedirectResponse(request.query_params["to"], status_code=302)


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/v1/{rest:path}", answer, methods=["POST"]),
        Route("/img/{name}", image),
        Route("/redirect", redirect),
        Route("/healthz", healthz),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
