"""Walk a path, hand each file the right scanner, and merge what they found into one inventory.

Virtual environments (a folder with ``pyvenv.cfg``) at the top two levels are scanned as installed
Python environments, and declared packages take their licenses from them. It must never follow
symlinks out of the tree or descend into caches, ``.git`` or node_modules (node_modules is read
through its package.json).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from hegui.licenses.scan_aibom import scan_aibom
from hegui.licenses.scan_cards import looks_like_card, scan_card
from hegui.licenses.scan_npm import scan_package_dir
from hegui.licenses.scan_python import (
    canonical,
    scan_environment,
    scan_lock,
    scan_pyproject,
    scan_requirements,
)
from hegui.licenses.types import Component, Evidence, Inventory

_SKIP = {
    ".git",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".tox",
    ".nox",
    "site-packages",
    "dist",
    "build",
}
DEFAULT_EXCLUDES = ("tests", "test")


def _site_packages(venv: Path) -> list[Path]:
    return sorted(p for p in venv.glob("lib/python*/site-packages") if p.is_dir()) + sorted(
        p for p in venv.glob("Lib/site-packages") if p.is_dir()
    )


def _venvs(root: Path) -> list[Path]:
    found = []
    for child in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        if (child / "pyvenv.cfg").is_file():
            found.append(child)
    return found


def discover(
    path: Path,
    *,
    python_envs: list[Path] | None = None,
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES,
    scan_envs: bool = True,
) -> Inventory:
    """Scan ``path`` (a folder or a single file) and return every component and input problem found."""
    path = path.resolve()
    root = path if path.is_dir() else path.parent
    inv = Inventory(root=str(path))
    if not path.exists():
        inv.problem(
            "unreadable-input",
            f"{path} does not exist",
            Evidence(str(path)),
            "pass an existing path",
        )
        return inv
    env: dict[str, Component] = {}
    envs = list(python_envs or [])
    if scan_envs and path.is_dir():
        envs += _venvs(path)
    for venv in envs:
        sites = _site_packages(venv) if venv.name != "site-packages" else [venv]
        if not sites:
            inv.problem(
                "unreadable-input",
                f"{venv} has no site-packages",
                Evidence(str(venv)),
                "pass the virtualenv folder (the one holding pyvenv.cfg)",
            )
        for site in sites:
            env.update(scan_environment(site, inv, root))
    if path.is_file():
        _dispatch(path, inv, root, env, explicit=True)
    else:
        for folder, dirs, files in os.walk(path):
            here = Path(folder)
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in _SKIP
                and not (here / d / "pyvenv.cfg").exists()
                and not any(fnmatch.fnmatch(d, pat) for pat in excludes)
                and not (d.startswith(".") and d != ".well-known")
            )
            for name in sorted(files):
                _dispatch(here / name, inv, root, env, explicit=False)
    inv.components = _merge([*env.values(), *inv.components])
    return inv


def _dispatch(file: Path, inv: Inventory, root: Path, env: dict[str, Component], *, explicit: bool) -> None:
    name = file.name
    lower = name.lower()
    if lower.startswith("requirements") and lower.endswith((".txt", ".in")):
        scan_requirements(file, inv, root, env)
    elif name == "pyproject.toml":
        scan_pyproject(file, inv, root, env)
    elif name in ("uv.lock", "poetry.lock"):
        scan_lock(file, inv, root, env)
    elif name == "package.json" or (
        name == "package-lock.json" and not (file.parent / "package.json").exists()
    ):
        scan_package_dir(file.parent, inv, root)
    elif lower in ("aibom.yaml", "aibom.yml"):
        scan_aibom(file, inv, root)
    elif lower == "readme.md" and (explicit or looks_like_card(file)):
        scan_card(file, inv, root)
    elif explicit:
        inv.problem(
            "unreadable-input",
            f"{name} is not a file the license scanner reads",
            Evidence(name),
            "pass a folder, or requirements*.txt, pyproject.toml, uv.lock, poetry.lock, package.json, "
            "package-lock.json, README.md (model/dataset card) or aibom.yaml",
        )


def _merge(components: list[Component]) -> list[Component]:
    """One component per (kind, name, layer): a resolved license wins over an unresolved declaration."""
    merged: dict[tuple[str, str, str], Component] = {}
    for comp in components:
        name = canonical(comp.name) if comp.kind == "python" else comp.name
        key = (comp.kind, name, "dev" if comp.layer == "dev" else "run")
        old = merged.get(key)
        if old is None or (old.license is None and comp.license is not None):
            merged[key] = comp
    # a package declared for runtime and for dev is judged once, at runtime
    runtime = {(k, n) for (k, n, lay) in merged if lay == "run"}
    return [c for (k, n, lay), c in merged.items() if lay == "run" or (k, n) not in runtime]
