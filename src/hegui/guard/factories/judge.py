"""Check types ``prompt_model`` (input stage) and ``answer_model`` (output stage): the judgement models.

Policy examples (every option is documented in docs/guard-models.md)::

    [[checks]]
    name = "harmful-request"
    type = "prompt_model"             # input stage; category = the predicted risk
    preset = "balanced"               # strict | balanced | lenient: thresholds from the artifact
    refuse_threshold = 0.6            # optional: wins over the preset
    evidence_threshold = 0.4          # optional: label-only findings for the fusion
    model_path = "models/my_prompt.npz"   # default: the bundled model

    [[checks]]
    name = "harmful-answer"
    type = "answer_model"             # output stage; judges the answer with ctx.prompt
    preset = "balanced"
    threshold = 0.5                   # optional: wins over the preset
    model_path = "models/my_answer.npz"          # default: the bundled compliance model
    prompt_model_path = "models/my_prompt.npz"   # default: the bundled prompt model

Artifacts are loaded here, at start-up: a missing or malformed one is a ConfigError naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from hegui.errors import ConfigError
from hegui.guard.checkspec import check_options
from hegui.guard.types import Action, Check, Stage

if TYPE_CHECKING:
    from hegui.guard.checkspec import CheckFactory, CheckPolicy
    from hegui.guard.judge import PromptRiskModel

Preset = Literal["strict", "balanced", "lenient"]


def _path(value: str | None, base_dir: Path) -> Path | None:
    if value is None:
        return None
    p = Path(value)
    return p if p.is_absolute() else base_dir / p


def _stages(spec: CheckPolicy, only: Stage, index: int, source: str) -> list[Stage]:
    if "stages" not in spec.model_fields_set:
        return [only]
    bad = [s.value for s in spec.stages if s != only]
    if bad:
        raise ConfigError(
            f"check type {spec.type!r} runs only at the {only.value} stage, not {bad}",
            file=source,
            key=f"checks[{index}].stages",
        )
    return [only]


def _action(spec: CheckPolicy) -> Action:
    return spec.action if "action" in spec.model_fields_set else Action.REFUSE


class _PromptModelOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_path: str | None = None
    preset: Preset = "balanced"
    refuse_threshold: float | None = Field(None, gt=0, lt=1)
    evidence_threshold: float | None = Field(None, gt=0, lt=1)


def _prompt_model(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    from hegui.guard.judge import PromptRiskCheck, PromptRiskModel

    opts = check_options(_PromptModelOptions, spec, index, source)
    stages = _stages(spec, Stage.INPUT, index, source)
    if (
        opts.refuse_threshold is not None
        and opts.evidence_threshold is not None
        and opts.evidence_threshold > opts.refuse_threshold
    ):
        raise ConfigError(
            "evidence_threshold must not exceed refuse_threshold",
            file=source,
            key=f"checks[{index}].evidence_threshold",
        )
    try:
        model = PromptRiskModel.load(_path(opts.model_path, base_dir))
    except ValueError as exc:
        raise ConfigError(str(exc), file=source, key=f"checks[{index}].model_path") from None
    return PromptRiskCheck(
        spec.name,
        model,
        stages=stages,
        action=_action(spec),
        preset=opts.preset,
        refuse_threshold=opts.refuse_threshold,
        evidence_threshold=opts.evidence_threshold,
    )


class _AnswerModelOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_path: str | None = None
    prompt_model_path: str | None = None
    preset: Preset = "balanced"
    threshold: float | None = Field(None, gt=0, lt=1)


def _load_prompt(value: str | None, base_dir: Path, index: int, source: str) -> PromptRiskModel:
    from hegui.guard.judge import PromptRiskModel

    try:
        return PromptRiskModel.load(_path(value, base_dir))
    except ValueError as exc:
        raise ConfigError(str(exc), file=source, key=f"checks[{index}].prompt_model_path") from None


def _answer_model(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    from hegui.guard.judge import AnswerRiskCheck, AnswerRiskModel, LinearModel
    from hegui.guard.judge.answer import BUNDLED_ANSWER

    opts = check_options(_AnswerModelOptions, spec, index, source)
    stages = _stages(spec, Stage.OUTPUT, index, source)
    try:
        compliance = LinearModel.load(_path(opts.model_path, base_dir), BUNDLED_ANSWER)
        model = AnswerRiskModel(compliance, _load_prompt(opts.prompt_model_path, base_dir, index, source))
    except ValueError as exc:
        raise ConfigError(str(exc), file=source, key=f"checks[{index}].model_path") from None
    return AnswerRiskCheck(
        spec.name, model, stages=stages, action=_action(spec), preset=opts.preset, threshold=opts.threshold
    )


def check_types() -> dict[str, CheckFactory]:
    return {"prompt_model": _prompt_model, "answer_model": _answer_model}
