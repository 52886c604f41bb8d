"""License analyzer for the whole AIGC stack: model (with lineage through fine-tunes, merges,
quantizations, adapters and distillation), data, PyPI back end and npm front end.

    kb/*.yaml       the knowledge base (data files): licenses with their attributes, known models
    knowledge.py    typed records, alias lookup, SPDX expressions via license-expression
    scan_*.py       inventory scanners: Python environment and declaration files, npm, HF cards, aibom.yaml
    discover.py     walks a path and merges the scanners' results
    lineage.py      terms inherited from base models, data sets and other models' outputs
    rules.py        the rules for a deployment profile; evaluate.py runs them
    report.py, cyclonedx.py   table, Markdown, JSON, NOTICE, CycloneDX 1.6 ML-BOM

It reads files and never executes scanned code; it uses the network only when asked to resolve
uninstalled requirements on PyPI (`hegui licenses scan --resolve pypi`, `hegui.licenses.pypi`). Its verdicts are a
compliance aid, not legal advice. Bad input becomes a finding, never an exception.
"""

from __future__ import annotations

import time
from pathlib import Path

from hegui.licenses.discover import DEFAULT_EXCLUDES, discover
from hegui.licenses.evaluate import Report, evaluate
from hegui.licenses.types import Profile, Severity

__all__ = ["Profile", "Report", "Severity", "scan"]


def scan(
    path: Path,
    profile: Profile,
    *,
    python_envs: list[Path] | None = None,
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES,
    scan_envs: bool = True,
) -> Report:
    """Inventory ``path`` and judge every component against ``profile``."""
    start = time.perf_counter()
    inventory = discover(path, python_envs=python_envs, excludes=excludes, scan_envs=scan_envs)
    report = evaluate(inventory, profile)
    report.seconds = time.perf_counter() - start
    return report
