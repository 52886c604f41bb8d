"""The `frontend` key role (issue 12.9) against a started gateway: it may record agreement acceptance,
consent events and DSR submissions for its own tenant's users and read the current agreements; every
other route refuses it (403), model traffic through the `openai` client included."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import openai
import pytest
from servers import VENV_BIN, create_key, free_port, hegui_env, hegui_server

from hegui.gateway.http import FRONTEND_SCOPE

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Keys:
    base: str
    frontend: str
    admin: str
    other_admin: str
    client: str


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    root = tmp_path_factory.mktemp("frontend")
    env = hegui_env(root / "data")
    frontend, admin = create_key(env, "frontend"), create_key(env, "admin")
    other_admin = create_key_for(env, "other", "admin")
    port = free_port()
    with hegui_server(port, env, root / "hegui.log"):
        yield Keys(f"http://127.0.0.1:{port}", frontend, admin, other_admin, create_key(env))


def create_key_for(env: dict[str, str], tenant: str, role: str) -> str:
    out = subprocess.run(
        [str(VENV_BIN / "hegui"), "keys", "create", "--name", "e2e", "--role", role, "--tenant", tenant],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()[-1]


def call(
    keys: Keys, key: str, method: str, path: str, body: dict[str, object] | None = None
) -> httpx.Response:
    return httpx.request(
        method, keys.base + path, json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
    )


def test_the_frontend_records_what_its_users_do(keys: Keys) -> None:
    published = call(
        keys,
        keys.admin,
        "POST",
        "/hegui/api/agreements",
        {"kind": "service", "version": "v1", "text": "条款"},
    )
    assert published.status_code == 201, published.text
    current = call(keys, keys.frontend, "GET", "/hegui/api/agreements")
    assert current.status_code == 200 and current.json()["service"]["version"] == "v1"
    accepted = call(keys, keys.frontend, "POST", "/hegui/api/users/ann/agreements", {"kind": "service"})
    assert accepted.status_code == 201, accepted.text
    consent = call(keys, keys.frontend, "POST", "/hegui/api/users/ann/consent", {"granted": True})
    assert consent.status_code == 201 and consent.json()["event"]["source"] == "frontend"
    dsr = call(keys, keys.frontend, "POST", "/hegui/api/dsr", {"user": "ann", "kind": "access"})
    assert dsr.status_code == 201, dsr.text
    # What it wrote is its own tenant's: the admin of that tenant sees it, another tenant's admin does not.
    seen = call(keys, keys.admin, "GET", "/hegui/api/users/ann/consent").json()
    assert [e["source"] for e in seen["events"]] == ["frontend"]
    other = call(keys, keys.other_admin, "GET", "/hegui/api/users/ann/consent").json()
    assert other["events"] == []
    assert dsr.json()["tenant"] == "default"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/hegui/api/users/ann/verification", {"verified": True}),
        ("GET", "/hegui/api/users/ann/consent", None),
        ("GET", "/hegui/api/users/ann/sanctions", None),
        ("POST", "/hegui/api/users/ann/sanctions", {"level": "none", "by": "x", "reason": "y"}),
        ("POST", "/hegui/api/agreements", {"kind": "service", "version": "v2", "text": "新条款"}),
        ("GET", "/hegui/api/dsr", None),
        ("POST", "/hegui/api/dsr/1/complete", {}),
        ("POST", "/hegui/api/pool/exports", {"name": "x"}),
        ("GET", "/hegui/api/pool/exports/x/check", None),
        ("GET", "/v1/models", None),
        ("POST", "/v1/embeddings", {"model": "hegui-demo", "input": "你好"}),
    ],
)
def test_the_frontend_reaches_nothing_else(
    keys: Keys, method: str, path: str, body: dict[str, object] | None
) -> None:
    response = call(keys, keys.frontend, method, path, body)
    assert response.status_code == 403, (path, response.text)
    assert response.json()["error"]["message"] == FRONTEND_SCOPE


def test_the_frontend_key_is_no_model_key(keys: Keys) -> None:
    client = openai.OpenAI(base_url=keys.base + "/v1", api_key=keys.frontend, max_retries=0)
    with client, pytest.raises(openai.PermissionDeniedError, match="frontend key may only"):
        client.chat.completions.create(model="hegui-demo", messages=[{"role": "user", "content": "你好"}])


def test_a_client_key_may_not_do_what_a_frontend_key_may(keys: Keys) -> None:
    response = call(keys, keys.client, "POST", "/hegui/api/users/ann/consent", {"granted": True})
    assert (
        response.status_code == 403
        and response.json()["error"]["message"] == "This endpoint needs an admin key."
    )
