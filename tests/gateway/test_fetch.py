"""The media fetcher: credentials only for the upstream's origin, checked addresses, bounded size."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hegui.errors import MediaFetchRefused
from hegui.gateway.fetch import FetchPolicy, MediaFetcher, TrustedOrigin, refusal_reason

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "not a public address"),  # shared address space (carrier-grade NAT)
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("2002:a01:203::1", "private"),  # 6to4 of 10.1.2.3
    ],
)
def test_refusal_reason(address: str, reason: str | None) -> None:
    got = refusal_reason(ipaddress.ip_address(address), ())
    assert got is None if reason is None else (got is not None and reason in got), got


def test_allowed_networks_let_private_addresses_through() -> None:
    allow = (ipaddress.ip_network("127.0.0.0/8"),)
    assert refusal_reason(ipaddress.ip_address("127.0.0.1"), allow) is None
    assert refusal_reason(ipaddress.ip_address("10.0.0.1"), allow) is not None


class Resolver:
    """A scripted DNS: each call gives the next answer (a rebinding resolver changes its answer)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if not self.answers:
            raise OSError("no such host")
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


Handler = Callable[[httpx.Request], httpx.Response]
PNG = b"\x89PNG-not-really"


def fetch(
    url: str,
    handler: Handler,
    resolver: Resolver | None = None,
    trusted: TrustedOrigin | None = None,
    **policy: Any,
) -> bytes:
    settings = {"max_bytes": 1000, "timeout": 2.0, "max_redirects": 2, "allow": ()} | policy
    fetcher = MediaFetcher(
        FetchPolicy(**settings),
        resolver=resolver or Resolver([PUBLIC]),
        transport=httpx.MockTransport(handler),
    )

    async def go() -> bytes:
        async with fetcher:
            return await fetcher.fetch(url, trusted)

    return asyncio.run(go())


def recorder(
    response: Callable[[httpx.Request], httpx.Response] | None = None,
) -> tuple[list[httpx.Request], Handler]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response(request) if response else httpx.Response(200, content=PNG)

    return seen, handler


def test_connects_to_the_checked_address_with_the_name_in_host_and_sni() -> None:
    seen, handler = recorder()
    assert fetch("https://images.example:8443/a.png?sig=1", handler) == PNG
    (request,) = seen
    assert request.url.host == PUBLIC and request.url.port == 8443
    assert request.headers["host"] == "images.example:8443"
    assert request.extensions["sni_hostname"] == "images.example"
    assert "authorization" not in request.headers and "cookie" not in request.headers


def test_the_name_is_resolved_once_per_hop_so_a_rebinding_answer_is_never_used() -> None:
    resolver = Resolver([PUBLIC], ["127.0.0.1"])
    seen, handler = recorder()
    fetch("http://images.example/a.png", handler, resolver)
    assert resolver.calls == ["images.example"]
    assert [r.url.host for r in seen] == [PUBLIC]


@pytest.mark.parametrize(
    "answer", [["127.0.0.1"], [PUBLIC, "10.0.0.7"], ["169.254.169.254"], ["::ffff:192.168.1.1"]]
)
def test_a_name_with_any_refused_address_is_refused_without_connecting(answer: list[str]) -> None:
    seen, handler = recorder()
    with pytest.raises(MediaFetchRefused, match="media_allow_networks"):
        fetch("http://images.example/a.png", handler, Resolver(answer))
    assert seen == []


def test_an_unresolvable_name_is_refused() -> None:
    with pytest.raises(MediaFetchRefused, match="cannot resolve"):
        fetch("http://nowhere.example/a.png", recorder()[1], Resolver())


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://x/y", "http://u:p@images.example/a.png", "not a url", "http:///x"]
)
def test_urls_that_are_not_plain_http_are_refused(url: str) -> None:
    seen, handler = recorder()
    with pytest.raises(MediaFetchRefused):
        fetch(url, handler)
    assert seen == []


