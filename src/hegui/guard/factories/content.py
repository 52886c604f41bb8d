"""Check types ``pii``, ``classifier``, ``guard_model``, ``split_turns`` and ``near_duplicate``.

Policy examples (every option is documented in docs/guard-checks.md)::

    [[checks]]
    name = "personal-info"
    type = "pii"                      # action defaults to mask, category to A.4f
    entities = ["resident_id", "mobile", "bank_card", "email"]   # default: all
    mask_style = "partial"            # full | partial | label

    [[checks]]
    name = "offensive"
    type = "classifier"               # category defaults to A.2i
    threshold = 0.49                  # default: the artifact's own
    model_path = "models/my.json.gz"  # default: the bundled COLD model

    [[checks]]
    name = "qwen-guard"
    type = "guard_model"
    base_url = "http://127.0.0.1:8001/v1"
    model = "Qwen/Qwen3Guard-Gen-0.6B"
    output_format = "qwen3guard"      # or llama_guard
    stages = ["input", "output"]      # at the output stage the answer is judged with its question
    api_key_env = "GUARD_API_KEY"
    timeout = 10.0

    [[checks]]
    name = "split-terms"
    type = "split_turns"              # input stage only
    terms_file = "terms.txt"
    turns = 4

    [[checks]]
    name = "reworded"
    type = "near_duplicate"           # input stage only
    threshold = 0.5

A factory reads files and environment variables here, at start-up, so that the checks stay pure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hegui.errors import ConfigError
from hegui.guard.checkspec import check_options, read_terms
from hegui.guard.types import Action, Check, Stage
from hegui.taxonomy import is_risk

if TYPE_CHECKING:
    from hegui.guard.checkspec import CheckFactory, CheckPolicy
    from hegui.guard.pii.recognizers import Recognizer


def _category(spec: CheckPolicy, default: str) -> str:
    return spec.category if "category" in spec.model_fields_set else default


def _action(spec: CheckPolicy, default: Action) -> Action:
    return spec.action if "action" in spec.model_fields_set else default


def _stages(spec: CheckPolicy, only: frozenset[Stage] | None, index: int, source: str) -> list[Stage]:
    if only is None:
        return list(spec.stages)
    if "stages" not in spec.model_fields_set:
        return sorted(only)
    bad = [s.value for s in spec.stages if s not in only]
    if bad:
        raise ConfigError(
            f"check type {spec.type!r} runs only at {sorted(s.value for s in only)}, not {bad}",
            file=source,
            key=f"checks[{index}].stages",
        )
    return list(spec.stages)


def _path(value: str, base_dir: Path) -> Path:
    p = Path(value)
    return p if p.is_absolute() else base_dir / p


class _PIIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entities: list[str] | None = None
    mask_style: Literal["full", "partial", "label"] = "partial"
    label_language: Literal["zh", "en"] = "zh"
    #: True: a resident ID is taken only with a valid birth date and check character (fewer false
    #: positives); False: every ID-shaped number is taken, a mistyped one included.
    resident_id_checksum: bool = True


def _pii(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    from hegui.guard.pii import PII_CATEGORY, PIIAnalyzer, PIICheck, recognizers_for

    opts = check_options(_PIIOptions, spec, index, source)
    try:
        analyzer = PIIAnalyzer(_shape_only_ids(recognizers_for(opts.entities), opts.resident_id_checksum))
    except ValueError as exc:
        raise ConfigError(str(exc), file=source, key=f"checks[{index}].entities") from None
    return PIICheck(
        spec.name,
        analyzer,
        stages=_stages(spec, None, index, source),
        action=_action(spec, Action.MASK),
        category=_category(spec, PII_CATEGORY),
        mask_style=opts.mask_style,
        label_language=opts.label_language,
    )


def _shape_only_ids(recognizers: tuple[Recognizer, ...], checksum: bool) -> tuple[Recognizer, ...]:
    from hegui.guard.pii.recognizers import RESIDENT_ID, RESIDENT_ID_SHAPE

    return (
        recognizers if checksum else tuple(RESIDENT_ID_SHAPE if r is RESIDENT_ID else r for r in recognizers)
    )


class _ClassifierOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float | None = Field(None, gt=0, lt=1)
    window: int = Field(128, ge=16, le=4096)
    model_path: str | None = None
    max_chars: int | None = Field(None, ge=16)


def _classifier(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    from hegui.guard.classifier import DEFAULT_CATEGORY, ClassifierCheck, load_model

    opts = check_options(_ClassifierOptions, spec, index, source)
    try:
        model = load_model(_path(opts.model_path, base_dir) if opts.model_path else None)
    except ValueError as exc:
        raise ConfigError(str(exc), file=source, key=f"checks[{index}].model_path") from None
    return ClassifierCheck(
        spec.name,
        model,
        stages=_stages(spec, None, index, source),
        action=spec.action,
        category=_category(spec, DEFAULT_CATEGORY),
        threshold=opts.threshold,
        window=opts.window,
        max_chars=opts.max_chars,
    )


class _GuardModelOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str
    model: str = Field(min_length=1)
    output_format: Literal["qwen3guard", "llama_guard"] = "qwen3guard"
    moderate: Literal["auto", "prompt", "response"] = "auto"
    api_key_env: str | None = None
    timeout: float = Field(10.0, gt=0, le=300)
    controversial_action: Action | None = None
    controversial_score: float = Field(0.5, ge=0, le=1)
    category_map: dict[str, str] = Field(default_factory=dict)
    logprobs: bool = False
    content_format: Literal["string", "parts"] = "string"
    judges_at: Literal["end", "sentence"] = "end"
    settles_at: int = Field(0, ge=0, le=100_000)

    @field_validator("base_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {v!r}")
        return v

    @field_validator("category_map")
    @classmethod
    def _risks(cls, v: dict[str, str]) -> dict[str, str]:
        bad = {k: r for k, r in v.items() if not is_risk(r)}
        if bad:
            raise ValueError(f"unknown risk categories {bad}; expected A.1a … A.5b")
        return v


def _guard_model(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    from hegui.guard.guardmodel import GuardModelCheck

    opts = check_options(_GuardModelOptions, spec, index, source)
    api_key = None
    if opts.api_key_env:
        api_key = os.environ.get(opts.api_key_env)
        if not api_key:
            raise ConfigError(
                f"environment variable {opts.api_key_env} is not set",
                file=source,
                key=f"checks[{index}].api_key_env",
            )
    return GuardModelCheck(
        spec.name,
        base_url=opts.base_url,
        model=opts.model,
        output_format=opts.output_format,
        moderate=opts.moderate,
        api_key=api_key,
        timeout=opts.timeout,
        stages=_stages(spec, None, index, source) if "stages" in spec.model_fields_set else [Stage.INPUT],
        action=spec.action,
        controversial_action=opts.controversial_action,
        controversial_score=opts.controversial_score,
        fallback_category=spec.category,
        category_map=opts.category_map,
        logprobs=opts.logprobs,
        content_format=opts.content_format,
        judges_at=opts.judges_at,
        settles_at=opts.settles_at,
    )


class _SplitTurnOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    terms: list[str] = Field(default_factory=list)
    terms_file: str | None = None
    turns: int = Field(4, ge=1, le=64)


_INPUT_ONLY = frozenset({Stage.INPUT})


def _split_turns(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    from hegui.guard.denylist import DenyListCheck
    from hegui.guard.memory import SplitTurnCheck

    opts = check_options(_SplitTurnOptions, spec, index, source)
    _stages(spec, _INPUT_ONLY, index, source)
    terms = read_terms(opts.terms, opts.terms_file, base_dir, index, source, kind="split_turns")
    inner = DenyListCheck(f"{spec.name}.terms", terms, action=spec.action, category=spec.category)
    return SplitTurnCheck(spec.name, inner, turns=opts.turns)


class _NearDuplicateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(0.5, gt=0, le=1)
    min_shingles: int = Field(6, ge=1)


def _near_duplicate(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    from hegui.guard.memory import NearDuplicateCheck

    opts = check_options(_NearDuplicateOptions, spec, index, source)
    _stages(spec, _INPUT_ONLY, index, source)
    return NearDuplicateCheck(
        spec.name,
        threshold=opts.threshold,
        min_shingles=opts.min_shingles,
        action=spec.action,
        category=spec.category,
    )


def check_types() -> dict[str, CheckFactory]:
    return {
        "pii": _pii,
        "classifier": _classifier,
        "guard_model": _guard_model,
        "split_turns": _split_turns,
        "near_duplicate": _near_duplicate,
    }
