"""Bounds on how much one request may ask for, from the policy (``[gateway] max_n``, ``max_image_side``).

A request for 10^9 images or 10^9 choices is not a generation request but a way to exhaust the upstream,
the gateway's memory (every answer is held and inspected) or the provider's bill; a negative ``n`` is
nonsense the upstream may read in its own way. Both are answered 400 before anything is sent upstream.
"""

from __future__ import annotations

import re
from typing import Any

from hegui.errors import RequestError
from hegui.policy import GatewayPolicy

_SIZE = re.compile(r"([1-9][0-9]{0,5})x([1-9][0-9]{0,5})")
#: The fields that multiply the answer, per endpoint.
_COUNTS = {
    "chat.completions": ("n",),
    "completions": ("n", "best_of"),
    "images.generations": ("n",),
    "images.edits": ("n",),
    "images.variations": ("n",),
}


def check_bounds(body: dict[str, Any], gateway: GatewayPolicy, endpoint: str) -> None:
    """Raise RequestError (400, naming the field) if the request asks for more than the policy allows."""
    for field in _COUNTS.get(endpoint, ()):
        value = body.get(field)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= gateway.max_n:
            raise RequestError(
                f"Invalid value for {field!r}: must be an integer from 1 to {gateway.max_n}.", param=field
            )
    if endpoint.startswith("images."):
        _check_size(body.get("size"), gateway.max_image_side)


def _check_size(size: Any, max_side: int) -> None:
    if size is None or size == "auto":
        return
    match = _SIZE.fullmatch(size) if isinstance(size, str) else None
    if match is None or max(int(match[1]), int(match[2])) > max_side:
        raise RequestError(
            f"Invalid value for 'size': must be 'auto' or WIDTHxHEIGHT with sides of at most {max_side}.",
            param="size",
        )
