"""The upstream pool's shards (upstream_pool.py): ``max_connections`` bounds them all together, a request
goes to a shard with a free connection (never waits while one has), one request at a time reuses one
connection, and a request that fails or a body that closes gives its shard's slot back."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_upstream_pool import WHOLE, LoopbackUpstream

from hegui.gateway.upstream_pool import SHARDS, PooledTransport


def _client(port: int, max_connections: int, pool_timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/v1",
        transport=PooledTransport(max_connections=max_connections),
        timeout=httpx.Timeout(5.0, pool=pool_timeout),
    )


@pytest.mark.parametrize(
    ("limit", "sizes"), [(1, [1]), (3, [1, 1, 1]), (100, [13, 13, 13, 13, 12, 12, 12, 12])]
)
def test_the_shards_share_max_connections(limit: int, sizes: list[int]) -> None:
    transport = PooledTransport(max_connections=limit)
    assert transport.shard_sizes == sizes
    assert sum(transport.shard_sizes) == limit and len(sizes) <= SHARDS


def test_one_request_at_a_time_keeps_one_connection() -> None:
    async def run() -> None:
        async with LoopbackUpstream() as server, _client(server.port, 100) as client:
            for _ in range(5):
                response = await client.post("/chat/completions", json={"model": "m"})
                assert response.json() == WHOLE
            assert server.connections == 1

    asyncio.run(run())


def test_a_request_never_waits_while_a_shard_has_a_free_connection() -> None:
    """Four connections in four shards: three held by open answers, the fourth request is answered at
    once; a fifth waits for the pool and times out (the bound holds); closing one answer frees its slot."""

    async def run() -> None:
        async with LoopbackUpstream() as server, _client(server.port, 4, pool_timeout=0.3) as client:
            held = []
            for _ in range(3):
                request = client.build_request("POST", "/chat/completions", json={"model": "m"})
                held.append(await client.send(request, stream=True))  # body not read: connection busy
            fourth = client.build_request("POST", "/chat/completions", json={"model": "m"})
            open_fourth = await asyncio.wait_for(client.send(fourth, stream=True), 2.0)
            assert server.connections == 4
            with pytest.raises(httpx.PoolTimeout):
                await client.post("/chat/completions", json={"model": "m"})
            await held[1].aread()  # read to its end and closed: its connection goes back to its shard
            await held[1].aclose()
            response = await asyncio.wait_for(client.post("/chat/completions", json={"model": "m"}), 2.0)
            assert response.json() == WHOLE
            assert server.connections == 4  # the freed connection was reused
            for r in (held[0], held[2], open_fourth):
                await r.aclose()

    asyncio.run(run())


def test_failed_requests_and_closed_bodies_give_their_slots_back() -> None:
    async def run() -> None:
        async with LoopbackUpstream() as server:
            port = server.port
        transport = PooledTransport(max_connections=2)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/v1", transport=transport) as client:
            for _ in range(5):  # nothing listens: every request fails to connect
                with pytest.raises(httpx.ConnectError):
                    await client.post("/chat/completions", json={"model": "m"})
            assert transport.in_flight == 0
        async with LoopbackUpstream() as server:
            transport = PooledTransport(max_connections=2)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{server.port}/v1", transport=transport
            ) as client:
                request = client.build_request("POST", "/chat/completions", json={"model": "m"})
                response = await client.send(request, stream=True)
                assert transport.in_flight == 1
                await response.aread()
                await response.aclose()
                await response.aclose()  # twice: counted once
                assert transport.in_flight == 0

    asyncio.run(run())
