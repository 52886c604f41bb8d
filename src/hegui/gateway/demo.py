"""The built-in demo upstream: an OpenAI-compatible server inside the process (an httpx transport).

It is not a language model. Every answer says so, is deterministic (it echoes the last user message),
and streams in small chunks, so that `hegui serve` works end to end with no model installed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

DEMO_NOTICE = "【hegui 演示上游，不是语言模型 · hegui demo upstream, not a language model】"
_CHUNK = 6


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def demo_answer(prompt: str) -> str:
    return f"{DEMO_NOTICE} 你说 / you said: {prompt[:400]}"


def _sse(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def demo_transport(name: str = "demo") -> httpx.MockTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content or b"{}")
        model = body.get("model", "hegui-demo")
        created = int(time.time())
        path = request.url.path
        if request.method == "GET" and "/demo-images/" in path:
            return httpx.Response(200, headers={"content-type": "image/png"}, content=_image_from_path(path))
        if path.endswith("/images/generations"):
            return _images(body, created, str(request.url.copy_with(path="/v1/demo-images/")))
        if path.endswith("/chat/completions"):
            users = [m for m in body.get("messages", []) if m.get("role") == "user"]
            answer = demo_answer(_text_of(users[-1].get("content")) if users else "")
            return _chat(answer, model, created, bool(body.get("stream")))
        if path.endswith("/completions"):
            prompt = body.get("prompt", "")
            answer = demo_answer(prompt if isinstance(prompt, str) else " ".join(map(str, prompt)))
            return _completion(answer, model, created, bool(body.get("stream")))
        if path.endswith("/embeddings"):
            inputs = body.get("input", "")
            items = [inputs] if isinstance(inputs, str) else list(inputs)
            data = [
                {"object": "embedding", "index": i, "embedding": _vector(str(t))} for i, t in enumerate(items)
            ]
            usage = {"prompt_tokens": 0, "total_tokens": 0}
            return httpx.Response(200, json={"object": "list", "data": data, "model": model, "usage": usage})
        return httpx.Response(
            404, json={"error": {"message": f"demo upstream has no {path}", "type": "not_found"}}
        )

    return httpx.MockTransport(handler)


def _size(value: object) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in str(value).lower().split("x"))
    except ValueError:
        return 256, 256
    return max(16, min(w, 1024)), max(16, min(h, 1024))


def _png(seed: str, width: int, height: int) -> bytes:
    """A deterministic picture (a gradient whose colours come from the prompt): not a generated image."""
    import io

    from PIL import Image

    digest = hashlib.sha256(seed.encode()).digest()
    top, bottom = digest[:3], digest[3:6]
    img = Image.new("RGB", (width, height))
    for y in range(height):
        t = y / max(height - 1, 1)
        img.paste(
            tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)), (0, y, width, y + 1)
        )
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _image_from_path(path: str) -> bytes:
    name = path.rsplit("/", 1)[-1].removesuffix(".png")
    seed, _, size = name.rpartition("_")
    return _png(seed, *_size(size))


def _images(body: dict[str, Any], created: int, url_base: str) -> httpx.Response:
    prompt = str(body.get("prompt", ""))
    n = max(1, min(int(body.get("n") or 1), 4))
    width, height = _size(body.get("size", "256x256"))
    seeds = [hashlib.sha256(f"{prompt}|{i}".encode()).hexdigest()[:16] for i in range(n)]
    if body.get("response_format") == "b64_json":
        import base64

        data = [{"b64_json": base64.b64encode(_png(seed, width, height)).decode()} for seed in seeds]
    else:
        data = [{"url": f"{url_base}{seed}_{width}x{height}.png"} for seed in seeds]
    return httpx.Response(200, json={"created": created, "data": data})


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(b / 255 - 0.5, 4) for b in digest[:16]]


def _pieces(text: str) -> list[str]:
    return [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)]


def _chat(answer: str, model: str, created: int, stream: bool) -> httpx.Response:
    rid = "chatcmpl-demo"
    if not stream:
        return httpx.Response(
            200,
            json={
                "id": rid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            },
        )

    async def events() -> AsyncIterator[bytes]:
        base = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model}
        yield _sse(
            base
            | {
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                ]
            }
        )
        for piece in _pieces(answer):
            yield _sse(base | {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        yield _sse(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        yield b"data: [DONE]\n\n"

    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=events())


def _completion(answer: str, model: str, created: int, stream: bool) -> httpx.Response:
    rid = "cmpl-demo"
    if not stream:
        return httpx.Response(
            200,
            json={
                "id": rid,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "text": answer, "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            },
        )

    async def events() -> AsyncIterator[bytes]:
        base = {"id": rid, "object": "text_completion", "created": created, "model": model}
        for piece in _pieces(answer):
            yield _sse(
                base | {"choices": [{"index": 0, "text": piece, "finish_reason": None, "logprobs": None}]}
            )
        yield _sse(base | {"choices": [{"index": 0, "text": "", "finish_reason": "stop", "logprobs": None}]})
        yield b"data: [DONE]\n\n"

    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=events())
