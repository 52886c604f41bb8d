"""Check types of this family (see hegui.guard.factories)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hegui.guard.registry import CheckFactory


def check_types() -> dict[str, CheckFactory]:
    return {}