def test_each_redirect_hop_is_checked_again() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://internal.example/secret"})

    seen, handler = recorder(respond)
    with pytest.raises(MediaFetchRefused, match=r"10\.0\.0\.9"):
        fetch("http://images.example/a.png", handler, Resolver([PUBLIC], ["10.0.0.9"]))
    assert len(seen) == 1


def test_redirects_are_limited() -> None:
    seen, handler = recorder(lambda r: httpx.Response(302, headers={"location": "/again"}))
    with pytest.raises(MediaFetchRefused, match="more than 2 redirects"):
        fetch("http://images.example/a.png", handler)
    assert len(seen) == 3


@pytest.mark.parametrize("declared", [True, False])
def test_reading_stops_past_the_size_limit(declared: bool) -> None:
    sent: list[int] = []

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            for _ in range(10_000):
                sent.append(1)
                yield b"\0" * 100

    def respond(request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(200, content=b"\0" * 5000)
        return httpx.Response(200, stream=Endless())

    with pytest.raises(MediaFetchRefused, match="media_max_bytes"):
        fetch("http://images.example/a.png", recorder(respond)[1])
    assert len(sent) <= 11  # stopped just past 1000 bytes, not after a million


def test_a_slow_download_is_stopped_at_the_timeout() -> None:
    class Slow(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield b"x"
            await asyncio.sleep(10)
            yield b"y"

    with pytest.raises(MediaFetchRefused, match="media_timeout"):
        fetch(
            "http://images.example/a.png",
            recorder(lambda r: httpx.Response(200, stream=Slow()))[1],
            timeout=0.3,
        )


def test_the_upstreams_own_origin_goes_through_its_client_and_a_redirect_off_it_loses_the_key() -> None:
    upstream_seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        upstream_seen.append(request)
        return httpx.Response(302, headers={"location": "http://cdn.example/a.png"})

    client = httpx.AsyncClient(
        base_url="http://10.0.0.5:8000/v1",
        headers={"authorization": "Bearer sk-upstream"},
        transport=httpx.MockTransport(upstream),
    )
    seen, handler = recorder()
    try:
        got = fetch("http://10.0.0.5:8000/files/a.png", handler, trusted=TrustedOrigin.of(client))
    finally:
        asyncio.run(client.aclose())
    assert got == PNG
    assert upstream_seen[0].headers["authorization"] == "Bearer sk-upstream"  # private, but its own origin
    (other,) = seen
    assert other.headers["host"] == "cdn.example" and "authorization" not in other.headers


@pytest.mark.parametrize("url", ["https://10.0.0.5:8000/a.png", "http://10.0.0.5:8001/a.png"])
def test_another_scheme_or_port_on_the_upstreams_host_is_not_its_origin(url: str) -> None:
    client = httpx.AsyncClient(
        base_url="http://10.0.0.5:8000/v1", transport=httpx.MockTransport(lambda r: httpx.Response(500))
    )
    try:
        with pytest.raises(MediaFetchRefused, match="private"):
            fetch(url, recorder()[1], trusted=TrustedOrigin.of(client))
    finally:
        asyncio.run(client.aclose())


def test_the_next_checked_address_is_tried_when_connecting_fails() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.host == "2606:4700::1111":
            raise httpx.ConnectError("no route to host")
        return httpx.Response(200, content=PNG)

    seen, handler = recorder(respond)
    assert fetch("https://images.example/a.png", handler, Resolver(["2606:4700::1111", PUBLIC])) == PNG
    assert [r.url.host for r in seen] == ["2606:4700::1111", PUBLIC]
    assert all(r.extensions["sni_hostname"] == "images.example" for r in seen)


def test_an_ip_literal_is_checked_and_needs_no_resolver() -> None:
    resolver = Resolver()
    seen, handler = recorder()
    assert fetch(f"https://{PUBLIC}/a.png", handler, resolver) == PNG
    assert resolver.calls == [] and "sni_hostname" not in seen[0].extensions
