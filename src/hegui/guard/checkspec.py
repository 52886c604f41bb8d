"""What a check type's factory works with: the policy's ``[[checks]]`` table (`CheckPolicy`), the factory's
signature, and the helpers that validate a type's own options and read its terms.

Its own module so that the registry (which merges the factories) and the factories (which use these)
import it, not each other; and so that the guard needs no part of the policy module to build a check.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hegui.errors import ConfigError
from hegui.guard.types import Action, Check, Stage
from hegui.taxonomy import is_risk


class CheckPolicy(BaseModel):
    """One check. Fields beyond these are the options of the check's type (validated by its factory)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    type: str
    stages: list[Stage] = Field(default_factory=lambda: [Stage.INPUT, Stage.OUTPUT])
    action: Action = Action.REFUSE
    category: str = "A.1h"
    enabled: bool = True

    @model_validator(mode="after")
    def _known_category(self) -> CheckPolicy:
        if not is_risk(self.category):
            raise ValueError(f"unknown risk category {self.category!r}; expected A.1a … A.5b")
        return self

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


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
