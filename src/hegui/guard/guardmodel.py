"""The guard-model check: asks a guard LLM that the user runs (Qwen3Guard-Gen, Llama Guard 3) for a verdict.

The model is reached through an OpenAI-compatible ``/chat/completions`` API (vLLM, SGLang, Ollama,
llama.cpp) with a synchronous httpx client; the gateway may call `inspect` from a worker thread, and one
`httpx.Client` is safe to share between threads. Both model families take the *conversation*: a user
prompt alone (prompt moderation) or a user prompt and the assistant's answer (response moderation, the
answer judged with its question, from ``Context.prompt``). Their answers have fixed formats, parsed here
strictly:

- Qwen3Guard-Gen: ``Safety: Safe|Unsafe|Controversial`` / ``Categories: Violent, PII`` (or ``None``) and,
  for response moderation, ``Refusal: Yes|No``;
- Llama Guard 3: ``safe``, or ``unsafe`` and a line of hazard codes ``S1,S10`` (S1–S13 for the 1B
  model, S14 "code interpreter abuse" for the 8B).

Anything other than a well-formed answer (a timeout, a refused connection, an HTTP error, an answer that
does not parse, an unknown category) raises `CheckFailed`: the text is refused, never passed unchecked.
The check needs the whole text (horizon None); it may declare ``judges_at = "sentence"`` to be asked
at every sentence end of a stream (a call per sentence). It must never retry silently past its timeout,
and never log the text it sends.

Findings carry tier ``"model"`` and a score: P(not safe) read from the log-probabilities of the verdict
token when the server returns them (``logprobs = true``), else 1.0 for unsafe and
``controversial_score`` for controversial.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

from hegui.errors import CheckFailed
from hegui.guard.types import Action, Context, Finding, JudgesAt, Stage

Severity = Literal["safe", "controversial", "unsafe"]
OutputFormat = Literal["qwen3guard", "llama_guard"]
#: "auto": response moderation when the context holds the user's prompt (the output stage), else prompt.
Moderate = Literal["auto", "prompt", "response"]
#: How message content is sent: a string, or a list of text parts (what Llama Guard 3 1B's own chat
#: template expects when the server does not convert).
ContentFormat = Literal["string", "parts"]

#: The longest answer accepted from the guard model; its real answers are a few dozen bytes.
MAX_ANSWER_BYTES = 64 * 1024


class GuardOutputError(ValueError):
    """The guard model answered something its format's parser does not recognise."""


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    severity: Severity
    #: The model's own category names or codes ("Violent", "S10").
    categories: tuple[str, ...]
    #: Qwen3Guard's "Refusal:" line for response moderation; None when absent.
    refusal: bool | None = None


#: Qwen3Guard-Gen categories → GB/T 45654 Annex A. ``Jailbreak`` appears in prompt moderation only.
QWEN3GUARD_CATEGORIES: dict[str, str] = {
    "Violent": "A.1f",
    "Non-violent Illegal Acts": "A.1h",
    "Sexual Content or Sexual Acts": "A.1f",
    "PII": "A.4f",
    "Suicide & Self-Harm": "A.4a",
    "Unethical Acts": "A.2i",
    "Politically Sensitive Topics": "A.1b",
    "Copyright Violation": "A.3a",
    "Jailbreak": "A.1h",
}

#: Llama Guard 3 hazard codes (MLCommons taxonomy) → GB/T 45654 Annex A.
LLAMA_GUARD_CATEGORIES: dict[str, str] = {
    "S1": "A.1f",  # violent crimes
    "S2": "A.1h",  # non-violent crimes
    "S3": "A.1f",  # sex-related crimes
    "S4": "A.1f",  # child sexual exploitation
    "S5": "A.4c",  # defamation
    "S6": "A.5a",  # specialized advice
    "S7": "A.4e",  # privacy
    "S8": "A.3a",  # intellectual property
    "S9": "A.1d",  # indiscriminate weapons
    "S10": "A.2i",  # hate
    "S11": "A.4a",  # suicide and self-harm
    "S12": "A.1f",  # sexual content
    "S13": "A.1g",  # elections
    "S14": "A.1h",  # code interpreter abuse (8B only)
}

