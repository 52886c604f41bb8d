"""The guard-model check against a tiny local OpenAI-compatible server that answers like the real models.

The server stands in for Qwen3Guard-Gen or Llama Guard 3 served by vLLM or Ollama: it speaks the
``/v1/chat/completions`` shape and answers with the model's real output format (Qwen3Guard-Gen:
``Safety: …`` / ``Categories: …`` / ``Refusal: …``; Llama Guard 3: ``safe`` or ``unsafe`` and
``S1,S10``), chosen by a marker in the judged (last) message. ``RAW:`` makes it answer the rest of the
message verbatim (``\\n`` for a newline), for malformed answers. With ``logprobs`` requested it returns
per-token log-probabilities as vLLM does. No model runs here: what is tested is the conversation sent,
the parsers, the mapping to GB/T 45654, the score, and failing closed.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from hegui.errors import CheckFailed
from hegui.guard import Action, Context, Pipeline, Stage, StreamInspector
from hegui.guard.guardmodel import (
    GuardModelCheck,
    GuardOutputError,
    GuardVerdict,
    parse_llama_guard,
    parse_qwen3guard,
    unsafe_probability,
)

# What the stand-in answers, by a marker in the judged message: each model's real output format.
ANSWERS = {
    "SAFE": "Safety: Safe\nCategories: None",
    "VIOLENT": "Safety: Unsafe\nCategories: Violent",
    "TWO": "Safety: Unsafe\nCategories: PII, Politically Sensitive Topics",
    "MAYBE": "Safety: Controversial\nCategories: Unethical Acts",
    "REFUSES": "Safety: Safe\nCategories: None\nRefusal: Yes",
    "HELPS": "Safety: Unsafe\nCategories: Non-violent Illegal Acts\nRefusal: No",
    "LG_SAFE": "\n\nsafe",
    "LG_UNSAFE": "\n\nunsafe\nS10,S7",
}
#: P(safe) at the verdict token, when log-probabilities are asked for.
P_SAFE = 0.2


def _tokens(content: str) -> list[dict[str, Any]]:
    """Split like a tokenizer would (words, spaces and newlines apart), with alternatives at the verdict."""
    pieces: list[str] = []
    for part in content.replace("\n", "\x00\n\x00").replace(" ", "\x00 ").split("\x00"):
        if part:
            pieces.append(part)
    out = []
    for piece in pieces:
        word = piece.strip().lower()
        entry: dict[str, Any] = {"token": piece, "logprob": 0.0, "bytes": list(piece.encode())}
        if word in ("safe", "unsafe", "controversial"):
            p_other = 1 - P_SAFE
            alts = [(" Safe" if piece.startswith(" ") else "safe", P_SAFE)]
            alts.append((piece if word != "safe" else " Unsafe", p_other))
            entry["logprob"] = math.log(dict(alts).get(piece, P_SAFE))
            entry["top_logprobs"] = [{"token": t, "logprob": math.log(p)} for t, p in alts]
        else:
            entry["top_logprobs"] = [{"token": piece, "logprob": 0.0}]
        out.append(entry)
    return out


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:  # silence the stand-in's access log
        return

    def _send(self, payload: bytes, status: int = 200) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the check gave up on a slow answer, as it should

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        last = body["messages"][-1]["content"]
        text = last if isinstance(last, str) else "".join(p["text"] for p in last)
        if "SLOW" in text:
            time.sleep(0.6)
        if "HTTP500" in text:
            self._send(b'{"error": {"message": "boom"}}', 500)
            return
        if "NOTJSON" in text:
            self._send(b"<html>oops</html>")
            return
        if (
            "TRICKLE" in text
        ):  # headers at once, then a byte every 50 ms: each read is quick, the whole is not
            payload = json.dumps({"choices": [{"message": {"content": ANSWERS["SAFE"]}}]}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                for i in range(len(payload)):
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                return
            return
        if "HUGE" in text:
            content = "Safety: Safe\nCategories: None" + " " * 100_000
        elif "RAW:" in text:
            content = text.split("RAW:", 1)[1].replace("\\n", "\n")
        else:
            marker = next((k for k in sorted(ANSWERS, key=len, reverse=True) if k in text), "SAFE")
            content = ANSWERS[marker]
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content}}
        choice["finish_reason"] = "stop"
        if body.get("logprobs"):
            choice["logprobs"] = {"content": _tokens(content)}
        self._send(json.dumps({"object": "chat.completion", "choices": [choice]}).encode())


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


# -- Qwen3Guard-Gen ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello SAFE", []),
        ("hello VIOLENT", [("A.1f", Action.REFUSE, 1.0)]),
        ("hello TWO", [("A.4f", Action.REFUSE, 1.0), ("A.1b", Action.REFUSE, 1.0)]),
        ("hello MAYBE", [("A.2i", Action.LABEL, 0.5)]),
    ],
)
def test_qwen3guard_prompt_moderation(
    server: str, text: str, expected: list[tuple[str, Action, float]]
) -> None:
    check = _check(server, api_key="secret", controversial_action=Action.LABEL)
    found = check.inspect(text, Context())
    assert [(f.category, f.action, f.score) for f in found] == expected
    assert all((f.start, f.end, f.tier) == (0, len(text), "model") for f in found)
    sent = _Handler.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer secret"
    assert sent["body"]["model"] == "Qwen3Guard-Gen-0.6B"
    assert sent["body"]["temperature"] == 0
    assert sent["body"]["messages"] == [{"role": "user", "content": text}]
    assert "logprobs" not in sent["body"]
    check.close()


def test_qwen3guard_judges_an_answer_with_its_question(server: str) -> None:
    check = _check(server, stages=[Stage.INPUT, Stage.OUTPUT])
    ctx = Context(prompt="怎么开锁？")
    assert check.inspect("我不能帮你做这件事。REFUSES", ctx) == []
    assert _Handler.requests[-1]["body"]["messages"] == [
        {"role": "user", "content": "怎么开锁？"},
        {"role": "assistant", "content": "我不能帮你做这件事。REFUSES"},
    ]
    [finding] = check.inspect("第一步…… HELPS", ctx)
    assert (finding.category, finding.action, finding.tier) == ("A.1h", Action.REFUSE, "model")
    assert "with its question" in finding.explanation
    check.close()


def test_response_moderation_without_a_prompt_uses_the_sessions_last_turn(server: str) -> None:
    class Memory:
        def recent_turns(self, limit: int) -> list[str]:
            return ["the user's question"][-limit:]

        def violations(self) -> int:
            return 0

    check = _check(server, moderate="response", stages=[Stage.OUTPUT])
    check.inspect("answer SAFE", Context(memory=Memory()))
    assert _Handler.requests[-1]["body"]["messages"][0] == {"role": "user", "content": "the user's question"}
    check.inspect("answer SAFE", Context())
    assert _Handler.requests[-1]["body"]["messages"][0] == {"role": "user", "content": ""}
    check.close()


# -- Llama Guard 3 -----------------------------------------------------------------------------------


def test_llama_guard_prompt_and_response(server: str) -> None:
    check = _check(
        server, output_format="llama_guard", stages=[Stage.INPUT, Stage.OUTPUT], content_format="parts"
    )
    found = check.inspect("question LG_UNSAFE", Context())
    assert [(f.category, f.score, f.tier) for f in found] == [("A.2i", 1.0, "model"), ("A.4e", 1.0, "model")]
    assert _Handler.requests[-1]["body"]["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "question LG_UNSAFE"}]}
    ]
    assert check.inspect("answer LG_SAFE", Context(prompt="q")) == []
    assert [m["role"] for m in _Handler.requests[-1]["body"]["messages"]] == ["user", "assistant"]
    check.close()


# -- the score ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "text"), [("qwen3guard", "x VIOLENT"), ("llama_guard", "x LG_UNSAFE")])
def test_score_from_log_probabilities(server: str, fmt: str, text: str) -> None:
    check = _check(server, output_format=fmt, logprobs=True)
    found = check.inspect(text, Context())
    assert found and all(f.score == pytest.approx(1 - P_SAFE) for f in found)
    assert "log-probabilities" in found[0].explanation
    assert _Handler.requests[-1]["body"]["top_logprobs"] == 5
    check.close()


def test_unsafe_probability_needs_tokens_that_spell_the_answer() -> None:
    content = "Safety: Unsafe\nCategories: Violent"
    assert unsafe_probability("qwen3guard", content, _tokens(content)) == pytest.approx(1 - P_SAFE)
    assert unsafe_probability("qwen3guard", content, _tokens(content)[:-1]) is None
    assert unsafe_probability("llama_guard", "\n\nunsafe\nS1", _tokens("\n\nunsafe\nS1")) == pytest.approx(
        0.8
    )
    no_alternatives = [{"token": t["token"], "logprob": 0.0} for t in _tokens(content)]
    assert unsafe_probability("qwen3guard", content, no_alternatives) is None
    assert unsafe_probability("qwen3guard", content, "not a list") is None  # type: ignore[arg-type]


# -- failing closed ----------------------------------------------------------------------------------

MALFORMED = [
    ("qwen3guard", "RAW:I cannot help with that."),
    ("qwen3guard", "RAW:Safety: Unsafe"),  # no Categories line
    ("qwen3guard", "RAW:Safety: Maybe\\nCategories: None"),
    ("qwen3guard", "RAW:Safety: Unsafe\\nCategories: Violence"),  # not one of its categories
    ("qwen3guard", "RAW:Safety: Safe\\nCategories: Violent"),
    ("qwen3guard", "RAW:Safety: Unsafe\\nCategories: Violent\\nRefusal: Perhaps"),
    ("qwen3guard", "RAW:Safety: Unsafe\\nCategories: Violent\\nSafety: Safe"),
    ("qwen3guard", "RAW:"),
    ("llama_guard", "RAW:unsafe\\nS15"),
    ("llama_guard", "RAW:unsafe\\nO3"),
    ("llama_guard", "RAW:safe\\nS1"),
    ("llama_guard", "RAW:unsafe\\nS1\\nbecause"),
    ("llama_guard", "RAW:Safe."),
    ("llama_guard", "RAW:Safety: Safe\\nCategories: None"),  # the other model's format
    ("qwen3guard", "RAW:safe"),
]


@pytest.mark.parametrize(("fmt", "text"), MALFORMED)
def test_malformed_answers_fail_closed(server: str, fmt: str, text: str) -> None:
    check = _check(server, output_format=fmt)
    with pytest.raises(CheckFailed, match="unusable answer"):
        Pipeline([check], policy_version="t").run(Stage.INPUT, text, Context())
    check.close()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SLOW", "timed out"),
        ("TRICKLE", "timed out"),
        ("HTTP500", "HTTP 500"),
        ("NOTJSON", "unusable answer"),
        ("HUGE", "more than"),
    ],
)
def test_failures_fail_closed(server: str, text: str, message: str) -> None:
    check = _check(server, timeout=0.3)
    pipeline = Pipeline([check], policy_version="t")
    started = time.monotonic()
    with pytest.raises(CheckFailed, match=message):
        pipeline.run(Stage.INPUT, text, Context())
    assert time.monotonic() - started < 1.5  # the call is abandoned near its timeout, not retried
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


# -- in a stream, at sentence ends -------------------------------------------------------------------


def test_guard_model_at_sentence_ends_in_a_stream(server: str) -> None:
    check = _check(server, stages=[Stage.OUTPUT], judges_at="sentence")
    insp = StreamInspector(Pipeline([check], policy_version="t"), Stage.OUTPUT, Context(prompt="问题"))
    before = len(_Handler.requests)
    assert insp.feed("这是第一句。").release == ""  # judged only once a sentence has certainly ended
    assert insp.feed("然后是").release == "这是第一句。"
    step = insp.feed("VIOLENT 的内容。后")
    assert step.stopped and insp.verdict().action == Action.REFUSE
    judged = [r["body"]["messages"] for r in _Handler.requests[before:]]
    assert [m[1]["content"] for m in judged] == ["这是第一句。", "这是第一句。然后是VIOLENT 的内容。"]
    assert all(m[0] == {"role": "user", "content": "问题"} for m in judged)
    check.close()


def test_a_guard_models_early_verdict_holds_the_stream_when_it_settles_later(server: str) -> None:
    check = _check(server, stages=[Stage.OUTPUT], judges_at="sentence", settles_at=30)
    insp = StreamInspector(Pipeline([check], policy_version="t"), Stage.OUTPUT, Context(prompt="问题"))
    assert insp.feed("VIOLENT 的开头。").release == ""
    step = insp.feed("后面")  # unsafe at 12 characters (< 30): held, not stopped
    assert (step.release, step.stopped) == ("", False)
    step = insp.feed("还有很多很多很多很多很多很多很多很多很多很多的话。再")  # unsafe at 39 characters: stops
    assert step.stopped and insp.verdict().action == Action.REFUSE
    check.close()


# -- the parsers, on the real formats ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("Safety: Safe\nCategories: None", GuardVerdict("safe", ())),
        ("Safety: Unsafe\nCategories: Violent\nRefusal: No", GuardVerdict("unsafe", ("Violent",), False)),
        ("Safety: Controversial\nCategories: Jailbreak", GuardVerdict("controversial", ("Jailbreak",))),
        (
            "  Safety: Unsafe\nCategories: PII, Copyright Violation\nRefusal: Yes\n",
            GuardVerdict("unsafe", ("PII", "Copyright Violation"), True),
        ),
        ("Safety: Safe\nCategories: None\nRefusal: Yes", GuardVerdict("safe", (), True)),
        (
            "<think>\n\n</think>\n\nSafety: Unsafe\nCategories: Suicide & Self-Harm",
            GuardVerdict("unsafe", ("Suicide & Self-Harm",)),
        ),
        ("Safety: Unsafe\nCategories: None", GuardVerdict("unsafe", ())),
    ],
)
def test_parse_qwen3guard(output: str, expected: GuardVerdict) -> None:
    assert parse_qwen3guard(output) == expected


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("safe", GuardVerdict("safe", ())),
        ("\n\nsafe", GuardVerdict("safe", ())),
        ("\n\nunsafe\nS1", GuardVerdict("unsafe", ("S1",))),
        ("unsafe\nS2, S14", GuardVerdict("unsafe", ("S2", "S14"))),
        ("unsafe\nS13,S13", GuardVerdict("unsafe", ("S13",))),
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
        (parse_qwen3guard, "Categories: None\nSafety: Safe"),
        (parse_qwen3guard, "Safety: Unsafe\nCategories: Violent, None"),
        (parse_llama_guard, "maybe"),
        (parse_llama_guard, "unsafe\nO3"),
        (parse_llama_guard, "unsafe\nS0"),
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
    with pytest.raises(ValueError, match="controversial_score"):
        GuardModelCheck("g", base_url="http://x/v1", model="m", controversial_score=2)


def test_guard_model_check_type_in_a_policy(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hegui.errors import ConfigError
    from hegui.guard.types import judges_at
    from hegui.pipelines import build_pipeline
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

    both = (
        table
        + 'stages = ["input", "output"]\njudges_at = "sentence"\nlogprobs = true\ncontroversial_score = 0.7\n'
    )
    pipeline = build_pipeline(parse_policy(head + both, "t.toml"))
    [check] = pipeline.checks_for(Stage.OUTPUT)
    assert judges_at(check) == "sentence"
    pipeline.run(Stage.OUTPUT, "answer LG_SAFE", Context(prompt="question"))
    assert [m["content"] for m in _Handler.requests[-1]["body"]["messages"]] == ["question", "answer LG_SAFE"]
    with pytest.raises(ConfigError) as err:
        build_pipeline(parse_policy(head + table + 'judges_at = "paragraph"\n', "t.toml"))
    assert err.value.key == "checks[0].judges_at"
    [check] = build_pipeline(parse_policy(head + both + "settles_at = 300\n", "t.toml")).checks_for(
        Stage.OUTPUT
    )
    assert getattr(check, "settles_at", None) == 300
    with pytest.raises(ConfigError) as err:
        build_pipeline(parse_policy(head + table + "settles_at = -1\n", "t.toml"))
    assert err.value.key == "checks[0].settles_at"
