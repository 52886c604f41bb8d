"""End to end: every upstream fault ends cleanly and is audited; image URLs are fetched safely.

The official openai client talks to a started gateway whose upstream is the scriptable faulty server
(fault_upstream.py). A second instance of that server is an image host on another origin; its request
log shows what credentials reached it. Deadlines are short here (1 s idle, 4 s per request) so that the
deadline cases run in seconds; a second gateway runs with the default media fetch policy.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import HERE, create_key, free_port, hegui_env, hegui_server, running

from hegui.records.audit import AuditEntry, iter_entries
from hegui.records.db import make_engine

pytestmark = pytest.mark.e2e

UPSTREAM_KEY = "sk-upstream-secret-0123456789"
LABEL = "\n\n【AI生成】"  # the bundled policy's explicit label, at the end of every answer
TERM = "hegui-forbidden-demo"  # the longest deny-listed term: streams hold back len - 1 characters
POLICY = """
version = "faults"
{gateway}
[[upstreams]]
name = "fault"
type = "openai"
base_url = "http://127.0.0.1:{port}/v1"
api_key_env = "FAULT_UPSTREAM_KEY"
models = ["fault-model"]
read_timeout = 10.0
total_timeout = 10.0
connect_timeout = 1.0
max_retries = 0
breaker_failures = 100000

