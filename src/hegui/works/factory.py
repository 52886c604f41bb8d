"""Check type ``works_overlap``: the factory loads the index file once, at start-up.

Policy example (docs/works.md)::

    [[checks]]
    name = "protected-works"
    type = "works_overlap"        # output stage; action refuse, category A.3a unless set
    index = "works.idx.npz"       # built by `hegui works index`
    min_run = 50                  # normalized characters shared with one work
    containment = 0.5             # share of a window's fingerprints in one work (1.0: off)
    containment_window = 200
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from hegui.errors import ConfigError
from hegui.guard.checkspec import check_options
from hegui.guard.types import Check, Stage

if TYPE_CHECKING:
    from hegui.guard.checkspec import CheckFactory, CheckPolicy


class _WorksOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: str
    min_run: int = Field(50, ge=20, le=10_000)
    containment: float = Field(0.5, gt=0, le=1)
    containment_window: int = Field(200, ge=50, le=5_000)


def _works_overlap(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    from hegui.guard.factories.content import _action, _category, _stages
    from hegui.guard.types import Action
    from hegui.works.check import CATEGORY, WorksOverlapCheck
    from hegui.works.index import IndexFormatError, WorksIndex

    opts = check_options(_WorksOptions, spec, index, source)
    path = Path(opts.index)
    path = path if path.is_absolute() else base_dir / path
    try:
        works = WorksIndex.load(path)
    except (OSError, IndexFormatError) as exc:
        raise ConfigError(
            f"cannot load works index: {exc}", file=source, key=f"checks[{index}].index"
        ) from None
    try:
        return WorksOverlapCheck(
            spec.name,
            works,
            stages=_stages(spec, frozenset({Stage.OUTPUT}), index, source),
            action=_action(spec, Action.REFUSE),
            category=_category(spec, CATEGORY),
            min_run=opts.min_run,
            containment=opts.containment,
            containment_window=opts.containment_window,
        )
    except ValueError as exc:
        raise ConfigError(str(exc), file=source, key=f"checks[{index}].min_run") from None


def check_types() -> dict[str, CheckFactory]:
    return {"works_overlap": _works_overlap}
