"""From the policy's ``[[checks]]`` tables to a Pipeline, given the check types.

Each check type has a factory: ``factory(spec, base_dir, index, source) -> Check`` (guard/checkspec.py).
The guard's own types (deny-list, lexicon, content, judges) are `guard_check_types`; the types of other
rooms (works, persons) join them in `hegui.pipelines`, which is what callers use: the guard imports no
room that builds on it. A factory validates its own options and raises ConfigError naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from hegui.errors import ConfigError
from hegui.guard.checkspec import CheckFactory, CheckPolicy, check_options, read_terms
from hegui.guard.denylist import DenyListCheck
from hegui.guard.fusion import FusionRule
from hegui.guard.pipeline import CheckObserver, Pipeline
from hegui.guard.types import Check

if TYPE_CHECKING:
    from hegui.policy import Policy

__all__ = [
    "PRESET_TYPES",
    "CheckFactory",
    "assemble",
    "check_options",
    "guard_check_types",
    "read_terms",
]


class _DenyListOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    terms: list[str] = []
    terms_file: str | None = None


def _denylist(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    opts = check_options(_DenyListOptions, spec, index, source)
    terms = read_terms(opts.terms, opts.terms_file, base_dir, index, source)
    return DenyListCheck(spec.name, terms, stages=spec.stages, action=spec.action, category=spec.category)


#: Check types whose thresholds come from the policy's ``[guard] preset`` unless the check sets its own.
PRESET_TYPES = frozenset({"prompt_model", "answer_model"})


def guard_check_types() -> dict[str, CheckFactory]:
    """The guard's own check types (the factories load their engines on first use)."""
    from hegui.guard.factories import content, judge, lexicon

    return {"denylist": _denylist} | lexicon.check_types() | content.check_types() | judge.check_types()


def assemble(
    policy: Policy,
    types: Mapping[str, CheckFactory],
    *,
    observer: CheckObserver | None = None,
) -> Pipeline:
    """The pipeline of ``policy``'s enabled checks, each built by its type's factory in ``types``."""
    checks: list[Check] = []
    for i, spec in enumerate(policy.checks):
        if not spec.enabled:
            continue
        factory = types.get(spec.type)
        if factory is None:
            raise ConfigError(
                f"unknown check type {spec.type!r}; known: {', '.join(sorted(types))}",
                file=policy.source,
                key=f"checks[{i}].type",
            )
        if spec.type in PRESET_TYPES and "preset" not in spec.options():
            checks.append(
                factory(
                    spec.model_copy(update={"preset": policy.guard.preset}), policy.base_dir, i, policy.source
                )
            )
        else:
            checks.append(factory(spec, policy.base_dir, i, policy.source))
    names = {c.name for c in checks}
    for top, name in policy.guard.specialists.items():
        if name not in names:
            raise ConfigError(
                f"no enabled check named {name!r}; known: {', '.join(sorted(names)) or '(none)'}",
                file=policy.source,
                key=f"guard.specialists.{top}",
            )
    return Pipeline(
        checks,
        policy_version=policy.full_version,
        observer=observer,
        fusion=FusionRule.for_preset(policy.guard.preset, policy.guard.specialists),
        sentence_max_chars=policy.gateway.stream_sentence_max_chars,
        release_step=policy.gateway.stream_release_step,
    )
