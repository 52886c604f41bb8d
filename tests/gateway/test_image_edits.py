"""/v1/images/edits and /v1/images/variations in-process: malformed multipart requests are 4xx before
anything reaches the upstream; a benign edit goes upstream as multipart with its file byte for byte."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from tests.gateway.conftest import MakeClient
from tests.gateway.test_bad_input_corpus import png_header


def png(width: int = 8, height: int = 8) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def seen() -> list[httpx.Request]:
    return []


@pytest.fixture
def client(make_client: MakeClient, seen: list[httpx.Request]):  # type: ignore[no-untyped-def]
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"created": 1, "data": [{"b64_json": base64.b64encode(png(256, 256)).decode()}]}
        )

    return make_client(mock=httpx.MockTransport(answer))


FIELDS = {"model": "mock-model", "prompt": "把背景换成海边"}


@pytest.mark.parametrize(
    ("fields", "files", "status", "param"),
    [
        ({"prompt": "x"}, {"image": ("a.png", png(), "image/png")}, 400, "model"),
        ({"model": "mock-model"}, {"image": ("a.png", png(), "image/png")}, 400, "prompt"),
        (FIELDS, {"mask": ("m.png", png(), "image/png")}, 400, "image"),
        (FIELDS, {"image": ("a.txt", b"not an image", "text/plain")}, 400, "image"),
        (
            FIELDS,
            {"image": ("a.png", png(), "image/png"), "other": ("b.png", png(), "image/png")},
            400,
            "other",
        ),
        (FIELDS | {"stream": "true"}, {"image": ("a.png", png(), "image/png")}, 400, "stream"),
        (FIELDS | {"n": "100"}, {"image": ("a.png", png(), "image/png")}, 400, "n"),
        (FIELDS, {"image": ("a.png", png_header(20000, 20000), "image/png")}, 413, None),
    ],
)
def test_bad_requests_never_reach_the_upstream(
    client,
    seen: list[httpx.Request],
    fields: dict[str, str],
    files: dict[str, object],
    status: int,
    param: str | None,
) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/v1/images/edits", data=fields, files=files)
    assert r.status_code == status, r.text
    if param is not None:
        assert r.json()["error"]["param"] == param
    assert seen == []


def test_json_is_not_a_form(client, seen: list[httpx.Request]) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/v1/images/edits", json=FIELDS)
    assert r.status_code == 400 and "multipart" in r.json()["error"]["message"]
    assert seen == []


def test_a_benign_edit_is_forwarded_as_multipart_and_labelled(client, seen: list[httpx.Request]) -> None:  # type: ignore[no-untyped-def]
    image = png(64, 48)
    r = client.post(
        "/v1/images/edits",
        data=FIELDS | {"size": "1024x1024"},
        files={"image": ("a.png", image, "image/png")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["b64_json"]
    (sent,) = seen
    assert sent.url.path == "/v1/images/edits"
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = sent.read()
    assert image in body and "把背景换成海边".encode() in body and b"application/json" not in body


def test_a_deny_listed_prompt_is_refused(client, seen: list[httpx.Request]) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/v1/images/edits",
        data=FIELDS | {"prompt": "写上演示违禁词"},
        files={"image": ("a.png", png(), "image/png")},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_filter"
    r = client.post(
        "/v1/images/variations",
        data={"model": "mock-model", "x": "演示违禁词"},
        files={"image": ("a.png", png(), "image/png")},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_filter"
    assert seen == []
