"""The guard-model check: asks a guard LLM that the user runs (Qwen3Guard-Gen, Llama Guard) for a verdict.

The model is reached through an OpenAI-compatible ``/chat/completions`` API (vLLM, SGLang, Ollama,
llama.cpp) with a synchronous httpx client and a timeout; the gateway may call `inspect` from a worker
thread, and one `httpx.Client` is safe to share between threads. Its answer is parsed by the parser of
the model's output format. Anything other than a well-formed answer (a timeout, a refused connection, an
HTTP error, an answer that does not parse) raises `CheckFailed`: the text is refused, never passed
unchecked. The check needs the whole text (horizon None). It must never retry silently past its
timeout, and never log the text it sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from hegui.errors import CheckFailed
from hegui.guard.types import Action, Context, Finding, Stage

Severity = Literal["safe", "controversial", "unsafe"]
OutputFormat = Literal["qwen3guard", "llama_guard"]


class GuardOutputError(ValueError):
    """The guard model answered something its format's parser does not recognise."""


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    severity: Severity
    #: The model's own category names or codes ("Violent", "S10").
    categories: tuple[str, ...]
    #: Qwen3Guard's "Refusal:" line for response moderation; None when absent.
    refusal: bool | None = None


_QWEN_SAFETY = re.compile(r"Safety:\s*(Safe|Unsafe|Controversial)\b", re.IGNORECASE)
_QWEN_CATEGORIES = re.compile(r"Categories:\s*([^\n]*)", re.IGNORECASE)
_QWEN_REFUSAL = re.compile(r"Refusal:\s*(Yes|No)\b", re.IGNORECASE)


def parse_qwen3guard(output: str) -> GuardVerdict:
    """``Safety: Unsafe`` / ``Categories: Violent, PII`` / optional ``Refusal: No``."""
    safety = _QWEN_SAFETY.search(output)
    if safety is None:
        raise GuardOutputError(f"no 'Safety:' line in Qwen3Guard output {output[:80]!r}")
    severity: Severity = safety.group(1).lower()  # type: ignore[assignment]
    cats = _QWEN_CATEGORIES.search(output)
    names = [c.strip() for c in cats.group(1).split(",")] if cats else []
    categories = tuple(c for c in names if c and c.lower() != "none")
    refusal = _QWEN_REFUSAL.search(output)
    return GuardVerdict(severity, categories, None if refusal is None else refusal.group(1).lower() == "yes")


_LLAMA_CODE = re.compile(r"^S\d{1,2}$")


def parse_llama_guard(output: str) -> GuardVerdict:
    """``safe``, or ``unsafe`` and a line of category codes (``S1,S10``)."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if not lines or lines[0].lower() not in ("safe", "unsafe"):
        raise GuardOutputError(f"Llama Guard output does not start with safe/unsafe: {output[:80]!r}")
    if lines[0].lower() == "safe":
        return GuardVerdict("safe", ())
    codes = tuple(c.strip().upper() for c in lines[1].split(",")) if len(lines) > 1 else ()
    bad = [c for c in codes if not _LLAMA_CODE.match(c)]
    if bad:
        raise GuardOutputError(f"unknown Llama Guard category codes {bad}")
    return GuardVerdict("unsafe", codes)


PARSERS: dict[str, Callable[[str], GuardVerdict]] = {
    "qwen3guard": parse_qwen3guard,
    "llama_guard": parse_llama_guard,
}

#: Qwen3Guard-Gen categories → GB/T 45654 Annex A.
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

#: Llama Guard 3 and 4 hazard codes (MLCommons taxonomy) → GB/T 45654 Annex A.
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
    "S14": "A.1h",  # code interpreter abuse
}

DEFAULT_CATEGORY_MAPS: dict[str, dict[str, str]] = {
    "qwen3guard": QWEN3GUARD_CATEGORIES,
    "llama_guard": LLAMA_GUARD_CATEGORIES,
}


class GuardModelCheck:
    """One call to the guard model per inspected text."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        model: str,
        output_format: OutputFormat = "qwen3guard",
        moderate: Literal["prompt", "response"] = "prompt",
        api_key: str | None = None,
        timeout: float = 10.0,
        stages: Iterable[Stage] = (Stage.INPUT,),
        action: Action = Action.REFUSE,
        controversial_action: Action | None = None,
        fallback_category: str = "A.1h",
        category_map: Mapping[str, str] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if output_format not in PARSERS:
            raise ValueError(f"unknown guard output format {output_format!r}; known: {sorted(PARSERS)}")
        if timeout <= 0:
            raise ValueError("the guard-model timeout must be positive")
        self.name = name
        self.stages = frozenset(stages)
        self.horizon: int | None = None
        self.version = f"guard-model:{output_format}:{model}"
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.moderate = moderate
        self.action = action
        self.controversial_action = action if controversial_action is None else controversial_action
        self.fallback_category = fallback_category
        self.category_map = {**DEFAULT_CATEGORY_MAPS[output_format], **(category_map or {})}
        self._parse = PARSERS[output_format]
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout), headers=headers)

    def close(self) -> None:
        self._client.close()

    def _messages(self, text: str, ctx: Context) -> list[dict[str, str]]:
        if self.moderate == "prompt":
            return [{"role": "user", "content": text}]
        # Response moderation wants the prompt too; the session memory's last turn is the best we have.
        turns = ctx.memory.recent_turns(1) if ctx.memory is not None else ()
        return [
            {"role": "user", "content": turns[-1] if turns else ""},
            {"role": "assistant", "content": text},
        ]

    def classify(self, text: str, ctx: Context) -> GuardVerdict:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self._messages(text, ctx),
            "temperature": 0,
            "max_tokens": 128,
        }
        try:
            response = self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise CheckFailed(f"guard model {self.name!r} timed out: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise CheckFailed(f"guard model {self.name!r} unreachable: {exc!r}") from exc
        if response.status_code != 200:
            raise CheckFailed(f"guard model {self.name!r} answered HTTP {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
            if not isinstance(content, str):
                raise TypeError("message content is not a string")
            return self._parse(content)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise CheckFailed(f"guard model {self.name!r} gave an unusable answer: {exc}") from exc

    def inspect(self, text: str, ctx: Context) -> list[Finding]:
        if not text.strip():
            return []
        verdict = self.classify(text, ctx)
        if verdict.severity == "safe":
            return []
        action = self.action if verdict.severity == "unsafe" else self.controversial_action
        categories = verdict.categories or ("",)
        found: dict[str, Finding] = {}
        for cat in categories:
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
                1.0,
                f"guard model {self.model}: {verdict.severity}" + (f" ({cat})" if cat else ""),
            )
        return list(found.values())
