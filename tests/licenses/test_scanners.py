"""Scanners on real files: the project's own environment, real dependency files, and bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hegui.licenses import scan
from hegui.licenses.discover import discover
from hegui.licenses.types import Profile

from .conftest import rules_of

SAAS = Profile("saas", commercial=True, mau=1000)


def test_own_environment_is_read_from_dist_info() -> None:
    site = next(p for p in sys.path if p.endswith("site-packages"))
    inv = discover(Path(site), python_envs=[Path(site)], scan_envs=False)
    by_name = {c.name.lower(): c for c in inv.components}
    assert by_name["license-expression"].license == "Apache-2.0"
    assert by_name["typer"].license == "MIT"
    assert by_name["license-expression"].evidence.field in {"License-Expression", "License", "Classifier"}


@pytest.mark.parametrize(("folder", "count"), [("open-webui/backend", 68), ("comfyui", 35)])
def test_real_requirements_files(fixtures: Path, folder: str, count: int) -> None:
    inv = discover(fixtures / folder, scan_envs=False)
    assert len(inv.components) == count
    assert not inv.findings


def test_real_package_json_marks_dev_dependencies(fixtures: Path) -> None:
    inv = discover(fixtures / "open-webui", scan_envs=False)
    npm = {c.name: c for c in inv.components if c.kind == "npm"}
    assert npm["dompurify"].layer == "frontend"
    assert npm["vite"].layer == "dev"
    assert npm["dompurify"].license is None  # no lock file and no node_modules: unresolved, not guessed


@pytest.mark.parametrize(
    ("rule", "severity", "component"),
    [
        ("unreadable-input", "review", "poetry.lock"),
        ("unreadable-input", "review", "requirements.txt"),
        ("card-without-metadata", "review", "model:bad"),
        ("unknown-license", "review", "model:strange-model"),
        ("unresolved-dependencies", "review", "file:requirements.txt"),
    ],
)
def test_bad_input_gives_findings(fixtures: Path, rule: str, severity: str, component: str) -> None:
    report = scan(fixtures / "bad", SAAS, excludes=())
    assert (rule, severity) in rules_of(report, component)


@pytest.mark.parametrize(
    ("name", "text", "rule"),
    [
        ("package.json", "{not json", "unreadable-input"),
        ("package-lock.json", '{"lockfileVersion": 1, "dependencies": {}}', "unreadable-input"),
        ("uv.lock", "version = 1\n", "unreadable-input"),
        ("pyproject.toml", "[project\n", "unreadable-input"),
        ("aibom.yaml", "models: [unclosed", "unreadable-input"),
        ("aibom.yaml", "models:\n  - license: MIT\n", "unreadable-input"),
        (
            "aibom.yaml",
            "private_data:\n  - name: tickets\nownership: {model: us, outputs: us}\n",
            "private-data-provenance",
        ),
        ("aibom.yaml", "models: []\n", "ownership-undeclared"),
        ("README.md", "---\nlicense: other\n---\n", "license-other-without-name"),
        ("README.md", "no yaml here\n", "card-without-metadata"),
        ("notes.txt", "hello", "unreadable-input"),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, text: str, rule: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    report = scan(tmp_path / name, SAAS)
    assert rule in {f.rule for f in report.findings}


def test_missing_path(tmp_path: Path) -> None:
    report = scan(tmp_path / "nope", SAAS)
    assert [f.rule for f in report.findings] == ["unreadable-input"]


def test_node_modules_resolves_package_json(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"dependencies": {"left-pad": "^1.3.0"}}')
    pkg = tmp_path / "node_modules" / "left-pad"
    pkg.mkdir(parents=True)
    pkg.joinpath("package.json").write_text('{"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}')
    report = scan(tmp_path, SAAS)
    assert ("unknown-license", "review") in rules_of(report, "npm:left-pad")


def test_uv_lock_with_environment(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text(
        'version = 1\n[[package]]\nname = "typer"\nversion = "0.1"\n'
        '[[package]]\nname = "me"\nversion = "0"\nsource = { editable = "." }\n'
    )
    site = next(p for p in sys.path if p.endswith("site-packages"))
    inv = discover(tmp_path, python_envs=[Path(site)])
    typer = [c for c in inv.components if c.name.lower() == "typer"]
    assert len(typer) == 1 and typer[0].license == "MIT"
    assert not any(c.name == "me" for c in inv.components)
