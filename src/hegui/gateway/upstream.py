"""Upstream model servers: async httpx clients on aiohttp's wire, timeouts, bounded retries, a circuit breaker.

Each client sends through `upstream_wire.AiohttpTransport` (aiohttp's pool and C HTTP parser under httpx's
interface), or httpx's own transport when the environment names a proxy.

Retries happen only on connection errors (the request never reached the upstream), so a generation is
never started twice. Every failure becomes an UpstreamError (502) or UpstreamTimeout (504) within the
configured timeouts: the gateway never hangs on an upstream.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx
import orjson

from hegui.errors import (
    UnknownModel,
    UpstreamError,
    UpstreamMalformed,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from hegui.gateway.preflight import upstream_api_key
from hegui.gateway.upstream_send import DirectSender
from hegui.gateway.upstream_shapes import check_whole
from hegui.gateway.upstream_wire import AiohttpTransport, environment_names_a_proxy
from hegui.policy import GatewayPolicy, Policy, UpstreamPolicy


@dataclass(frozen=True, slots=True)
class FormFile:
    """A file of a multipart request (``image``, ``image[]``, ``mask``), forwarded as it came."""

    field: str
    filename: str
    content: bytes
    content_type: str


class CircuitBreaker:
    """closed → (``failures`` consecutive failures) → open for ``reset_seconds`` → half-open: one trial
    request; its success closes the circuit, its failure opens it again."""

    def __init__(
        self, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = failures
        self._reset = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self._opened_at >= self._reset else "open"

    def retry_after(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._reset - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial = False

    def failure(self) -> None:
        self._failures += 1
        self._trial = False
        if self._failures >= self._threshold or self._opened_at is not None:
            self._opened_at = self._clock()


def _upstream_message(content: bytes) -> str:
    try:
        body = orjson.loads(content)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return str(body["error"].get("message", ""))[:500]
        if isinstance(body, dict) and "error" in body:
            return str(body["error"])[:500]
    except orjson.JSONDecodeError:
        pass
    return content[:800].decode("utf-8", errors="replace")[:200]


class Upstream:
    def __init__(
        self,
        policy: UpstreamPolicy,
        region: str,
        transport: httpx.AsyncBaseTransport | None = None,
        gateway: GatewayPolicy | None = None,
    ) -> None:
        self.name = policy.name
        self.policy = policy
        self.region = region
        #: The gateway's bounds on every upstream: the request deadline, the largest ``n``.
        self.gateway = gateway or GatewayPolicy()
        headers = {"content-type": "application/json"}
        key = upstream_api_key(policy)  # the same rule `hegui config validate` applies
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        if transport is None and not environment_names_a_proxy():
            # httpx's API on an aiohttp session (upstream_wire.py)
            transport = AiohttpTransport(max_connections=policy.max_connections)
        self.client = httpx.AsyncClient(
            base_url=(policy.base_url or "http://demo.invalid/v1").rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(
                connect=policy.connect_timeout,
                read=policy.read_timeout,
                write=policy.read_timeout,
                pool=policy.connect_timeout,
            ),
            limits=httpx.Limits(
                max_connections=policy.max_connections, max_keepalive_connections=policy.max_connections
            ),
            transport=transport,
        )
        #: JSON requests go straight through the client's transport (upstream_send.py).
        self.sender = DirectSender(self.client)
        self.breaker = CircuitBreaker(policy.breaker_failures, policy.breaker_reset_seconds)

    async def aclose(self) -> None:
        await self.client.aclose()

    def _admit(self) -> None:
        if not self.breaker.allow():
            raise UpstreamUnavailable(
                f"upstream {self.name!r} is failing; its circuit is open for another "
                f"{self.breaker.retry_after():.0f}s"
            )

    async def _send(
        self, path: str, body: Mapping[str, Any], files: Sequence[FormFile] = ()
    ) -> httpx.Response:
        """An answered request with status 2xx, its body still to read (the caller closes it). Retries
        on connection errors only; raises Upstream* errors. With ``files``, the body's fields and the
        files go as multipart/form-data through the client (the image edit routes); JSON goes through
        `DirectSender`, which follows no redirect: a 3xx is an UpstreamError."""
        self._admit()
        if files:
            boundary = secrets.token_hex(16)
            request = self.client.build_request(
                "POST",
                path,
                data={k: str(v) for k, v in body.items()},
                files=[(f.field, (f.filename, f.content, f.content_type)) for f in files],
                headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            )
        else:
            request = self.sender.request(path, orjson.dumps(body))
        attempt = 0
        while True:
            try:
                if files:
                    response = await self.client.send(request, stream=True)
                else:
                    response = await self.sender.send(request)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt < self.policy.max_retries:
                    attempt += 1
                    await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
                    continue
                self.breaker.failure()
                raise UpstreamUnavailable(
                    f"cannot connect to upstream {self.name!r}: {exc.__class__.__name__}"
                ) from exc
            except httpx.TimeoutException as exc:
                self.breaker.failure()
                raise UpstreamTimeout(
                    f"upstream {self.name!r} did not answer in time ({exc.__class__.__name__})"
                ) from exc
            except httpx.TransportError as exc:
                self.breaker.failure()
                raise UpstreamError(f"upstream {self.name!r} failed: {exc.__class__.__name__}") from exc
        if response.status_code >= 300:
            try:
                content = await _read_some(response, _ERROR_BYTES)
            finally:
                await response.aclose()
            self._refuse(response, content)
        self.breaker.success()
        return response

    def _refuse(self, response: httpx.Response, content: bytes) -> NoReturn:
        """Raise the error a 3xx, 4xx or 5xx answer (``content``: the start of its body) stands for."""
        status = response.status_code
        if status < 400:
            # Not followed (upstream_send.py): an API that moved is fixed in the policy, not chased.
            self.breaker.failure()
            location = response.headers.get("location", "")[:200] or "nowhere"
            raise UpstreamError(
                f"upstream {self.name!r} answered {status}, a redirect to {location}: an upstream must "
                "not redirect (set its base_url to the address it answers at)"
            )
        message = _upstream_message(content)
        if status >= 500 or status == 429:
            if status >= 500:
                self.breaker.failure()
            raise UpstreamError(f"upstream {self.name!r} answered {status}: {message}")
        self.breaker.success()
        raise UpstreamRejected(f"upstream {self.name!r}: {message}", upstream_status=status)

    async def post_json(
        self, path: str, body: Mapping[str, Any], files: Sequence[FormFile] = ()
    ) -> dict[str, Any]:
        """A whole (non-streamed) answer, within ``total_timeout`` and the gateway's request deadline,
        checked against the shape the API gives for ``path`` (UpstreamMalformed: 502). With ``files``,
        the request is multipart/form-data (its answer is still JSON)."""
        limit = min(self.policy.total_timeout, self.gateway.request_deadline)
        try:
            async with asyncio.timeout(limit):
                response = await self._send(path, body, files)
                try:
                    content = await self._read_whole(response)
                finally:
                    await response.aclose()
        except TimeoutError as exc:
            self.breaker.failure()
            raise UpstreamTimeout(f"upstream {self.name!r} gave no whole answer within {limit:g}s") from exc
        try:
            return check_whole(self.name, path, content, max_n=self.gateway.max_n)
        except UpstreamError:
            self.breaker.failure()
            raise

    async def _read_whole(self, response: httpx.Response) -> bytes:
        """The body, at most ``gateway.max_answer_bytes`` (an upstream cannot fill the gateway's memory)."""
        limit = self.gateway.max_answer_bytes
        content = bytearray()
        try:
            async for piece in response.aiter_bytes():
                content += piece
                if len(content) > limit:
                    raise UpstreamMalformed(
                        f"upstream {self.name!r} sent an answer over {limit} bytes (gateway.max_answer_bytes)"
                    )
        except httpx.TimeoutException as exc:
            self.breaker.failure()
            raise UpstreamTimeout(f"upstream {self.name!r} stopped sending its answer") from exc
        except httpx.TransportError as exc:
            self.breaker.failure()
            raise UpstreamError(f"upstream {self.name!r} failed: {exc.__class__.__name__}") from exc
        except UpstreamMalformed:
            self.breaker.failure()
            raise
        return bytes(content)

    async def open_stream(self, path: str, body: Mapping[str, Any]) -> httpx.Response:
        """An open streaming response with status 200 and server-sent events; the caller must close it.

        A 200 that is not ``text/event-stream`` (an HTML error page, a whole JSON answer where a stream
        was asked) is refused here, before the client is answered: UpstreamMalformed (502), or the
        upstream's own message if the body is an OpenAI-shaped error."""
        response = await self._send(path, body)
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type == "text/event-stream":
            return response
        try:
            content = await _read_some(response, _NOT_A_STREAM_BYTES)
        finally:
            await response.aclose()
        self.breaker.failure()
        try:
            check_whole(self.name, path, content, max_n=self.gateway.max_n)
        except UpstreamError as exc:
            if type(exc) is UpstreamError:  # an {"error": …} body: the upstream's own failure
                raise
        raise UpstreamMalformed(
            f"upstream {self.name!r} answered a streaming request with {media_type or 'no content type'} "
            "instead of server-sent events"
        )


_NOT_A_STREAM_BYTES = 64 * 1024
#: What is read of an error answer's body: enough for its message, never all of a huge one.
_ERROR_BYTES = 64 * 1024


async def _read_some(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of a body (enough to say what it is, never all of a huge one)."""
    content = b""
    try:
        async for piece in response.aiter_bytes():
            content += piece
            if len(content) >= limit:
                break
    except httpx.HTTPError:
        pass  # what arrived is enough to describe it; the answer is refused either way
    return content[:limit]


class UpstreamRouter:
    """Model name → upstream, from the policy."""

    def __init__(
        self, policy: Policy, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
    ) -> None:
        from hegui.gateway.anthropic_upstream import AnthropicTransport
        from hegui.gateway.demo import demo_transport

        transports = dict(transports or {})
        self.upstreams: dict[str, Upstream] = {}
        self._by_model: dict[str, Upstream] = {}
        for up in policy.upstreams:
            transport = transports.get(up.name) or (demo_transport(up.name) if up.type == "demo" else None)
            if up.type == "anthropic":  # reached in chat completions through a translating transport
                # on the aiohttp wire, direct (as httpx's transport was: a transport reads no proxy)
                wire = transport or AiohttpTransport(max_connections=up.max_connections)
                transport = AnthropicTransport(wire, up.anthropic_version)
            upstream = Upstream(up, policy.upstream_region(up), transport, policy.gateway)
            self.upstreams[up.name] = upstream
            for model in up.models:
                self._by_model[model] = upstream

    def for_model(self, model: str) -> Upstream:
        try:
            return self._by_model[model]
        except KeyError:
            raise UnknownModel(
                f"The model {model!r} does not exist or is not served here.", param="model"
            ) from None

    def models(self) -> list[tuple[str, Upstream]]:
        return list(self._by_model.items())

    async def aclose(self) -> None:
        for upstream in self.upstreams.values():
            await upstream.aclose()
