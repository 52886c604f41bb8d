"""The guard-model check against a tiny local HTTP server.

The server stands in for a guard model (Qwen3Guard-Gen or Llama Guard served by vLLM or similar): it
speaks the OpenAI ``/v1/chat/completions`` shape and answers with canned guard outputs chosen by the
text it receives. No model runs here; what is tested is the HTTP exchange, the parsers, the mapping to
the taxonomy and failing closed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from hegui.errors import CheckFailed
from hegui.guard import Action, Context, Pipeline, Stage
from hegui.guard.guardmodel import (
    GuardModelCheck,
    GuardOutputError,
    GuardVerdict,
    parse_llama_guard,
    parse_qwen3guard,
)

# What the stand-in answers, by a marker in the last message.
ANSWERS = {
    "SAFE": "Safety: Safe\nCategories: None",
    "VIOLENT": "Safety: Unsafe\nCategories: Violent",
    "TWO": "Safety: Unsafe\nCategories: PII, Politically Sensitive Topics",
    "MAYBE": "Safety: Controversial\nCategories: Unethical Acts",
    "LG_SAFE": "safe",
    "LG_UNSAFE": "unsafe\nS10,S7",
    "GARBAGE": "I am not sure what you mean.",
}


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:  # silence the stand-in's access log
        return

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        text = body["messages"][-1]["content"]
        if "SLOW" in text:
            time.sleep(0.6)
        if "HTTP500" in text:
            self.send_response(500)
            self.end_headers()
            return
        if "NOTJSON" in text:
            payload = b"<html>oops</html>"
        else:
            marker = next((k for k in sorted(ANSWERS, key=len, reverse=True) if k in text), "SAFE")
            payload = json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": ANSWERS[marker]}}]}
            )
            payload = payload.encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the check gave up on a slow answer, as it should


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def _check(url: str, **kw: Any) -> GuardModelCheck:
    return GuardModelCheck("guard", base_url=url, model="Qwen3Guard-Gen-0.6B", **kw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello SAFE", []),
        ("hello VIOLENT", [("A.1f", Action.REFUSE)]),
        ("hello TWO", [("A.4f", Action.REFUSE), ("A.1b", Action.REFUSE)]),
        ("hello MAYBE", [("A.2i", Action.LABEL)]),
    ],
)
def test_qwen3guard_verdicts(server: str, text: str, expected: list[tuple[str, Action]]) -> None:
    check = _check(server, api_key="secret", controversial_action=Action.LABEL)
    found = check.inspect(text, Context())
    assert [(f.category, f.action) for f in found] == expected
    assert all((f.start, f.end) == (0, len(text)) for f in found)
    sent = _Handler.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer secret"
    assert sent["body"]["model"] == "Qwen3Guard-Gen-0.6B"
    assert sent["body"]["messages"] == [{"role": "user", "content": text}]
    check.close()


def test_llama_guard_and_response_moderation(server: str) -> None:
    class Memory:
        def recent_turns(self, limit: int) -> list[str]:
            return ["the user's question"][-limit:]

        def violations(self) -> int:
            return 0

    check = _check(server, output_format="llama_guard", moderate="response", stages=[Stage.OUTPUT])
    found = check.inspect("answer LG_UNSAFE", Context(memory=Memory()))
    assert [f.category for f in found] == ["A.2i", "A.4e"]
    assert _Handler.requests[-1]["body"]["messages"] == [
        {"role": "user", "content": "the user's question"},
        {"role": "assistant", "content": "answer LG_UNSAFE"},
    ]
    assert check.inspect("answer LG_SAFE", Context()) == []
    check.close()


@pytest.mark.parametrize("text", ["SLOW", "HTTP500", "NOTJSON", "GARBAGE"])
def test_failures_fail_closed(server: str, text: str) -> None:
    check = _check(server, timeout=0.2)
    pipeline = Pipeline([check], policy_version="t")
    with pytest.raises(CheckFailed):
        pipeline.run(Stage.INPUT, text, Context())
    check.close()


def test_unreachable_guard_fails_closed() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    check = _check(f"http://127.0.0.1:{port}/v1", timeout=1.0)
    with pytest.raises(CheckFailed, match="unreachable"):
        check.inspect("anything", Context())
    check.close()


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("Safety: Safe\nCategories: None", GuardVerdict("safe", ())),
        ("Safety: Unsafe\nCategories: Violent\nRefusal: No", GuardVerdict("unsafe", ("Violent",), False)),
        ("Safety: Controversial\nCategories: Jailbreak", GuardVerdict("controversial", ("Jailbreak",))),
        (
            "  Safety: Unsafe\nCategories: PII, Copyright Violation\nRefusal: Yes",
            GuardVerdict("unsafe", ("PII", "Copyright Violation"), True),
        ),
    ],
)
def test_parse_qwen3guard(output: str, expected: GuardVerdict) -> None:
    assert parse_qwen3guard(output) == expected


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("safe", GuardVerdict("safe", ())),
        ("\n\nunsafe\nS1", GuardVerdict("unsafe", ("S1",))),
        ("unsafe\nS2, S14", GuardVerdict("unsafe", ("S2", "S14"))),
        ("unsafe", GuardVerdict("unsafe", ())),
    ],
)
def test_parse_llama_guard(output: str, expected: GuardVerdict) -> None:
    assert parse_llama_guard(output) == expected


@pytest.mark.parametrize(
    ("parser", "output"),
    [
        (parse_qwen3guard, "Safe"),
        (parse_qwen3guard, ""),
        (parse_llama_guard, "maybe"),
        (parse_llama_guard, "unsafe\nO3"),
        (parse_llama_guard, ""),
    ],
)
def test_parsers_reject_what_they_do_not_know(parser: Any, output: str) -> None:
    with pytest.raises(GuardOutputError):
        parser(output)


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="unknown guard output format"):
        GuardModelCheck("g", base_url="http://x/v1", model="m", output_format="shieldgemma")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        GuardModelCheck("g", base_url="http://x/v1", model="m", timeout=0)


def test_guard_model_check_type_in_a_policy(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hegui.errors import ConfigError
    from hegui.guard.registry import build_pipeline
    from hegui.policy import parse_policy

    head = '[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["m"]\n'
    table = (
        f'[[checks]]\nname = "g"\ntype = "guard_model"\nbase_url = "{server}"\nmodel = "lg"\n'
        'output_format = "llama_guard"\napi_key_env = "HEGUI_TEST_GUARD_KEY"\n'
    )
    with pytest.raises(ConfigError) as err:
        build_pipeline(parse_policy(head + table, "t.toml"))
    assert err.value.key == "checks[0].api_key_env"
    monkeypatch.setenv("HEGUI_TEST_GUARD_KEY", "k")
    pipeline = build_pipeline(parse_policy(head + table, "t.toml"))
    verdict = pipeline.run(Stage.INPUT, "x LG_UNSAFE", Context())
    assert verdict.stops and [f.category for f in verdict.findings] == ["A.2i", "A.4e"]
    assert _Handler.requests[-1]["auth"] == "Bearer k"
    assert pipeline.checks_for(Stage.OUTPUT) == ()
