"""The provider code written as ContentProducer (LBL-07), and hegui's demo code.

A code is 27 characters: ``00``, then 25 of ``0-9`` / ``A-Z``, where position 23 (counting from 1, so
index 22) is ``0``, ``1`` or ``2``. A well-formed example: ``001191110102MACQD9K64010000``
(position 23 is ``1``).

Until an operator configures their own code (``labels.producer``), hegui labels with ``DEMO_PRODUCER``:
well-formed, so labels parse everywhere, but reserved for demonstrations; `hegui label verify` reports it
as a warning ("demo code, not a real provider") and `hegui serve` warns at start. One rule for the
gateway and the CLI alike; nothing here ever writes another provider's code.
"""

from __future__ import annotations

import re

#: LBL-07: 27 characters, ``00`` + 25 of ``[0-9A-Z]``, position 23 in {0, 1, 2}.
PROVIDER_CODE = re.compile(r"^00[0-9A-Z]{20}[012][0-9A-Z]{4}$")
#: hegui's demonstration provider code: valid in form, never a real provider's.
DEMO_PRODUCER = "00HEGUIDEMO000000000000DEMO"
#: A well-formed code for documentation and examples (position 23 is "1").
EXAMPLE_PRODUCER = "001191110102MACQD9K64010000"

_ALPHABET = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def is_demo(code: str) -> bool:
    return code == DEMO_PRODUCER


def effective_producer(configured: str) -> str:
    """The code written into labels: the configured one, else the demo code."""
    return configured or DEMO_PRODUCER


def code_problem(code: object) -> str | None:
    """What is wrong with a provider code, in one sentence that names the first problem; None when it
    is well-formed."""
    if not isinstance(code, str):
        return f"a {type(code).__name__}, not a text of 27 characters"
    if PROVIDER_CODE.match(code):
        return None
    if len(code) != 27:
        return f"{len(code)} characters, a provider code has 27"
    if not code.startswith("00"):
        return f"starts with {code[:2]!r}, a provider code starts with '00'"
    for position, char in enumerate(code, start=1):
        if char not in _ALPHABET:
            return f"character {position} is {char!r}, only 0-9 and A-Z are allowed"
    return f"position 23 (counting from 1) is {code[22]!r}, it must be 0, 1 or 2"


def producer_warning(configured: str) -> str:
    """The start-up warning while no real provider code is configured ("" once one is)."""
    if configured and not is_demo(configured):
        return ""
    return (
        f"labels.producer is not set: labels carry hegui's demo provider code {DEMO_PRODUCER}, "
        "which is not a real provider; set your own 27-character code in [labels] producer"
    )
