"""What an exchange hands back to its route: a whole answer or a stream of events, with their headers.

The exchange (exchange.py) decides, records and labels; these carry only the result, so a route turns
them into HTTP (routes.respond) and a surface rewrites them into its own API's shape (surfaces.py) without
reading a response back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WholeAnswer:
    """A JSON answer, already inspected, recorded and labelled."""

    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class StreamAnswer:
    """Server-sent events (each item one ``data:`` event), released as the output stage allows."""

    events: AsyncIterator[bytes]
    headers: dict[str, str]


Outcome = WholeAnswer | StreamAnswer


async def replay(events: Iterable[bytes]) -> AsyncIterator[bytes]:
    """Events known in advance (a refusal as a stream) as an event stream."""
    for event in events:
        yield event
