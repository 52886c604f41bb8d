"""Meta-test: what `hegui serve` and the CLI import at start-up needs only the core dependencies.

CI installs every extra, so a module-level import of an extra's package in a start-up path would pass
CI and break `./scripts/serve` or a plain `pip install hegui`. This walks the module-level imports
(not those inside functions or `if TYPE_CHECKING:`) from `hegui.gateway.app` and `hegui.cli`, and checks
that every third-party package reached is a core dependency in pyproject.toml.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
ENTRY_POINTS = ("hegui.gateway.app", "hegui.cli")


def _core() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {Requirement(r).name.lower().replace("_", "-") for r in project["dependencies"]}


def _path(module: str) -> Path | None:
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _module_level_imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    target = f"{base}.{node.module}" if node.module else base
                else:
                    target = node.module or ""
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)  # submodules
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(tree.body)
    return found


def _startup_third_party() -> dict[str, set[str]]:
    """Third-party top-level package → the hegui modules that import it at start-up."""
    seen: set[str] = set()
    todo = list(ENTRY_POINTS)
    third: dict[str, set[str]] = {}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _path(module)
        if path is None:
            continue
        # Importing a package runs its parents' __init__ first.
        parent = module.rpartition(".")[0]
        if parent:
            todo.append(parent)
        for name in _module_level_imports(path, module):
            top = name.split(".")[0]
            if top == "hegui":
                todo.append(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                third.setdefault(top, set()).add(module)
    return third


def test_start_up_imports_only_core_dependencies() -> None:
    dists = packages_distributions()
    core = _core()
    missing = {}
    for top, modules in _startup_third_party().items():
        names = {d.lower().replace("_", "-") for d in dists.get(top, [top])}
        if not names & core:
            missing[top] = sorted(modules)
    assert not missing, f"imported at start-up but not a core dependency: {missing}"


def test_the_walk_sees_the_start_up_path() -> None:
    """The walk must reach the rooms the gateway uses, or the test above proves nothing."""
    third = _startup_third_party()
    assert {"fastapi", "sqlalchemy", "datasketch", "chinese_calendar", "ahocorasick_rs"} <= set(third)
