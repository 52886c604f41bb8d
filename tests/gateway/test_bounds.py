"""Bounds on n and size from the policy: a table of requests, each allowed or a 400 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from hegui.errors import RequestError
from hegui.gateway.bounds import check_bounds
from hegui.policy import GatewayPolicy

POLICY = GatewayPolicy(max_n=10, max_image_side=4096)


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("chat.completions", {}),
        ("chat.completions", {"n": 1}),
        ("chat.completions", {"n": 10}),
        ("completions", {"n": 2, "best_of": 10}),
        ("images.generations", {"n": 10, "size": "4096x1024"}),
        ("images.generations", {"size": "auto"}),
        ("images.generations", {"size": None, "n": None}),
        ("embeddings", {"n": 10**9}),  # no count on embeddings: the field is the upstream's business
    ],
)
def test_within_bounds(endpoint: str, body: dict[str, Any]) -> None:
    check_bounds(body, POLICY, endpoint)


@pytest.mark.parametrize(
    ("endpoint", "body", "param"),
    [
        ("images.generations", {"n": 10**9}, "n"),
        ("images.generations", {"n": -3}, "n"),
        ("images.generations", {"n": 0}, "n"),
        ("images.generations", {"n": 11}, "n"),
        ("images.generations", {"n": 2.0}, "n"),
        ("images.generations", {"n": True}, "n"),
        ("images.generations", {"n": "2"}, "n"),
        ("chat.completions", {"n": 11}, "n"),
        ("completions", {"best_of": 10**9}, "best_of"),
        ("images.generations", {"size": "4097x1024"}, "size"),
        ("images.generations", {"size": "0x0"}, "size"),
        ("images.generations", {"size": "-1x5"}, "size"),
        ("images.generations", {"size": "1024X1024"}, "size"),
        ("images.generations", {"size": 1024}, "size"),
        ("images.generations", {"size": "1024x1024\n"}, "size"),
    ],
)
def test_out_of_bounds_is_a_400_naming_the_field(endpoint: str, body: dict[str, Any], param: str) -> None:
    with pytest.raises(RequestError) as err:
        check_bounds(body, POLICY, endpoint)
    assert err.value.http_status == 400 and err.value.param == param
