"""Downloading a file named by a URL in an upstream's answer (an image result), safely.

An upstream answer is data from outside: a URL in it may point anywhere, including at the gateway's own
network (cloud metadata at 169.254.169.254, an admin port on 127.0.0.1, a database on 10.0.0.5). So:

- **Credentials** go only to the upstream's own origin (scheme, host and port of its ``base_url``),
  through the upstream's own client. Every other URL is fetched by a bare client: no ``Authorization``,
  no cookies, no proxy from the environment.
- **Addresses.** For any other origin the name is resolved once, *every* address it resolves to is
  checked, and the connection goes to the checked address (the URL is rewritten to it; ``Host`` and
  TLS SNI/certificate checks keep the name), so a second, different DNS answer (rebinding) is never
  used. Only global addresses pass, unless a network is listed in ``gateway.media_allow_networks``:
  private, loopback, link-local, shared, reserved, multicast and unspecified addresses are refused, as
  are IPv4 addresses inside IPv6 (mapped, 6to4, Teredo) that would be refused themselves.
- **Redirects** are followed by hand, at most ``gateway.media_max_redirects``, and each hop is checked
  as above (a redirect from the upstream's origin to another host loses the credentials).
- **Size and time.** A declared ``Content-Length`` over ``gateway.media_max_bytes`` is refused before
  reading; otherwise reading stops at the limit (decoded bytes, so a compressed bomb is stopped too).
  The whole download, every hop, is bounded by ``gateway.media_timeout``.

Every refusal is a :class:`MediaFetchRefused` (502) that says why; the route records it in the audit.
The upstream's own origin is not address-checked: the operator chose it (it is often a model server on
a private network); its downloads are still bounded in size and time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from hegui.errors import MediaFetchRefused
from hegui.policy import GatewayPolicy

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: host, port → every address the name resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    max_bytes: int
    timeout: float
    max_redirects: int
    allow: tuple[IPNetwork, ...]

    @classmethod
    def from_gateway(cls, gateway: GatewayPolicy) -> FetchPolicy:
        return cls(
            max_bytes=gateway.media_max_bytes,
            timeout=gateway.media_timeout,
            max_redirects=gateway.media_max_redirects,
            allow=tuple(ipaddress.ip_network(n, strict=False) for n in gateway.media_allow_networks),
        )


@dataclass(frozen=True, slots=True)
class TrustedOrigin:
    """The upstream's own origin and its client (which carries its credentials and transport)."""

    scheme: str
    host: str
    port: int
    client: httpx.AsyncClient

    @classmethod
    def of(cls, client: httpx.AsyncClient) -> TrustedOrigin:
        base = client.base_url
        return cls(base.scheme, base.host, _port(base), client)

    def owns(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, _port(url)) == (self.scheme, self.host, self.port)


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def refusal_reason(address: IPAddress, allow: Sequence[IPNetwork]) -> str | None:
    """Why ``address`` may not be fetched from (None: it may)."""
    if any(address in net for net in allow):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        for inner in (address.ipv4_mapped, address.sixtofour, (address.teredo or (None, None))[1]):
            if inner is not None:
                reason = refusal_reason(inner, allow)
                if reason is not None:
                    return f"{reason} (inside {address})"
    for name in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{name}"):
            return f"{address} is a {name.replace('_', '-')} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


