"""Python inventory: an installed environment (dist-info metadata) and declaration files
(requirements*.txt, pyproject.toml, uv.lock, poetry.lock).

Declaration files carry no licenses; a declared package takes its license from the scanned
environment when it is installed there, and stays unresolved otherwise (``pypi.py`` can resolve those
afterwards, only when asked: ``--resolve pypi``). This module must never fetch anything from the
network and never let a malformed file raise: it becomes a finding.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from email.message import Message
from importlib import metadata
from pathlib import Path
from typing import cast

from packaging.requirements import InvalidRequirement, Requirement

from hegui.licenses.types import Component, Evidence, Inventory, Layer

_REMEDY_FILE = "fix the file so that it parses; until then its packages are not checked"


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def license_of(meta: Message) -> tuple[str | None, str]:
    """The declared license of one distribution and the metadata field it came from.

    Order: PEP 639 ``License-Expression``; a short ``License`` field; the license classifiers (joined
    with OR, as several classifiers mean a choice); finally a long ``License`` text, which the
    knowledge base recognises by its heading.
    """
    expression = meta.get("License-Expression")
    if expression and expression.strip():
        return expression.strip(), "License-Expression"
    field = (meta.get("License") or "").strip()
    if field and field.upper() != "UNKNOWN" and len(field) <= 120 and "\n" not in field:
        return field, "License"
    classifiers = [
        c.split("::", 1)[1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::") and c.strip() != "License :: OSI Approved"
    ]
    if classifiers:
        return " OR ".join(f"License :: {c}" if "::" in c else c for c in classifiers), "Classifier"
    if field and field.upper() != "UNKNOWN":
        return field, "License"
    return None, "License"


def scan_environment(site_packages: Path, inv: Inventory, root: Path) -> dict[str, Component]:
    """Every distribution installed in one site-packages directory, by canonical name."""
    found: dict[str, Component] = {}
    for dist in metadata.distributions(path=[str(site_packages)]):
        meta = cast(Message, dist.metadata)
        name = meta.get("Name") if meta is not None else None
        if not name:
            continue
        lic, field = license_of(meta)
        where = _rel(site_packages, root) + f"/{name}-{dist.version}.dist-info/METADATA"
        comp = Component(
            name=name,
            kind="python",
            license=lic,
            version=dist.version or "",
            evidence=Evidence(where, field),
            layer="backend",
        )
        found[canonical(name)] = comp
    inv.sources.append(_rel(site_packages, root))
    return found


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root)) or "."
    except ValueError:
        return str(path)


def _declared(
    name: str, version: str, evidence: Evidence, layer: Layer, env: dict[str, Component]
) -> Component:
    installed = env.get(canonical(name))
    if installed is not None:
        return Component(
            name=installed.name,
            kind="python",
            license=installed.license,
            version=installed.version or version,
            evidence=installed.evidence,
            layer=layer,
            notes=(f"declared in {evidence}",),
        )
    return Component(
        name=name,
        kind="python",
        license=None,
        version=version,
        evidence=evidence,
        layer=layer,
        notes=("unresolved",),
    )


def scan_requirements(path: Path, inv: Inventory, root: Path, env: dict[str, Component]) -> None:
    rel = _rel(path, root)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        inv.problem("unreadable-input", f"cannot read {rel}: {exc}", Evidence(rel), _REMEDY_FILE)
        return
    layer: Layer = "dev" if re.search(r"(dev|test|lint|doc)", path.name) else "backend"
    for number, raw in enumerate(lines, 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "--")) or "://" in line:
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            inv.problem(
                "unreadable-input",
                f"line {number} is not a requirement: {exc}",
                Evidence(rel, f"line {number}"),
                _REMEDY_FILE,
            )
            continue
        pinned = next((s.version for s in req.specifier if s.operator == "=="), "")
        inv.add(_declared(req.name, pinned, Evidence(rel, f"line {number}"), layer, env))
    inv.sources.append(rel)


def _toml(path: Path, inv: Inventory, root: Path) -> dict[str, object] | None:
    rel = _rel(path, root)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        inv.problem("unreadable-input", f"{rel} is not valid TOML: {exc}", Evidence(rel), _REMEDY_FILE)
        return None


def _requirement_names(items: Iterable[object]) -> Iterable[tuple[str, str]]:
    for item in items:
        if not isinstance(item, str):
            continue
        try:
            req = Requirement(item)
        except InvalidRequirement:
            yield item, ""
            continue
        yield req.name, next((s.version for s in req.specifier if s.operator == "=="), "")


def scan_pyproject(path: Path, inv: Inventory, root: Path, env: dict[str, Component]) -> None:
    data = _toml(path, inv, root)
    if data is None:
        return
    rel = _rel(path, root)
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    assert isinstance(project, dict)
    for name, version in _requirement_names(project.get("dependencies") or []):
        inv.add(_declared(name, version, Evidence(rel, "project.dependencies"), "backend", env))
    optional = project.get("optional-dependencies") or {}
    if isinstance(optional, dict):
        for extra, items in optional.items():
            layer: Layer = "dev" if extra in {"dev", "test", "tests", "docs", "lint"} else "backend"
            for name, version in _requirement_names(items if isinstance(items, list) else []):
                if canonical(name) == canonical(str(project.get("name", ""))):
                    continue  # self-reference such as hegui[all]
                inv.add(
                    _declared(
                        name, version, Evidence(rel, f"project.optional-dependencies.{extra}"), layer, env
                    )
                )
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    assert isinstance(tool, dict)
    poetry = tool.get("poetry") if isinstance(tool.get("poetry"), dict) else {}
    assert isinstance(poetry, dict)
    deps = poetry.get("dependencies") or {}
    if isinstance(deps, dict):
        for name in deps:
            if name.lower() != "python":
                inv.add(_declared(name, "", Evidence(rel, "tool.poetry.dependencies"), "backend", env))
    inv.sources.append(rel)


def scan_lock(path: Path, inv: Inventory, root: Path, env: dict[str, Component]) -> None:
    """uv.lock and poetry.lock: both are TOML with ``[[package]]`` tables of name and version."""
    data = _toml(path, inv, root)
    if data is None:
        return
    rel = _rel(path, root)
    packages = data.get("package")
    if not isinstance(packages, list):
        inv.problem(
            "unreadable-input", f"{rel} has no [[package]] tables", Evidence(rel, "package"), _REMEDY_FILE
        )
        return
    for index, item in enumerate(packages):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            inv.problem(
                "unreadable-input",
                f"package #{index} has no name",
                Evidence(rel, f"package[{index}]"),
                _REMEDY_FILE,
            )
            continue
        source = item.get("source")
        if isinstance(source, dict) and ("editable" in source or "virtual" in source):
            continue  # the project itself
        layer: Layer = "dev" if item.get("category") == "dev" else "backend"
        inv.add(
            _declared(
                item["name"], str(item.get("version", "")), Evidence(rel, f"package[{index}]"), layer, env
            )
        )
    inv.sources.append(rel)
