"""Labels in the response path: explicit text label, implicit AIGC object in body and header, images."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from hegui.label.files import read_labels
from hegui.label.implicit import KEYS
from hegui.records.audit import find_by_request

LABELS_BOTH = """
[labels]
text_position = "both"
producer = "001191110102MACQD9K64010000"
"""


def chat(client: Any, content: str = "你好", stream: bool = False) -> Any:
    return client.post(
        "/v1/chat/completions",
        json={"model": "hegui-demo", "stream": stream, "messages": [{"role": "user", "content": content}]},
    )


def sse_chunks(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


def test_whole_answer_carries_both_labels(make_client: Any) -> None:
    client = make_client()
    response = chat(client)
    answer = response.json()
    content = answer["choices"][0]["message"]["content"]
    assert content.endswith("\n\n【AI生成】") and not content.startswith("【AI生成】")
    label = answer["AIGC"]
    assert list(label) == list(KEYS)
    assert label["ProduceID"] == label["PropagateID"] == answer["id"]
    assert label["Label"] == "1"
    assert json.loads(response.headers["x-aigc-label"]) == label
    assert [e.stage for e in find_by_request(client.app.state.hegui.engine, label["ProduceID"])] == [
        "input",
        "output",
    ]


def test_streamed_answer_carries_both_labels_at_start_and_end(make_client: Any, base_policy: str) -> None:
    client = make_client(policy=base_policy + LABELS_BOTH)
    response = chat(client, stream=True)
    chunks = sse_chunks(response.text)
    text = "".join(c["choices"][0].get("delta", {}).get("content") or "" for c in chunks if c.get("choices"))
    assert text.startswith("【AI生成】\n\n") and text.endswith("\n\n【AI生成】")
    header = json.loads(response.headers["x-aigc-label"])
    assert header["ContentProducer"] == "001191110102MACQD9K64010000"
    assert chunks[-1]["AIGC"] == header and header["ProduceID"] == chunks[0]["id"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_refused_input_is_not_labelled(make_client: Any) -> None:
    answer = chat(make_client(), content="演示违禁词").json()
    assert "AIGC" not in answer
    assert "AI生成" not in answer["choices"][0]["message"]["content"]


def test_explicit_text_label_can_be_switched_off_but_not_the_implicit_one(
    make_client: Any, base_policy: str
) -> None:
    client = make_client(policy=base_policy + "[labels]\nlabel_text_answers = false\n")
    answer = chat(client).json()
    assert "AI生成" not in answer["choices"][0]["message"]["content"]
    assert answer["AIGC"]["ProduceID"] == answer["id"]


def test_without_a_producer_labels_carry_the_demo_code_not_the_provider_name(
    make_client: Any, base_policy: str
) -> None:
    from hegui.label.producer import DEMO_PRODUCER

    answer = chat(make_client(policy=base_policy + '[provider]\nname = "某 公司"\n')).json()
    assert answer["AIGC"]["ContentProducer"] == DEMO_PRODUCER


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_generated_images_are_labelled(make_client: Any, response_format: str) -> None:
    client = make_client()
    response = client.post(
        "/v1/images/generations",
        json={
            "model": "hegui-demo",
            "prompt": "一只猫",
            "n": 2,
            "size": "320x200",
            "response_format": response_format,
        },
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert len(answer["data"]) == 2
    for item in answer["data"]:
        assert "url" not in item
        (label,) = read_labels(base64.b64decode(item["b64_json"]), "png")
        assert label.ok and label.values == answer["AIGC"]
    entries = find_by_request(client.app.state.hegui.engine, answer["AIGC"]["ProduceID"])
    assert [(e.stage, e.action) for e in entries] == [("input", "allow"), ("output", "allow")]


def test_image_prompt_is_inspected(make_client: Any) -> None:
    response = make_client().post(
        "/v1/images/generations", json={"model": "hegui-demo", "prompt": "画演示违禁词"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "content_filter"


def test_label_upload(make_client: Any) -> None:
    client = make_client()
    text = "一段由模型写成的文字。".encode()
    response = client.post("/hegui/api/label?filename=answer.md", content=text)
    assert response.status_code == 200
    (label,) = read_labels(response.content, "md")
    assert label.values["ProduceID"] == response.headers["x-hegui-request-id"]
    assert "【AI生成】" in response.content.decode()
    assert [e.stage for e in find_by_request(client.app.state.hegui.engine, label.values["ProduceID"])] == [
        "label"
    ]


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        ("", b"x", 400),
        ("?filename=a.xyz", b"plain bytes", 415),
        ("?filename=a.png&explicit=maybe", b"x", 400),
        ("?filename=a.png", b"", 400),
    ],
)
def test_label_upload_bad_input(make_client: Any, query: str, body: bytes, status: int) -> None:
    response = make_client().post(f"/hegui/api/label{query}", content=body)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_signed_labels_when_the_policy_asks(make_client: Any, base_policy: str, tmp_path: Any) -> None:
    from hegui.label.integrity import Sm2Key, verify

    key = Sm2Key.generate()
    key_file = tmp_path / "sm2.key"
    key_file.write_text(key.private, encoding="ascii")
    client = make_client(
        policy=base_policy + f'[labels]\nsign_reserved_code = true\nsm2_key_file = "{key_file}"\n'
    )
    response = chat(client)
    label = response.json()["AIGC"]
    assert json.loads(response.headers["x-aigc-label"]) == label
    check = verify(label, trusted_public=key.public)
    assert check.present and check.valid, check
    forged = label | {"ProduceID": "chatcmpl-someone-else"}
    assert not verify(forged, trusted_public=key.public).valid


def test_an_unreadable_signing_key_stops_the_start(make_client: Any, base_policy: str, tmp_path: Any) -> None:
    from hegui.errors import ConfigError

    with pytest.raises(ConfigError, match=r"labels\.sm2_key_file"):
        make_client(
            policy=base_policy + f'[labels]\nsign_reserved_code = true\nsm2_key_file = "{tmp_path}/nope"\n'
        )
