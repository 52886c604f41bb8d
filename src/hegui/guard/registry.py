"""From the policy's ``[[checks]]`` tables to a Pipeline.

Each check type has a factory: ``factory(spec, base_dir) -> Check``. Built-in types register here the
same way a plugin's would (pass ``extra_types``). A factory validates its own options and raises
ConfigError naming the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from hegui.errors import ConfigError
from hegui.guard.denylist import DenyListCheck
from hegui.guard.fusion import FusionRule
from hegui.guard.pipeline import CheckObserver, Pipeline
from hegui.guard.types import Check
from hegui.policy import CheckPolicy, Policy

T = TypeVar("T", bound=BaseModel)

CheckFactory = Callable[[CheckPolicy, Path, int, str], Check]
"""(spec, base directory for relative paths, index of the check in the policy, policy source) -> Check"""


def check_options(model: type[T], spec: CheckPolicy, index: int, source: str) -> T:
    """Validate a check's type-specific options; errors name ``checks[index].<key>``."""
    try:
        return model.model_validate(spec.options())
    except ValidationError as exc:
        err = exc.errors()[0]
        key = f"checks[{index}]." + ".".join(str(p) for p in err["loc"])
        raise ConfigError(err["msg"], file=source, key=key) from None


class _DenyListOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    terms: list[str] = []
    terms_file: str | None = None


def read_terms(
    terms: list[str],
    terms_file: str | None,
    base_dir: Path,
    index: int,
    source: str,
    kind: str = "a deny-list",
) -> list[str]:
    """The ``terms`` plus the lines of ``terms_file`` (relative to the policy file); at least one term."""
    out = list(terms)
    if terms_file:
        path = Path(terms_file)
        path = path if path.is_absolute() else base_dir / path
        try:
            out += path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read terms file {path}: {exc}", file=source, key=f"checks[{index}].terms_file"
            ) from None
    if not any(t.strip() for t in out):
        raise ConfigError(f"{kind} needs terms or a terms_file", file=source, key=f"checks[{index}].terms")
    return out


def _denylist(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    opts = check_options(_DenyListOptions, spec, index, source)
    terms = read_terms(opts.terms, opts.terms_file, base_dir, index, source)
    return DenyListCheck(spec.name, terms, stages=spec.stages, action=spec.action, category=spec.category)


#: Check types whose thresholds come from the policy's ``[guard] preset`` unless the check sets its own.
PRESET_TYPES = frozenset({"prompt_model", "answer_model"})


def builtin_check_types() -> dict[str, CheckFactory]:
    from hegui.guard.factories import content, judge, lexicon
    from hegui.persons import factory as persons
    from hegui.works import factory as works

    builtin = (
        lexicon.check_types()
        | content.check_types()
        | judge.check_types()
        | works.check_types()
        | persons.check_types()
    )
    return {"denylist": _denylist} | builtin


def build_pipeline(
    policy: Policy,
    *,
    extra_types: Mapping[str, CheckFactory] | None = None,
    observer: CheckObserver | None = None,
) -> Pipeline:
    types = builtin_check_types() | dict(extra_types or {})
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
    )