DEFAULT_CATEGORY_MAPS: dict[str, dict[str, str]] = {
    "qwen3guard": QWEN3GUARD_CATEGORIES,
    "llama_guard": LLAMA_GUARD_CATEGORIES,
}

_QWEN_NAMES = {name.lower(): name for name in QWEN3GUARD_CATEGORIES}
_QWEN_LINE = re.compile(r"(Safety|Categories|Refusal):\s*(.*)", re.IGNORECASE)
_QWEN_SEVERITY = {"safe": "safe", "unsafe": "unsafe", "controversial": "controversial"}
_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)


def parse_qwen3guard(output: str) -> GuardVerdict:
    """``Safety: Unsafe`` / ``Categories: Violent, PII`` / optional ``Refusal: No``, in that order.

    Strict: an unknown line, category or value, a missing ``Categories:`` line, a category on a safe
    verdict, or ``None`` mixed with categories is an error (the check then fails closed)."""
    lines = [line.strip() for line in _THINK.sub("", output).strip().splitlines() if line.strip()]
    fields: dict[str, str] = {}
    for line in lines:
        m = _QWEN_LINE.fullmatch(line)
        if m is None:
            raise GuardOutputError(f"unexpected line in Qwen3Guard output: {line[:80]!r}")
        key = m.group(1).lower()
        if key in fields:
            raise GuardOutputError(f"repeated {m.group(1)!r} line in Qwen3Guard output")
        fields[key] = m.group(2).strip()
    if list(fields)[:2] != ["safety", "categories"]:
        raise GuardOutputError(f"Qwen3Guard output lacks 'Safety:' then 'Categories:': {output[:80]!r}")
    severity = _QWEN_SEVERITY.get(fields["safety"].lower())
    if severity is None:
        raise GuardOutputError(f"unknown Qwen3Guard safety level {fields['safety'][:40]!r}")
    names = [c.strip() for c in fields["categories"].split(",")]
    if [n.lower() for n in names] == ["none"]:
        categories: tuple[str, ...] = ()
    else:
        unknown = [n for n in names if n.lower() not in _QWEN_NAMES]
        if unknown:
            raise GuardOutputError(f"unknown Qwen3Guard categories {unknown}")
        categories = tuple(dict.fromkeys(_QWEN_NAMES[n.lower()] for n in names))
    if severity == "safe" and categories:
        raise GuardOutputError(f"Qwen3Guard output is safe but names categories {list(categories)}")
    refusal: bool | None = None
    if "refusal" in fields:
        value = fields["refusal"].lower()
        if value not in ("yes", "no"):
            raise GuardOutputError(f"Qwen3Guard 'Refusal:' must be Yes or No, not {fields['refusal'][:20]!r}")
        refusal = value == "yes"
    return GuardVerdict(severity, categories, refusal)  # type: ignore[arg-type]


_LLAMA_CODE = re.compile(r"S(?:[1-9]|1[0-4])")


