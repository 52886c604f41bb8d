"""The policy's checks as a Pipeline, with every built-in check type: the guard's own and those of the rooms
that build on the guard (works: protected works; persons: the person registry).

This is the composition the gateway, the CLI and the evaluation use. It lives outside `hegui.guard` so the
guard never imports a room that imports it (the layering docs/architecture.md draws, enforced by the
import-linter contracts in pyproject.toml). A plugin's types come in as ``extra_types``, through the same
hook the built-in ones use.
"""

from __future__ import annotations

from collections.abc import Mapping

from hegui.guard.checkspec import CheckFactory
from hegui.guard.pipeline import CheckObserver, Pipeline
from hegui.guard.registry import assemble, guard_check_types
from hegui.policy import Policy


def builtin_check_types() -> dict[str, CheckFactory]:
    """Every check type hegui ships (engines load on first use)."""
    from hegui.persons import factory as persons
    from hegui.works import factory as works

    return guard_check_types() | works.check_types() | persons.check_types()


def build_pipeline(
    policy: Policy,
    *,
    extra_types: Mapping[str, CheckFactory] | None = None,
    observer: CheckObserver | None = None,
) -> Pipeline:
    """The pipeline of ``policy``: its enabled ``[[checks]]``, each built by its type's factory."""
    return assemble(policy, builtin_check_types() | dict(extra_types or {}), observer=observer)
