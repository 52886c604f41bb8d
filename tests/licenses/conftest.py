"""Helpers for the license tests: build components and judge them without touching the disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from hegui.licenses.evaluate import Report, evaluate
from hegui.licenses.types import Component, Evidence, Inventory, Profile

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def comp(name: str = "x", kind: str = "model", license: str | None = "MIT", **kw: object) -> Component:
    return Component(name=name, kind=kind, license=license, evidence=Evidence("test.yaml", "license"), **kw)  # type: ignore[arg-type]


def run(components: list[Component], profile: Profile) -> Report:
    inv = Inventory(root="test")
    inv.components.extend(components)
    return evaluate(inv, profile)


def rules_of(report: Report, component: str | None = None) -> set[tuple[str, str]]:
    return {
        (f.rule, f.severity.name) for f in report.findings if component is None or f.component == component
    }