[[checks]]
name = "demo-denylist"
type = "denylist"
terms = ["演示违禁词", "{term}"]
"""
SHORT = """
[gateway]
request_deadline = 4.0
stream_idle_timeout = 1.0
max_n = 4
media_max_bytes = 1048576
media_timeout = 3.0
media_max_redirects = 2
media_allow_networks = ["127.0.0.0/8"]
"""


@dataclass(frozen=True)
class Setup:
    strict: str  # base URL of the gateway with short deadlines and loopback allowed for media
    default: str  # base URL of the gateway with the default [gateway] policy
    key: str
    key_default: str
    db: Path
    db_default: str
    upstream: str  # the fault upstream's origin
    images: str  # the image host's origin (another port: another origin)
    upstream_log: Path
    images_log: Path


def _server(port: int, log: Path) -> Any:
    return running(
        [sys.executable, str(HERE / "fault_upstream.py"), str(port)],
        f"http://127.0.0.1:{port}/healthz",
        {"FAULT_LOG": str(log)},
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("faults")
    up_port, img_port, gw_port, gw2_port = free_port(), free_port(), free_port(), free_port()
    envs = []
    for name, gateway in (("strict", SHORT), ("default", "")):
        policy = root / f"{name}.toml"
        policy.write_text(POLICY.format(gateway=gateway, port=up_port, term=TERM), encoding="utf-8")
        envs.append(hegui_env(root / name, policy) | {"FAULT_UPSTREAM_KEY": UPSTREAM_KEY})
    keys = [create_key(env) for env in envs]
    up_log, img_log = root / "upstream.jsonl", root / "images.jsonl"
    with (
        _server(up_port, up_log),
        _server(img_port, img_log),
        hegui_server(gw_port, envs[0], root / "strict.log"),
        hegui_server(gw2_port, envs[1], root / "default.log"),
    ):
        yield Setup(
            f"http://127.0.0.1:{gw_port}/v1",
            f"http://127.0.0.1:{gw2_port}/v1",
            keys[0],
            keys[1],
            root / "strict" / "hegui.db",
            str(root / "default" / "hegui.db"),
            f"http://127.0.0.1:{up_port}",
            f"http://127.0.0.1:{img_port}",
            up_log,
            img_log,
        )
        for opened in _CLIENTS.values():
            opened.close()
        _CLIENTS.clear()


_CLIENTS: dict[tuple[str, str], OpenAI] = {}


def client(s: Setup, *, default: bool = False) -> OpenAI:
    """One client per gateway for the module (closed at its end: no sockets left to the collector)."""
    base, key = (s.default, s.key_default) if default else (s.strict, s.key)
    if (base, key) not in _CLIENTS:
        _CLIENTS[base, key] = OpenAI(base_url=base, api_key=key, max_retries=0, timeout=15.0)
    return _CLIENTS[base, key]


class Audit:
    """The audit entries written after this point (the gateway records them before it answers)."""

    def __init__(self, db: Path | str) -> None:
        self.url = f"sqlite:///{db}"
        self.start = len(self._all())

    def _all(self) -> list[AuditEntry]:
        engine = make_engine(self.url)
        try:
            return list(iter_entries(engine))
        finally:
            engine.dispose()

    def new(self) -> list[AuditEntry]:
        return self._all()[self.start :]

    def steps(self) -> list[tuple[str, str, str | None]]:
        return [(e.stage, e.action, json.loads(e.detail).get("error")) for e in self.new()]


def chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> str:
    if content is not None:
        delta["content"] = content
    body = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fault-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return "data: " + json.dumps(body)


WHOLE = {
    "id": "x",
    "object": "chat.completion",
    "created": 1,
    "model": "fault-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
}


def stream(s: Setup, fault: dict[str, Any]) -> tuple[str, openai.APIError | None, float]:
    """What the client received, the error it raised (None: a normal end), and how long it took."""
    started, parts = time.monotonic(), []
    try:
        for piece in client(s).chat.completions.create(
            model="fault-model",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_body={"x_fault": fault},
        ):
            parts += [c.delta.content or "" for c in piece.choices]
    except openai.APIError as exc:
        return "".join(parts), exc, time.monotonic() - started
    return "".join(parts), None, time.monotonic() - started


def error_code(exc: openai.APIError | None) -> str | None:
    assert exc is not None, "the stream ended as if it were whole"
    body = exc.body
    assert isinstance(body, dict), body
    return str(body.get("code"))


TEXT = "The quick brown fox jumps over the lazy dog, and then it runs far away."
STREAM_FAULTS = {
    "choices is a list of numbers": (
        [chunk(role="assistant"), 'data: {"choices": [5]}'],
        "upstream_malformed",
    ),
    "choices is a string": ([chunk(role="assistant"), 'data: {"choices": "zzz"}'], "upstream_malformed"),
    "event is not JSON": ([chunk("Hello"), "data: {nope"], "upstream_malformed"),
    "HTML sent as event-stream": (
        ["<!doctype html>", "<html><body>Bad gateway</body></html>"],
        "upstream_malformed",
    ),
    "whole answer inside the stream": (["data: " + json.dumps(WHOLE), "data: [DONE]"], "upstream_malformed"),
    "tool call is not an object": ([chunk(tool_calls=[7])], "upstream_malformed"),
    "role is a number": ([chunk(role="assistant"), chunk(role=5)], "upstream_malformed"),
    "error event mid-stream": (
        [chunk("Hello"), 'data: {"error": {"message": "overloaded", "type": "server_error"}}'],
        "upstream_error",
    ),
    "closed without [DONE]": (
        [chunk(role="assistant"), chunk(TEXT), chunk(finish="stop")],
        "upstream_incomplete",
    ),
}


@pytest.mark.parametrize("name", list(STREAM_FAULTS))
def test_stream_fault_ends_with_an_error_event_and_is_audited(setup: Setup, name: str) -> None:
    events, code = STREAM_FAULTS[name]
    audit = Audit(setup.db)
    _, exc, took = stream(setup, {"events": events})
    assert error_code(exc) == code
    assert took < 5
    steps = audit.steps()
    assert steps == [("input", "allow", None), ("output", "error", code)], steps
    detail = json.loads(audit.new()[-1].detail)
    assert detail["fault"] == "upstream" and detail["message"]
    assert "client_disconnected" not in detail


def test_text_held_back_is_not_released_on_a_fault(setup: Setup) -> None:
    """The inspector holds back len(TERM) - 1 characters; a stream that breaks off never releases them."""
    received, exc, _ = stream(setup, {"events": [chunk(role="assistant"), chunk(TEXT)]})
    assert error_code(exc) == "upstream_incomplete"
    assert received.endswith(LABEL)  # the text that did reach the user still carries the label
    released = received.removesuffix(LABEL)
    assert TEXT.startswith(released)
    assert len(released) <= len(TEXT) - (len(TERM) - 1)


def test_the_same_text_with_done_is_released_whole(setup: Setup) -> None:
    received, exc, _ = stream(
        setup, {"events": [chunk(role="assistant"), chunk(TEXT), chunk(finish="stop"), "data: [DONE]"]}
    )
    assert exc is None
    assert received.startswith(TEXT)


def test_pings_do_not_hold_a_stream_open(setup: Setup) -> None:
    audit = Audit(setup.db)
    _, exc, took = stream(setup, {"events": [chunk(role="assistant")] + [": ping"] * 200, "delay": 0.1})
    assert error_code(exc) == "upstream_timeout"
    assert "stream_idle_timeout" in str(exc)
    assert 1.0 <= took < 3.0
    assert audit.steps()[-1] == ("output", "error", "upstream_timeout")


def test_a_stream_that_keeps_sending_stops_at_the_request_deadline(setup: Setup) -> None:
    audit = Audit(setup.db)
    _, exc, took = stream(setup, {"events": [chunk("")] * 200, "delay": 0.3})
    assert error_code(exc) == "upstream_timeout"
    assert "request_deadline" in str(exc)
    assert 3.5 <= took < 6.0
    assert audit.steps()[-1] == ("output", "error", "upstream_timeout")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", "<html><body>502 Bad Gateway</body></html>"),
        ("application/json", json.dumps(WHOLE)),
        ("application/json", "{not json"),
    ],
)
def test_a_stream_answered_with_something_else_is_502(setup: Setup, content_type: str, body: str) -> None:
    audit = Audit(setup.db)
    received, exc, _ = stream(setup, {"body": body, "content_type": content_type})
    assert received == ""
    assert isinstance(exc, openai.APIStatusError) and exc.status_code == 502
    assert error_code(exc) == "upstream_malformed"
    assert audit.steps() == [("input", "allow", None), ("upstream", "error", "upstream_malformed")]


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("application/json", '{"choices": "zzz"}', "upstream_malformed"),
        ("application/json", '{"choices": [5]}', "upstream_malformed"),
        ("application/json", '{"choices": []}', "upstream_malformed"),
        (
            "application/json",
            '{"object": "chat.completion", "choices": [{"message": {"content": 5}}]}',
            "upstream_malformed",
        ),
        ("text/html", "<!doctype html><title>oops</title>", "upstream_malformed"),
        ("application/json", "{not json", "upstream_malformed"),
        ("application/json", '{"error": {"message": "model overloaded"}}', "upstream_error"),
    ],
)
def test_a_bad_whole_answer_is_502_and_audited(setup: Setup, content_type: str, body: str, code: str) -> None:
    audit = Audit(setup.db)
    with pytest.raises(openai.APIStatusError) as err:
        client(setup).chat.completions.create(
            model="fault-model",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"x_fault": {"body": body, "content_type": content_type}},
        )
    assert err.value.status_code == 502
    assert err.value.body["code"] == code  # type: ignore[index]
    assert audit.steps() == [("input", "allow", None), ("upstream", "error", code)]


@pytest.mark.parametrize("streamed", [False, True])
def test_a_redirect_from_the_upstream_is_502_and_not_followed(setup: Setup, streamed: bool) -> None:
    """An upstream that answers 307 is not followed to where it points (upstream_send.py): the client
    gets a 502 that names the new address, the upstream is asked once, the new address never."""
    audit = Audit(setup.db)
    moved = f"{setup.upstream}/v1/moved/chat/completions"
    fault = {"status": 307, "location": moved, "body": json.dumps(WHOLE), "content_type": "application/json"}
    with pytest.raises(openai.APIStatusError) as err:
        client(setup).chat.completions.create(
            model="fault-model",
            messages=[{"role": "user", "content": "hi"}],
            stream=streamed,
            extra_body={"x_fault": fault},
        )
    assert err.value.status_code == 502
    assert error_code(err.value) == "upstream_error"
    assert f"a redirect to {moved}" in err.value.message
    assert audit.steps() == [("input", "allow", None), ("upstream", "error", "upstream_error")]
    assert _requests(setup.upstream_log, "/v1/moved/chat/completions") == []


def test_a_whole_answer_past_the_request_deadline_is_504(setup: Setup) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as err:
        client(setup).chat.completions.create(
            model="fault-model",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"x_fault": {"body": json.dumps(WHOLE), "delay": 8}},
        )
    assert err.value.status_code == 504
    assert 3.5 <= time.monotonic() - started < 6.0


# -- images given as URLs -----------------------------------------------------------------------------


def _requests(log: Path, path: str) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [e for e in entries if e["path"] == path]


def generate(s: Setup, url: str, *, default: bool = False, **kw: Any) -> Any:
    answer = {"created": 1, "data": [{"url": url}]}
    return client(s, default=default).images.generate(
        model="fault-model",
        prompt="a blue square",
        extra_body={"x_fault": {"body": json.dumps(answer), "content_type": "application/json"}},
        **kw,
    )


def test_an_image_on_another_host_gets_no_credentials(setup: Setup) -> None:
    result = generate(setup, f"{setup.images}/img/other-host.png")
    assert result.data and result.data[0].b64_json
    (seen,) = _requests(setup.images_log, "/img/other-host.png")
    assert "authorization" not in seen["headers"]
    assert UPSTREAM_KEY not in json.dumps(seen)
    # The upstream itself did get its key (the image request went there with it).
    assert _requests(setup.upstream_log, "/v1/images/generations")[-1]["headers"]["authorization"] == (
        f"Bearer {UPSTREAM_KEY}"
    )


def test_an_image_on_the_upstreams_own_origin_is_fetched_with_its_key(setup: Setup) -> None:
    result = generate(setup, f"{setup.upstream}/img/own-origin.png", default=False)
    assert result.data[0].b64_json
    (seen,) = _requests(setup.upstream_log, "/img/own-origin.png")
    assert seen["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"


def test_a_redirect_from_the_upstream_to_another_host_drops_the_key(setup: Setup) -> None:
    target = f"{setup.images}/img/after-redirect.png"
    result = generate(setup, f"{setup.upstream}/redirect?to={target}")
    assert result.data[0].b64_json
    (seen,) = _requests(setup.images_log, "/img/after-redirect.png")
    assert "authorization" not in seen["headers"]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata: link-local
        "http://10.1.2.3/img.png",  # private
        "http://[::ffff:10.1.2.3]/img.png",  # private, inside IPv6
        "http://0.0.0.0/img.png",
        "file:///etc/passwd",
        "http://user:pass@127.0.0.1/img.png",
    ],
)
def test_image_urls_outside_the_address_policy_are_refused(setup: Setup, url: str) -> None:
    audit = Audit(setup.db)
    with pytest.raises(openai.APIStatusError) as err:
        generate(setup, url)
    assert err.value.status_code == 502
    assert err.value.body["code"] in ("media_fetch_refused",)  # type: ignore[index]
    assert audit.steps() == [("input", "allow", None), ("upstream", "error", "media_fetch_refused")]


def test_a_redirect_into_a_refused_network_is_refused(setup: Setup) -> None:
    with pytest.raises(openai.APIStatusError) as err:
        generate(setup, f"{setup.images}/redirect?to=http://169.254.169.254/latest/")
    assert err.value.body["code"] == "media_fetch_refused"  # type: ignore[index]
    assert "169.254.169.254" in err.value.message


def test_a_loopback_image_url_is_refused_by_default(setup: Setup) -> None:
    audit = Audit(setup.db_default)
    with pytest.raises(openai.APIStatusError) as err:
        generate(setup, f"{setup.images}/img/refused-by-default.png", default=True)
    assert err.value.status_code == 502
    assert err.value.body["code"] == "media_fetch_refused"  # type: ignore[index]
    assert "loopback" in err.value.message
    assert _requests(setup.images_log, "/img/refused-by-default.png") == []  # never connected
    assert audit.steps() == [("input", "allow", None), ("upstream", "error", "media_fetch_refused")]


@pytest.mark.parametrize("declared", [True, False])
def test_an_image_over_the_size_limit_is_refused(setup: Setup, declared: bool) -> None:
    query = "bytes=3000000" + ("" if declared else "&length=0")
    with pytest.raises(openai.APIStatusError) as err:
        generate(setup, f"{setup.images}/img/big.png?{query}")
    assert err.value.status_code == 502
    assert err.value.body["code"] == "media_fetch_refused"  # type: ignore[index]
    assert "media_max_bytes" in err.value.message


# -- bounds on n and size -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "param"),
    [
        ({"n": 10**9}, "n"),
        ({"n": -3}, "n"),
        ({"n": 0}, "n"),
        ({"n": 5}, "n"),  # over this gateway's max_n = 4
        ({"size": "99999x99999"}, "size"),
        ({"size": "1024x1024; drop"}, "size"),
    ],
)
def test_image_counts_and_sizes_are_bounded(setup: Setup, kw: dict[str, Any], param: str) -> None:
    before = len(_requests(setup.upstream_log, "/v1/images/generations"))
    with pytest.raises(openai.BadRequestError) as err:
        client(setup).images.generate(model="fault-model", prompt="a cat", **kw)
    assert err.value.body["param"] == param  # type: ignore[index]
    assert len(_requests(setup.upstream_log, "/v1/images/generations")) == before  # nothing sent


@pytest.mark.parametrize("n", [10**9, -3, 5])
def test_chat_n_is_bounded(setup: Setup, n: int) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client(setup).chat.completions.create(
            model="fault-model", messages=[{"role": "user", "content": "hi"}], n=n
        )
    assert err.value.body["param"] == "n"  # type: ignore[index]


# -- the other endpoints ---------------------------------------------------------------------------------


def test_a_bad_completions_chunk_ends_the_stream_with_an_error(setup: Setup) -> None:
    good = {"object": "text_completion", "choices": [{"index": 0, "text": "Hello", "finish_reason": None}]}
    audit = Audit(setup.db)
    with pytest.raises(openai.APIError) as err:
        for _ in client(setup).completions.create(
            model="fault-model",
            prompt="hi",
            stream=True,
            extra_body={"x_fault": {"events": ["data: " + json.dumps(good), 'data: {"choices": [5]}']}},
        ):
            pass
    assert isinstance(err.value.body, dict) and err.value.body["code"] == "upstream_malformed"
    assert audit.steps() == [("input", "allow", None), ("output", "error", "upstream_malformed")]


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("completions", '{"object": "text_completion", "choices": "zzz"}'),
        ("embeddings", '{"object": "list", "data": "zzz"}'),
        ("embeddings", '{"object": "list", "data": [{"index": 0, "embedding": ["a"]}]}'),
        ("images", '{"data": [{"url": 5}]}'),
    ],
)
def test_bad_whole_answers_on_every_endpoint_are_502(setup: Setup, endpoint: str, body: str) -> None:
    audit = Audit(setup.db)
    fault = {"x_fault": {"body": body, "content_type": "application/json"}}
    with pytest.raises(openai.APIStatusError) as err:
        if endpoint == "completions":
            client(setup).completions.create(model="fault-model", prompt="hi", extra_body=fault)
        elif endpoint == "embeddings":
            client(setup).embeddings.create(model="fault-model", input="hi", extra_body=fault)
        else:
            client(setup).images.generate(model="fault-model", prompt="a cat", extra_body=fault)
    assert err.value.status_code == 502
    assert err.value.body["code"] == "upstream_malformed"  # type: ignore[index]
    assert audit.steps() == [("input", "allow", None), ("upstream", "error", "upstream_malformed")]
