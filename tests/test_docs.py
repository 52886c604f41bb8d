"""Meta-tests: every setting, policy key and command is documented."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import typer.main
from pydantic import BaseModel

from hegui.cli import app
from hegui.policy import CheckPolicy, GatewayPolicy, Policy, ProviderPolicy, RetentionPolicy, UpstreamPolicy
from hegui.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
ALL_DOCS = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
CONFIG = (DOCS / "configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`HEGUI_{name.upper()}`" in CONFIG


POLICY_MODELS: list[type[BaseModel]] = [
    Policy,
    ProviderPolicy,
    GatewayPolicy,
    UpstreamPolicy,
    CheckPolicy,
    RetentionPolicy,
]


@pytest.mark.parametrize(
    ("model", "key"),
    [(m, k) for m in POLICY_MODELS for k, f in m.model_fields.items() if not f.exclude and k != "labels"],
)
def test_every_policy_key_is_documented(model: type[BaseModel], key: str) -> None:
    assert f"\n{key} = " in CONFIG or f"[{key}]" in CONFIG or f"[[{key}]]" in CONFIG, (
        f"{model.__name__}.{key}"
    )


def _commands(group: click.Group, prefix: str = "hegui") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}"
        out += _commands(cmd, path) if isinstance(cmd, click.Group) else [path]
    return out


@pytest.mark.parametrize("command", _commands(typer.main.get_command(app)))  # type: ignore[arg-type]
def test_every_command_is_documented(command: str) -> None:
    assert f"`{command}" in ALL_DOCS or f"{command} " in ALL_DOCS, command
