"""One JSON request to an upstream, sent straight through its client's transport.

`httpx.AsyncClient.send` does, per request, what an upstream call never needs: it merges the relative
path into the base URL (a URL parse), copies and merges the client's headers and cookies, runs an auth
flow and a redirect loop, and stores every ``Set-Cookie`` of the answer in the client's jar. That was
about a quarter of the CPU of an upstream call (benchmarks/upstream_call.py, one call at a time: whole
about 570 µs → 410 µs without it, streamed about 850 µs → 700 µs). `DirectSender` does the rest of what
`AsyncClient._send_single_request` does, on parts built once per upstream and path:

- the absolute URL of each path, and the client's headers (httpx's defaults, ``content-type``, the
  upstream's API key) with ``Host`` in front, as httpx would order them; per request only
  ``Content-Length`` is added;
- the client's timeouts (connect, read, write, pool) in ``request.extensions["timeout"]``, where every
  transport reads them;
- the transport httpx itself would pick for the base URL (its pool, or the proxy the environment names,
  ``NO_PROXY`` included), chosen once;
- ``response.request`` set, and httpx's ``HTTP Request:`` log line when the ``httpx`` logger shows INFO.

Left out, on purpose:

- **Redirects.** An upstream is an API at a fixed address; httpx does not follow redirects by default
  either. `Upstream` refuses any 3xx answer as an UpstreamError (502) that names where it pointed, so a
  moved ``base_url`` is fixed in the policy rather than followed silently.
- **Cookies.** The gateway sends no cookie to an upstream and keeps none it sets: one jar shared by every
  user's requests is not something an API client should echo (an upstream load balancer's affinity
  cookie included).
- **Auth flows.** The API key is a constant header (`hegui.gateway.preflight.upstream_api_key`).

Multipart requests (the image edit routes) and the media fetcher still use the client itself.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

_log = logging.getLogger("httpx")  # the line AsyncClient logs per request, kept for `--log-level debug`

#: Paths whose URL is kept; the gateway calls a handful of fixed API paths, so this is never reached.
_MAX_PATHS = 64


class DirectSender:
    """Sends POST requests with a JSON body to the client's base URL, as the client would (module doc)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._base = client.base_url
        # The transport httpx would use for this origin: the pool, or a proxy named by the environment
        # (its mounts match on scheme, host and port only, so the base URL stands for every path).
        self.transport: httpx.AsyncBaseTransport = client._transport_for_url(self._base)
        self._timeout: dict[str, Any] = client.timeout.as_dict()
        host = [(b"Host", self._base.netloc)] if self._base.host else []
        self._headers = httpx.Headers(host + client.headers.raw)
        self._urls: dict[str, httpx.URL] = {}

    def url(self, path: str) -> httpx.URL:
        """``path`` under the base URL, as `AsyncClient.build_request` merges it (built once per path)."""
        url = self._urls.get(path)
        if url is None:
            url = self._client.build_request("POST", path).url
            if len(self._urls) < _MAX_PATHS:
                self._urls[path] = url
        return url

    def request(self, path: str, content: bytes) -> httpx.Request:
        """A POST of ``content`` (JSON) to ``path``, with the client's headers and timeouts."""
        headers = httpx.Headers(self._headers)
        headers["Content-Length"] = str(len(content))
        request = httpx.Request(
            "POST",
            self.url(path),
            headers=headers,
            stream=httpx.ByteStream(content),
            extensions={"timeout": self._timeout},
        )
        request.read()  # one in-memory piece: `request.content` is there for transports that read it
        return request

    async def send(self, request: httpx.Request) -> httpx.Response:
        """The transport's response, its body not read (the caller closes it). Raises httpx's errors."""
        if self._client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        response = await self.transport.handle_async_request(request)
        response.request = request
        if _log.isEnabledFor(logging.INFO):
            _log.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        return response
