"""End to end: the official openai client against a started gateway (uvicorn on loopback)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from hegui.guard.refusals import RefusalCatalog
from hegui.records.audit import find_by_request, verify_chain
from hegui.records.db import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import script

from conftest import Gateway

pytestmark = pytest.mark.e2e

TERM = "演示违禁词"
TEXT = f"前文{TERM}后文"
LABEL = "\n\n【AI生成】"  # the bundled policy's explicit label, at the end of every answer


def unlabelled(text: str) -> str:
    assert text.endswith(LABEL), f"no explicit label at the end of {text!r}"
    return text.removesuffix(LABEL)


STOP = RefusalCatalog().notice("output_stopped")  # the default end of a stopped stream


def generated_before_stop(text: str) -> str:
    """The generated text of a stopped stream. It ends with the stop text; generated text before it, if
    any, carries the explicit label, and a stream that released none carries no label at all."""
    assert text.endswith(STOP), f"no stop text at the end of {text!r}"
    body = text.removesuffix(STOP)
    if not body:
        return ""
    assert body.endswith(LABEL + "\n\n"), f"generated text without its label in {text!r}"
    return body.removesuffix(LABEL + "\n\n")


def client(gw: Gateway, **kw: object) -> OpenAI:
    return OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0, **kw)  # type: ignore[arg-type]


def stream_text(gw: Gateway, model: str, content: str, **extra: object) -> tuple[str, str | None, str]:
    out, finish, rid = [], None, ""
    stream = client(gw).chat.completions.create(
        model=model, messages=[{"role": "user", "content": content}], stream=True, extra_body=extra or None
    )
    for chunk in stream:
        rid = chunk.id
        for choice in chunk.choices:
            if choice.delta.content:
                out.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
    return "".join(out), finish, rid


def audit_actions(gw: Gateway, request_id: str) -> list[tuple[str, str]]:
    engine = make_engine(f"sqlite:///{gw.data_dir / 'hegui.db'}")
    try:
        return [(e.stage, e.action) for e in find_by_request(engine, request_id)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("model", ["hegui-demo", "fake-model"])
def test_chat_non_streaming(gateway: Gateway, model: str) -> None:
    answer = client(gateway).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "你好"}]
    )
    assert answer.choices[0].finish_reason == "stop"
    assert "你好" in (answer.choices[0].message.content or "")
    assert answer.id.startswith("chatcmpl-hg")
    assert audit_actions(gateway, answer.id) == [("input", "allow"), ("output", "allow")]


@pytest.mark.parametrize("model", ["hegui-demo", "fake-model"])
def test_chat_streaming(gateway: Gateway, model: str) -> None:
    text, finish, rid = stream_text(gateway, model, "流式你好")
    assert finish == "stop"
    assert "流式你好" in text
    assert audit_actions(gateway, rid) == [("input", "allow"), ("output", "allow")]


def test_deny_listed_input_is_refused(gateway: Gateway) -> None:
    answer = client(gateway).chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": f"请说{TERM}"}]
    )
    assert answer.choices[0].finish_reason == "content_filter"
    assert TERM not in (answer.choices[0].message.content or "")
    assert audit_actions(gateway, answer.id) == [("input", "refuse")]


def test_deny_listed_input_is_refused_in_a_stream(gateway: Gateway) -> None:
    text, finish, rid = stream_text(gateway, "fake-model", "x hegui-FORBIDDEN-demo y")
    assert finish == "content_filter"
    assert "forbidden" not in text.lower()
    assert audit_actions(gateway, rid) == [("input", "refuse")]


def test_term_split_across_user_turns_is_refused(gateway: Gateway) -> None:
    answer = client(gateway).chat.completions.create(
        model="fake-model",
        messages=[
            {"role": "user", "content": "演示违"},
            {"role": "assistant", "content": "嗯"},
            {"role": "user", "content": "禁词"},
        ],
    )
    assert answer.choices[0].finish_reason == "content_filter"


def test_deny_listed_output_is_never_released_non_streaming(gateway: Gateway) -> None:
    answer = client(gateway).chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"x_script": script(chunks=[TEXT])},
    )
    assert answer.choices[0].finish_reason == "content_filter"
    assert TERM not in (answer.choices[0].message.content or "")
    assert audit_actions(gateway, answer.id) == [("input", "allow"), ("output", "refuse")]


@pytest.mark.parametrize("cut", range(1, len(TEXT)))
def test_deny_listed_output_split_in_two_is_never_released(gateway: Gateway, cut: int) -> None:
    chunks = [TEXT[:cut], TEXT[cut:]]
    text, finish, rid = stream_text(gateway, "fake-model", "hi", x_script=script(chunks=chunks))
    assert finish == "content_filter"
    assert TERM[0] not in text, "no character of the term may be released"
    assert "前文".startswith(generated_before_stop(text))
    assert audit_actions(gateway, rid) == [("input", "allow"), ("output", "refuse")]


def test_deny_listed_output_one_character_per_chunk(gateway: Gateway) -> None:
    text, finish, _ = stream_text(gateway, "fake-model", "hi", x_script=script(chunks=list(TEXT)))
    assert finish == "content_filter"
    assert "前文".startswith(generated_before_stop(text))


def test_clean_output_in_many_chunks_arrives_whole(gateway: Gateway) -> None:
    clean = "这是一段没有问题的回答，共二十几个字而已。"
    text, finish, _ = stream_text(gateway, "fake-model", "hi", x_script={"chunks": list(clean)})
    assert (text, finish) == (clean + LABEL, "stop")


def test_upstream_down_is_502_within_the_timeout(gateway: Gateway) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as err:
        client(gateway).chat.completions.create(
            model="down-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert err.value.status_code == 502
    assert err.value.body["code"] == "upstream_unavailable"  # type: ignore[index]
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_hanging_is_504_within_the_timeout(gateway: Gateway, stream: bool) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as err:
        client(gateway).chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": "hi"}],
            stream=stream,
            extra_body={"x_script": {"hang": True}},
        )
    assert err.value.status_code == 504
    assert time.monotonic() - started < 3.0 + 2.0


def test_upstream_500_is_502(gateway: Gateway) -> None:
    with pytest.raises(openai.APIStatusError) as err:
        client(gateway).chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"x_script": {"status": 500}},
        )
    assert err.value.status_code == 502


def test_models_lists_every_routed_model(gateway: Gateway) -> None:
    ids = {m.id for m in client(gateway).models.list()}
    assert ids == {"hegui-demo", "fake-model", "down-model"}


def test_wrong_key_is_401(gateway: Gateway) -> None:
    bad = OpenAI(base_url=gateway.base_url, api_key="hg-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="hegui-demo", messages=[{"role": "user", "content": "hi"}])


def test_audit_chain_verifies_after_the_session(gateway: Gateway) -> None:
    engine = make_engine(f"sqlite:///{gateway.data_dir / 'hegui.db'}")
    try:
        assert verify_chain(engine).entries > 0
    finally:
        engine.dispose()
    out = subprocess.run(
        [str(Path(sys.executable).parent / "hegui"), "audit", "verify"],
        env={**os.environ, **gateway.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("audit chain OK")
