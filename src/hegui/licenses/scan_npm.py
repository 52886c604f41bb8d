"""npm inventory: package.json, package-lock.json (lockfile v2/v3 records each package's license),
and the top level of node_modules.

Every runtime npm dependency is treated as front end, i.e. delivered to browsers (spec rule 8);
devDependencies are marked ``dev`` and not judged. It must never raise on a malformed file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hegui.licenses.types import Component, Evidence, Inventory, Layer

_REMEDY_FILE = "fix the file so that it parses; until then its packages are not checked"


def npm_license(data: dict[str, Any]) -> str | None:
    """The license of one package.json-shaped mapping (``license`` string or object, legacy ``licenses``)."""
    value = data.get("license")
    if isinstance(value, dict):
        value = value.get("type")
    if isinstance(value, str) and value.strip():
        return value.strip()
    legacy = data.get("licenses")
    if isinstance(legacy, list):
        names = [str(item.get("type")) if isinstance(item, dict) else str(item) for item in legacy]
        names = [n for n in names if n and n != "None"]
        if names:
            return " OR ".join(names)
    return None


def _json(path: Path, inv: Inventory, rel: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        inv.problem("unreadable-input", f"{rel} is not valid JSON: {exc}", Evidence(rel), _REMEDY_FILE)
        return None
    if not isinstance(data, dict):
        inv.problem("unreadable-input", f"{rel} is not a JSON object", Evidence(rel), _REMEDY_FILE)
        return None
    return data


def _installed(node_modules: Path, root: Path) -> dict[str, Component]:
    found: dict[str, Component] = {}
    if not node_modules.is_dir():
        return found
    candidates = [p for p in node_modules.iterdir() if p.is_dir() and not p.name.startswith(".")]
    scoped = [c for s in candidates if s.name.startswith("@") for c in s.iterdir() if c.is_dir()]
    for pkg in [c for c in candidates if not c.name.startswith("@")] + scoped:
        manifest = pkg / "package.json"
        if not manifest.is_file():
            continue
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # reported as unresolved through the declaring package.json
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            rel = str(manifest.relative_to(root))
            found[data["name"]] = Component(
                name=data["name"],
                kind="npm",
                license=npm_license(data),
                version=str(data.get("version", "")),
                evidence=Evidence(rel, "license"),
                layer="frontend",
            )
    return found


def scan_package_dir(folder: Path, inv: Inventory, root: Path) -> None:
    """One npm project: prefer the lock file (it has every package and its license), else package.json
    resolved against node_modules."""
    lock = folder / "package-lock.json"
    if lock.is_file() and _scan_lock(lock, inv, root):
        return
    manifest = folder / "package.json"
    if not manifest.is_file():
        return
    rel = str(manifest.relative_to(root))
    data = _json(manifest, inv, rel)
    if data is None:
        return
    installed = _installed(folder / "node_modules", root)
    for section, layer in (("dependencies", "frontend"), ("devDependencies", "dev")):
        deps = data.get(section) or {}
        if not isinstance(deps, dict):
            inv.problem(
                "unreadable-input", f"{section} is not an object", Evidence(rel, section), _REMEDY_FILE
            )
            continue
        for name, spec in deps.items():
            got = installed.get(name)
            lay: Layer = "frontend" if layer == "frontend" else "dev"
            if got is not None:
                inv.add(
                    Component(
                        name=name,
                        kind="npm",
                        license=got.license,
                        version=got.version,
                        evidence=got.evidence,
                        layer=lay,
                    )
                )
            else:
                inv.add(
                    Component(
                        name=name,
                        kind="npm",
                        license=None,
                        version=str(spec),
                        evidence=Evidence(rel, f"{section}.{name}"),
                        layer=lay,
                        notes=("unresolved",),
                    )
                )
    inv.sources.append(rel)


def _scan_lock(lock: Path, inv: Inventory, root: Path) -> bool:
    rel = str(lock.relative_to(root))
    data = _json(lock, inv, rel)
    if data is None:
        return False
    packages = data.get("packages")
    if not isinstance(packages, dict):
        inv.problem(
            "unreadable-input",
            f"{rel} is lockfileVersion {data.get('lockfileVersion')}: no 'packages' map with licenses",
            Evidence(rel, "packages"),
            "regenerate it with npm 7 or later (lockfileVersion 2 or 3)",
        )
        return False
    for key, item in packages.items():
        if not key or not isinstance(item, dict) or item.get("link"):
            continue
        name = item.get("name") or key.rsplit("node_modules/", 1)[-1]
        layer: Layer = "dev" if item.get("dev") or item.get("devOptional") else "frontend"
        lic = npm_license(item)
        inv.add(
            Component(
                name=str(name),
                kind="npm",
                license=lic,
                version=str(item.get("version", "")),
                evidence=Evidence(rel, f"packages.{key}.license"),
                layer=layer,
            )
        )
    inv.sources.append(rel)
    return True