class MediaFetcher:
    """Fetches URLs from upstream answers under a FetchPolicy (one per gateway; see the module doc)."""

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        resolver: Resolver = system_resolver,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.policy = policy
        self._resolve = resolver
        self._client = httpx.AsyncClient(
            transport=transport,
            verify=verify,
            trust_env=False,  # an environment proxy would connect by name, around the address check
            follow_redirects=False,
            timeout=httpx.Timeout(policy.timeout),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> MediaFetcher:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def fetch(self, url: str, trusted: TrustedOrigin | None = None) -> bytes:
        try:
            async with asyncio.timeout(self.policy.timeout):
                return await self._fetch(url, trusted)
        except TimeoutError:
            raise MediaFetchRefused(
                f"fetching {_show(url)} took longer than {self.policy.timeout:g}s (gateway.media_timeout)"
            ) from None
        except httpx.HTTPError as exc:
            raise MediaFetchRefused(f"fetching {_show(url)} failed: {exc.__class__.__name__}") from None

    async def _fetch(self, url: str, trusted: TrustedOrigin | None) -> bytes:
        current = _parse(url)
        for _hop in range(self.policy.max_redirects + 1):
            if trusted is not None and trusted.owns(current):
                client = trusted.client
                request = client.build_request("GET", current)
                response = await client.send(request, stream=True)
            else:
                response = await self._send_pinned(await self._checked_addresses(current), current)
            try:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    current = _parse(str(current.join(location)))
                    continue
                if response.status_code != 200:
                    raise MediaFetchRefused(f"fetching {_show(current)}: HTTP {response.status_code}")
                return await self._read(response, current)
            finally:
                await response.aclose()
        raise MediaFetchRefused(
            f"fetching {_show(url)}: more than {self.policy.max_redirects} redirects "
            "(gateway.media_max_redirects)"
        )

    async def _checked_addresses(self, url: httpx.URL) -> list[IPAddress]:
        """Every address ``url``'s host resolves to (once), each checked against the policy."""
        host, port = url.host, _port(url)
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                found = await self._resolve(host, port)
            except OSError as exc:
                raise MediaFetchRefused(f"fetching {_show(url)}: cannot resolve {host!r} ({exc})") from None
            addresses = list(dict.fromkeys(ipaddress.ip_address(a.split("%")[0]) for a in found))
        if not addresses:
            raise MediaFetchRefused(f"fetching {_show(url)}: {host!r} resolves to no address")
        for address in addresses:
            reason = refusal_reason(address, self.policy.allow)
            if reason is not None:
                raise MediaFetchRefused(
                    f"fetching {_show(url)} refused: {reason} (gateway.media_allow_networks)"
                )
        return addresses

    async def _send_pinned(self, addresses: list[IPAddress], url: httpx.URL) -> httpx.Response:
        """Connect to the checked addresses in turn (the next one only if connecting failed); the
        request keeps the name in ``Host`` and, for https, in SNI and the certificate check."""
        extensions = {"sni_hostname": url.host} if url.scheme == "https" and _is_name(url.host) else {}
        for i, address in enumerate(addresses):
            request = self._client.build_request(
                "GET",
                url.copy_with(host=str(address)),
                headers={"host": url.netloc.decode("ascii")},
                extensions=extensions,
            )
            try:
                return await self._client.send(request, stream=True)
            except httpx.ConnectError:
                if i == len(addresses) - 1:
                    raise
        raise AssertionError("unreachable: addresses is never empty")

    async def _read(self, response: httpx.Response, url: httpx.URL) -> bytes:
        limit = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise MediaFetchRefused(
                f"fetching {_show(url)}: {declared} bytes is over the limit of {limit} "
                "(gateway.media_max_bytes)"
            )
        content = bytearray()
        async for piece in response.aiter_bytes():
            content += piece
            if len(content) > limit:
                raise MediaFetchRefused(
                    f"fetching {_show(url)}: more than {limit} bytes (gateway.media_max_bytes)"
                )
        return bytes(content)


def _is_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise MediaFetchRefused(f"an image URL that cannot be parsed: {url[:80]!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise MediaFetchRefused(f"an image URL that is not http(s): {url[:80]!r}")
    if parsed.userinfo:
        raise MediaFetchRefused(f"an image URL with credentials in it: {_show(parsed)}")
    return parsed


def _show(url: str | httpx.URL) -> str:
    """A URL for messages: scheme, host, port and path, no query (it may hold a signed token)."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except httpx.InvalidURL:
        return repr(str(url)[:80])
    return str(parsed.copy_with(query=None, fragment=None))[:120]
