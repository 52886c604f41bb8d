"""Check type ``persona``: the factory takes the registry snapshot, once, at start-up (and again when
the policy is reloaded, since a reload builds the pipeline anew).

Policy example (docs/persons.md)::

    [[checks]]
    name = "persons"
    type = "persona"                  # input and output; action refuse; categories A.4b/A.4g/A.4c
    registry = "database"             # the records database (HEGUI_DATABASE_URL), or a snapshot file
                                      # written by `hegui persons export`
    window = 16                       # normalized characters around a name read for intent
    defamation_action = "refuse"      # what a defamatory statement about a registered person gets
    defamation_terms = ["..."]        # added to the built-in terms
    defamation_terms_file = "x.txt"
    defamation_model = false          # also score the sentence around a name with the bundled
    defamation_threshold = 0.54       # offensive-language classifier (default: its own threshold)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from hegui.errors import ConfigError, HeguiError
from hegui.guard.checkspec import check_options, read_terms
from hegui.guard.types import Action, Check, Stage

if TYPE_CHECKING:
    from hegui.guard.checkspec import CheckFactory, CheckPolicy
    from hegui.persons.model import RegistrySnapshot


class _PersonaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    registry: str = "database"
    window: int = Field(16, ge=4, le=200)
    defamation_action: Action = Action.REFUSE
    defamation_terms: list[str] = []
    defamation_terms_file: str | None = None
    #: Also score the sentence around a registered name with the guard's offensive-language classifier.
    defamation_model: bool = False
    defamation_threshold: float | None = Field(None, gt=0, lt=1)


def _from_database() -> RegistrySnapshot:
    """The registry in the records database, read without writing: the pipeline is built before
    `serve` takes the database's writer lock and migrates it (and by `config validate`, which must
    not change anything). A database that does not exist yet, or has not been migrated to the
    registry's tables, holds no person: that is an empty registry, not an error."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from hegui.persons.model import RegistrySnapshot
    from hegui.records.db import make_engine
    from hegui.records.persons_store import PersonRegistry
    from hegui.settings import load_settings

    s = load_settings()
    url = s.resolved_database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return RegistrySnapshot((), ())
    engine = make_engine(url, sqlite_synchronous=s.sqlite_synchronous)
    try:
        if not inspect(engine).has_table("persons"):
            return RegistrySnapshot((), ())
        return PersonRegistry(engine).snapshot()
    except SQLAlchemyError as exc:
        raise ConfigError(f"cannot read the person registry: {type(exc).__name__}") from None
    finally:
        engine.dispose()


def _from_file(path: Path) -> RegistrySnapshot:
    from hegui.persons.model import RegistrySnapshot

    try:
        return RegistrySnapshot.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot read the person registry snapshot {path}: {exc}") from None


def _persona(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    from hegui.guard.factories.content import _action, _stages
    from hegui.persons.check import PersonaCheck

    opts = check_options(_PersonaOptions, spec, index, source)
    key = f"checks[{index}].registry"
    try:
        if opts.registry == "database":
            snapshot = _from_database()
        else:
            path = Path(opts.registry)
            snapshot = _from_file(path if path.is_absolute() else base_dir / path)
    except HeguiError as exc:
        raise ConfigError(str(exc).splitlines()[0], file=source, key=key) from None
    extra: list[str] = []
    if opts.defamation_terms or opts.defamation_terms_file:
        extra = read_terms(
            opts.defamation_terms, opts.defamation_terms_file, base_dir, index, source, "defamation"
        )
    model = None
    if opts.defamation_model:
        from hegui.guard.classifier import load_model

        model = load_model()
    return PersonaCheck(
        spec.name,
        snapshot,
        stages=_stages(spec, None, index, source),
        action=_action(spec, Action.REFUSE),
        defamation_action=opts.defamation_action,
        window=opts.window,
        defamation_terms=[t for t in extra if t.strip()],
        model=model,
        model_threshold=opts.defamation_threshold,
    )


class _UnregisteredOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    registry: str = "database"
    window: int = Field(16, ge=4, le=200)


def _unregistered(spec: CheckPolicy, base_dir: Path, index: int, source: str) -> Check:
    """Check type ``unregistered_persons`` (docs/persons.md): voice and likeness requests naming a
    person the registry does not know (Chinese name recognizer; the [names] extra)."""
    from hegui.guard.factories.content import _action, _stages
    from hegui.guard.person_names import available
    from hegui.persons.unregistered import UnregisteredPersonsCheck

    opts = check_options(_UnregisteredOptions, spec, index, source)
    why = available()
    if why is not None:
        raise ConfigError(f"the name recognizer is not available: {why}", file=source, key=f"checks[{index}]")
    try:
        if opts.registry == "database":
            snapshot = _from_database()
        else:
            path = Path(opts.registry)
            snapshot = _from_file(path if path.is_absolute() else base_dir / path)
    except HeguiError as exc:
        raise ConfigError(str(exc).splitlines()[0], file=source, key=f"checks[{index}].registry") from None
    return UnregisteredPersonsCheck(
        spec.name,
        snapshot,
        stages=_stages(spec, frozenset({Stage.INPUT}), index, source),
        action=_action(spec, Action.REFUSE),
        window=opts.window,
    )


def check_types() -> dict[str, CheckFactory]:
    return {"persona": _persona, "unregistered_persons": _unregistered}