def parse_llama_guard(output: str) -> GuardVerdict:
    """``safe``, or ``unsafe`` and a line of hazard codes (``S1,S10``); nothing else."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if not lines or lines[0].lower() not in ("safe", "unsafe"):
        raise GuardOutputError(f"Llama Guard output does not start with safe/unsafe: {output[:80]!r}")
    if lines[0].lower() == "safe":
        if len(lines) > 1:
            raise GuardOutputError(f"Llama Guard output says safe and more: {output[:80]!r}")
        return GuardVerdict("safe", ())
    if len(lines) > 2:
        raise GuardOutputError(f"Llama Guard output has more than two lines: {output[:80]!r}")
    codes = tuple(c.strip().upper() for c in lines[1].split(",")) if len(lines) > 1 else ()
    bad = [c for c in codes if not _LLAMA_CODE.fullmatch(c)]
    if bad:
        raise GuardOutputError(f"unknown Llama Guard category codes {bad}")
    return GuardVerdict("unsafe", tuple(dict.fromkeys(codes)))


PARSERS: dict[str, Callable[[str], GuardVerdict]] = {
    "qwen3guard": parse_qwen3guard,
    "llama_guard": parse_llama_guard,
}


def _verdict_offset(output_format: str, content: str) -> int | None:
    """Where the verdict word (Safe/Unsafe/…, safe/unsafe) starts in the answer."""
    if output_format == "qwen3guard":
        m = re.search(r"Safety:\s*", content)
        return m.end() if m else None
    stripped = len(content) - len(content.lstrip())
    return stripped if stripped < len(content) else None


def unsafe_probability(
    output_format: str, content: str, logprobs: Sequence[Mapping[str, Any]]
) -> float | None:
    """P(not safe) at the verdict token: 1 − the probability of the alternatives that read "safe".

    ``logprobs`` is the OpenAI ``choices[0].logprobs.content`` list (token, logprob, top_logprobs).
    None when the tokens do not spell the answer or the verdict token has no alternatives."""
    offset = _verdict_offset(output_format, content)
    if offset is None or not isinstance(logprobs, list) or not all(isinstance(t, dict) for t in logprobs):
        return None
    if "".join(str(t.get("token", "")) for t in logprobs) != content:
        return None
    pos = 0
    for entry in logprobs:
        token = str(entry.get("token", ""))
        if pos <= offset < pos + len(token):
            if token[: offset - pos].strip():
                return None  # the token starts with something other than space before the word
            alternatives = entry.get("top_logprobs")
            if not isinstance(alternatives, list) or not alternatives:
                return None
            try:
                p_safe = sum(
                    math.exp(float(a["logprob"]))
                    for a in alternatives
                    if str(a.get("token", "")).strip().lower() == "safe"
                )
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
                return None
            return min(1.0, max(0.0, 1.0 - p_safe))
        pos += len(token)
    return None


class GuardModelCheck:
    """One call to the guard model per inspected text (per sentence end with ``judges_at="sentence"``)."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        model: str,
        output_format: OutputFormat = "qwen3guard",
        moderate: Moderate = "auto",
        api_key: str | None = None,
        timeout: float = 10.0,
        stages: Iterable[Stage] = (Stage.INPUT,),
        action: Action = Action.REFUSE,
        controversial_action: Action | None = None,
        controversial_score: float = 0.5,
        fallback_category: str = "A.1h",
        category_map: Mapping[str, str] | None = None,
        logprobs: bool = False,
        content_format: ContentFormat = "string",
        judges_at: JudgesAt = "end",
        settles_at: int = 0,
        client: httpx.Client | None = None,
    ) -> None:
        if output_format not in PARSERS:
            raise ValueError(f"unknown guard output format {output_format!r}; known: {sorted(PARSERS)}")
        if timeout <= 0:
            raise ValueError("the guard-model timeout must be positive")
        if not 0.0 <= controversial_score <= 1.0:
            raise ValueError("controversial_score must be between 0 and 1")
        self.name = name
        self.stages = frozenset(stages)
        self.horizon: int | None = None
        self.judges_at: JudgesAt = judges_at
        if settles_at < 0:
            raise ValueError("settles_at must be 0 or more characters")
        #: With judges_at = "sentence": a refusal of a shorter prefix holds the stream (hegui.guard.stream).
        self.settles_at = settles_at
        #: Every inspection is an HTTP call (up to ``timeout`` seconds): never on an event loop.
        self.blocking = True
        self.version = f"guard-model:{output_format}:{model}"
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.output_format = output_format
        self.moderate = moderate
        self.action = action
        self.controversial_action = action if controversial_action is None else controversial_action
        self.controversial_score = controversial_score
        self.fallback_category = fallback_category
        self.category_map = {**DEFAULT_CATEGORY_MAPS[output_format], **(category_map or {})}
        self.logprobs = logprobs
        self.content_format = content_format
        self.timeout = timeout
        self._parse = PARSERS[output_format]
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout), headers=headers)

    def close(self) -> None:
        self._client.close()

    def _content(self, text: str) -> str | list[dict[str, str]]:
        return [{"type": "text", "text": text}] if self.content_format == "parts" else text

    def mode(self, ctx: Context) -> Literal["prompt", "response"]:
        if self.moderate == "auto":
            return "response" if ctx.prompt is not None else "prompt"
        return self.moderate

    def messages(self, text: str, ctx: Context) -> list[dict[str, Any]]:
        """The conversation the guard model judges: the text alone as the user's turn, or the user's
        prompt and the text as the assistant's answer."""
        if self.mode(ctx) == "prompt":
            return [{"role": "user", "content": self._content(text)}]
        prompt = ctx.prompt
        if prompt is None and ctx.memory is not None:  # no prompt given: the session's last turn
            turns = ctx.memory.recent_turns(1)
            prompt = turns[-1] if turns else None
        return [
            {"role": "user", "content": self._content(prompt or "")},
            {"role": "assistant", "content": self._content(text)},
        ]

    def _post(self, body: dict[str, Any]) -> bytes:
        """The answer's bytes, within ``timeout`` seconds for the whole call (checked as it arrives)."""
        deadline = time.monotonic() + self.timeout
        try:
            with self._client.stream("POST", self.url, json=body) as response:
                if response.status_code != 200:
                    raise CheckFailed(f"guard model {self.name!r} answered HTTP {response.status_code}")
                data = bytearray()
                for piece in response.iter_bytes():
                    data += piece
                    if len(data) > MAX_ANSWER_BYTES:
                        raise CheckFailed(
                            f"guard model {self.name!r} answered more than {MAX_ANSWER_BYTES} bytes"
                        )
                    if time.monotonic() > deadline:
                        raise CheckFailed(f"guard model {self.name!r} timed out after {self.timeout:g} s")
                return bytes(data)
        except httpx.TimeoutException as exc:
            raise CheckFailed(f"guard model {self.name!r} timed out: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise CheckFailed(f"guard model {self.name!r} unreachable: {exc!r}") from exc

    def call(self, text: str, ctx: Context) -> tuple[GuardVerdict, float | None]:
        """The model's verdict on the text, and P(not safe) when log-probabilities came with it."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self.messages(text, ctx),
            "temperature": 0,
            "max_tokens": 64,
        }
        if self.logprobs:
            body |= {"logprobs": True, "top_logprobs": 5}
        raw = self._post(body)
        try:
            choice = orjson.loads(raw)["choices"][0]
            content = choice["message"]["content"]
            if not isinstance(content, str):
                raise TypeError("message content is not a string")
            verdict = self._parse(content)
            logprobs = choice.get("logprobs") if self.logprobs else None
            tokens = logprobs.get("content") if isinstance(logprobs, dict) else None
            p = unsafe_probability(self.output_format, content, tokens) if tokens else None
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise CheckFailed(f"guard model {self.name!r} gave an unusable answer: {exc}") from exc
        return verdict, p

    def classify(self, text: str, ctx: Context) -> GuardVerdict:
        return self.call(text, ctx)[0]

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        if not text.strip():
            return []
        verdict, p_unsafe = self.call(text, ctx)
        if verdict.severity == "safe":
            return []
        action = self.action if verdict.severity == "unsafe" else self.controversial_action
        if p_unsafe is not None:
            score, source = p_unsafe, "P(not safe) from the verdict token's log-probabilities"
        else:
            score = 1.0 if verdict.severity == "unsafe" else self.controversial_score
            source = f"score of a {verdict.severity} verdict"
        judged = "the answer with its question" if self.mode(ctx) == "response" else "the text"
        found: dict[str, Finding] = {}
        for cat in verdict.categories or ("",):
            risk = self.category_map.get(cat, self.fallback_category)
            if risk in found:
                continue
            found[risk] = Finding(
                self.name,
                risk,
                0,
                len(text),
                text,
                action,
                round(score, 4),
                f"guard model {self.model} judged {judged}: {verdict.severity}"
                + (f" ({cat})" if cat else "")
                + (", the answer refuses" if verdict.refusal else "")
                + f"; {source}",
                tier="model",
            )
        return list(found.values())
