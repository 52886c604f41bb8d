"""A scriptable OpenAI-compatible server for the end-to-end tests (run as a separate process).

It stands in for a model server (vLLM, llama.cpp, a hosted API), which cannot run here. What it answers
is controlled by the request itself, through an extra body field that hegui forwards untouched:
``"x_script": {"chunks": [...], "delay": seconds, "status": code, "hang": true}``. Every request it
receives is appended as a JSON line to the file named by FAKE_UPSTREAM_LOG (if set), so a test can see
exactly what reached the upstream.

hegui inspects every string of a request, ``x_script`` included, so a script that carries a deny-listed
term is given base64-encoded (``"x_script": "<base64 of the JSON>"``, see `script()`). A script may also
give the whole answer (``"answer": {...}``) or the stream's chunks (``"events": [{...}, ...]``) as they
are to be sent, on every route (chat, completions, embeddings, images).

Usage: python fake_upstream.py PORT
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


async def chat(request: Request) -> Response:
    body: dict[str, Any] = await request.json()
    log = os.environ.get("FAKE_UPSTREAM_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(body, ensure_ascii=False) + "\n")
    script = body.get("x_script") or {}
    if isinstance(script, str):
        script = json.loads(base64.b64decode(script))
    if "answer" in script or "events" in script:
        return _raw(script, bool(body.get("stream")))
    if script.get("hang"):
        await asyncio.sleep(3600)
    if "status" in script:
        return JSONResponse(
            {"error": {"message": "scripted failure", "type": "server_error"}},
            status_code=int(script["status"]),
        )
    delay = float(script.get("delay", 0))
    if delay and not body.get("stream"):
        await asyncio.sleep(delay)
    last = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
    chunks: list[str] = script.get("chunks") or [f"fake upstream heard: {last}"]
    model = body["model"]
    if not body.get("stream"):
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(chunks)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    async def events() -> Any:
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        yield (
            "data: "
            + json.dumps(
                base | {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
            )
            + "\n\n"
        )
        for piece in chunks:
            if delay:
                await asyncio.sleep(delay)
            yield (
                "data: "
                + json.dumps(
                    base | {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]},
                    ensure_ascii=False,
                )
                + "\n\n"
            )
        yield (
            "data: "
            + json.dumps(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            + "\n\n"
        )
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def script(**fields: Any) -> str:
    """A script for ``x_script``, encoded so that hegui's input stage does not read it as text."""
    return base64.b64encode(json.dumps(fields, ensure_ascii=False).encode()).decode("ascii")


def _raw(script: dict[str, Any], stream: bool) -> Response:
    """The answer or the chunks exactly as scripted."""
    if not stream:
        return JSONResponse(script["answer"])

    async def events() -> Any:
        for chunk in script["events"]:
            yield "data: " + json.dumps(chunk, ensure_ascii=False) + "\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def image_form(request: Request) -> Response:
    """/v1/images/edits and /v1/images/variations: a multipart form. The answer is scripted by the form
    field ``x_script`` (as above), or else the first uploaded image, sent back as the "edited" one."""
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    files = [(k, await v.read()) for k, v in form.multi_items() if not isinstance(v, str)]
    log = os.environ.get("FAKE_UPSTREAM_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            entry = fields | {"_files": [[k, len(b)] for k, b in files]}
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    script = json.loads(base64.b64decode(fields["x_script"])) if "x_script" in fields else {}
    if "answer" in script:
        return JSONResponse(script["answer"])
    image = base64.b64encode(files[0][1]).decode("ascii")
    return JSONResponse({"created": int(time.time()), "data": [{"b64_json": image}]})


async def transcriptions(request: Request) -> Response:
    """/v1/audio/transcriptions, for the ASR hook: no model here, so the "recording" of a test is its
    transcript as UTF-8 bytes, given back as the text."""
    form = await request.form()
    upload = form["file"]
    assert not isinstance(upload, str) and form.get("model")
    return JSONResponse({"text": (await upload.read()).decode("utf-8")})


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        *(
            Route(f"/v1/{p}", chat, methods=["POST"])
            for p in ("completions", "embeddings", "images/generations")
        ),
        Route("/v1/images/edits", image_form, methods=["POST"]),
        Route("/v1/images/variations", image_form, methods=["POST"]),
        Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
        Route("/healthz", healthz),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
