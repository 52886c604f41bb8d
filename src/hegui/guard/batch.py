"""Many texts through one pipeline: the parsing and judging behind ``hegui check --batch``.

A batch is the decoded text of a file, one item per line, in one of two forms decided once per file:

* **lines**: every line is a text to judge, as it is (only the line break is removed);
* **jsonl**: every line is a JSON object: ``{"text": …}``, or for the output stage ``{"prompt": …,
  "response": …}`` (the prompt goes into `Context.prompt`; the response is judged).

*Auto-detection* (the default): the file is jsonl when its first non-blank line, stripped of
whitespace, starts with ``{``; otherwise lines. In a jsonl file every non-blank line must then be a
JSON object with a string under the stage's key, or the whole batch is rejected with `BatchError`
naming the line: a half-read batch would silently leave texts unjudged.

Blank lines (empty or whitespace only) are **skipped** in both forms: there is nothing to judge, and
no verdict is written for them. Line numbers are physical lines of the file, counted from 1, so a
verdict's ``line`` finds its text even when blank lines were skipped. Lines end at ``\\n`` only (a
trailing ``\\r`` is removed too); other Unicode line separators are part of the text.

Judging fails closed: a check that raises gives its item a `BatchVerdict` with action ``refuse`` and
the error recorded, and the batch goes on (`judge_all`). The benchmark
``benchmarks/guard_quality.py`` judges through `judge` as well, so its figures are the command's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from hegui.errors import RequestError
from hegui.guard.pipeline import Pipeline
from hegui.guard.types import Action, Context, Stage, Verdict

BatchFormat = Literal["auto", "lines", "jsonl"]
BATCH_FORMATS: tuple[str, ...] = ("auto", "lines", "jsonl")


class BatchError(RequestError):
    """The batch cannot be read: a malformed line in a jsonl file, a missing key. Names the line."""


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One text to judge: its physical line in the file, the text, and (output stage) the prompt."""

    line: int
    text: str
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class BatchVerdict:
    """The verdict on one item, or the error that stopped its checks (then the action is refuse)."""

    line: int
    action: Action
    verdict: Verdict | None
    error: str = ""

    @property
    def stops(self) -> bool:
        return self.action.stops

    def to_json(self) -> dict[str, Any]:
        """The fields of ``hegui check --json`` plus ``line`` (and ``error`` when the checks failed)."""
        if self.verdict is None:
            return {"line": self.line, "action": self.action.value, "findings": [], "error": self.error}
        return {"line": self.line, **self.verdict.to_json()}


def detect_format(lines: list[str]) -> Literal["lines", "jsonl"]:
    """jsonl when the first non-blank line starts with ``{`` (after whitespace); else lines."""
    for raw in lines:
        stripped = raw.strip()
        if stripped:
            return "jsonl" if stripped.startswith("{") else "lines"
    return "lines"


def split_lines(text: str) -> list[str]:
    """Physical lines: split at ``\\n`` only, a trailing ``\\r`` and a leading BOM removed."""
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final line break does not start another line
    return [line.removesuffix("\r") for line in lines]


def _string(obj: dict[str, Any], keys: tuple[str, ...], name: str, n: int) -> str | None:
    for key in keys:
        if key in obj:
            value = obj[key]
            if not isinstance(value, str):
                raise BatchError(f"{name} line {n}: {key!r} must be a string, not {type(value).__name__}")
            return value
    return None


def parse_batch(
    text: str, stage: Stage, *, fmt: BatchFormat = "auto", name: str = "<batch>"
) -> list[BatchItem]:
    """The items of a batch file's text. Raises `BatchError` naming ``name`` and the line.

    At the input stage a jsonl object gives its ``text`` (or, failing that, its ``prompt``); at the
    output stage its ``response`` (or ``text``) is judged and its ``prompt``, if any, is the context.
    Other keys are ignored.
    """
    lines = split_lines(text)
    form = detect_format(lines) if fmt == "auto" else fmt
    items: list[BatchItem] = []
    judged = ("response", "text") if stage == Stage.OUTPUT else ("text", "prompt")
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if form == "lines":
            items.append(BatchItem(n, line))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BatchError(f"{name} line {n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise BatchError(f"{name} line {n}: expected a JSON object, got {type(obj).__name__}")
        value = _string(obj, judged, name, n)
        if value is None:
            keys = " or ".join(repr(k) for k in judged)
            raise BatchError(f"{name} line {n}: the object has no {keys} to judge at the {stage} stage")
        prompt = _string(obj, ("prompt",), name, n) if stage == Stage.OUTPUT else None
        items.append(BatchItem(n, value, prompt))
    return items


def judge(pipeline: Pipeline, stage: Stage, item: BatchItem, ctx: Context | None = None) -> BatchVerdict:
    """The pipeline's verdict on one item; any failure of its checks refuses it (fail closed)."""
    base = ctx or Context(channel="api")
    if item.prompt is not None:
        base = replace(base, prompt=item.prompt)
    try:
        verdict = pipeline.run(stage, item.text, base)
    except Exception as exc:  # whatever broke, this text is not passed (fail closed)
        message = getattr(exc, "message", None) or repr(exc)
        return BatchVerdict(item.line, Action.REFUSE, None, str(message))
    return BatchVerdict(item.line, verdict.action, verdict)


def judge_all(
    pipeline: Pipeline, stage: Stage, items: Iterable[BatchItem], ctx: Context | None = None
) -> Iterator[BatchVerdict]:
    """Verdicts in the items' order; an item whose checks fail is refused and the batch goes on."""
    for item in items:
        yield judge(pipeline, stage, item, ctx)
