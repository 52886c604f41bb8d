"""The pictures of an image answer: their bytes (decoded, or fetched under the media fetch policy) and
their labels. No HTTP of hegui's own here: the route is media.py, the request's path exchange.py."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from hegui.errors import UpstreamError
from hegui.gateway.fetch import FetchPolicy, MediaFetcher, TrustedOrigin
from hegui.gateway.labelling import Labeller
from hegui.gateway.upstream import Upstream
from hegui.policy import GatewayPolicy


def label_file(data: bytes, name: str, labeller: Labeller, produce_id: str, *, explicit: bool) -> bytes:
    """``data`` with the implicit label (and, when ``explicit``, the visible or audible one)."""
    from hegui.label.files import label_bytes

    return label_bytes(data, name, labeller.implicit(produce_id), explicit=explicit, policy=labeller.policy)


async def image_bytes(upstream: Upstream, gateway: GatewayPolicy, item: dict[str, Any]) -> bytes:
    """One image item's bytes: its ``b64_json`` decoded, or its URL fetched — with the upstream's
    credentials only from the upstream's own origin, every other URL under the media fetch policy."""
    if isinstance(item.get("b64_json"), str):
        try:
            return base64.b64decode(item["b64_json"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UpstreamError(f"upstream {upstream.name!r} sent an image that is not base64") from exc
    url = item.get("url")
    if not isinstance(url, str):
        raise UpstreamError(f"upstream {upstream.name!r} sent an image with neither b64_json nor a URL")
    async with MediaFetcher(FetchPolicy.from_gateway(gateway)) as fetcher:
        return await fetcher.fetch(url, TrustedOrigin.of(upstream.client))


async def generate(
    upstream: Upstream, gateway: GatewayPolicy, body: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[bytes]]:
    """The upstream's image answer, its items and their bytes."""
    answer = await upstream.post_json("/images/generations", body)
    items = answer.get("data")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UpstreamError(f"upstream {upstream.name!r} answered without a list of images")
    return answer, items, [await image_bytes(upstream, gateway, item) for item in items]


def labelled_items(items: list[dict[str, Any]], labelled: list[bytes]) -> list[dict[str, Any]]:
    """The answer's items with the labelled pictures as ``b64_json`` (URLs are not passed on)."""
    out = []
    for item, image in zip(items, labelled, strict=True):
        kept = {k: v for k, v in item.items() if k not in ("url", "b64_json")}
        out.append(kept | {"b64_json": base64.b64encode(image).decode("ascii")})
    return out
