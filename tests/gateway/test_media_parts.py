"""Image and audio parts of a chat request (and images of the Responses and Messages APIs) under the
default ``[media]`` policy: refused, and the refusal says which setting would read them (issue 15: "keep refusing unless a local ASR is configured,
and say so"). The other choices run end to end: tests/e2e/test_image_edits_e2e.py (ocr, transcribe) and
tests/e2e/test_media_pass_e2e.py (pass_with_label)."""

from __future__ import annotations

import pytest
from tests.gateway.conftest import MakeClient


@pytest.mark.parametrize(
    ("part", "says"),
    [
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}, "image_parts = 'ocr'"),
        (
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
            "audio_parts = 'transcribe'",
        ),
    ],
)
def test_refused_by_default_and_the_refusal_names_the_setting(
    make_client: MakeClient, part: dict[str, object], says: str
) -> None:
    r = make_client().post(
        "/v1/chat/completions",
        json={"model": "hegui-demo", "messages": [{"role": "user", "content": [part]}]},
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "messages" and says in error["message"], error


def test_a_responses_image_part_is_refused_by_default(make_client: MakeClient) -> None:
    part = {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}
    r = make_client().post(
        "/v1/responses", json={"model": "hegui-demo", "input": [{"role": "user", "content": [part]}]}
    )
    assert r.status_code == 400, r.text
    assert "image_parts = 'ocr'" in r.json()["error"]["message"]


def test_a_stored_file_cannot_stand_for_an_image(make_client: MakeClient, base_policy: str) -> None:
    """With images taken, an input_image must carry its bytes or URL: a file id is nothing to read."""
    client = make_client(base_policy + '[media]\nimage_parts = "pass_with_label"\n')
    part = {"type": "input_image", "file_id": "file-123"}
    r = client.post(
        "/v1/responses", json={"model": "hegui-demo", "input": [{"role": "user", "content": [part]}]}
    )
    assert r.status_code == 400, r.text
    assert "file" in r.json()["error"]["message"]


def test_a_messages_image_block_is_refused_by_default(make_client: MakeClient) -> None:
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    r = make_client().post(
        "/v1/messages",
        json={"model": "hegui-demo", "max_tokens": 8, "messages": [{"role": "user", "content": [block]}]},
    )
    assert r.status_code == 400, r.text
    assert "image_parts = 'ocr'" in r.json()["error"]["message"]
