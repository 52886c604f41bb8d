"""The data-set items of `hegui assess` that the data register shows: ``aibom.yaml`` (the format of
docs/licenses.md) read for what GB/T 45654 5.1 and 5.2-c ask of training data.

The register is the provider's own account of its data. A register that exists says little; one whose
data sources each name a licence or an agreement, whose private data each name an owner and a warranty
(the private-data agreement: lawful source, consent for personal information), and whose models train
only on data sources it lists, is evidence. Each of these is one finding that names the entries that
fall short; a register that cannot be read is a non-compliant finding that says why, never an
exception that ends the assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hegui.filing.findings import COMPLIANT, GAP, NODES, NON_COMPLIANT, NOT_APPLICABLE, Finding

NODE = NODES[1]
REGISTER = "data register / aibom.yaml"
SOURCES = "data sources: licence or agreement, lineage (5.1)"
PRIVATE = "private-data agreements: owner and warranty (5.2-c)"
#: Keys of a data source that reference its authorisation (scan_aibom reads the same ones).
AUTHORIZATION_KEYS = ("license", "agreement", "authorization")


@dataclass(frozen=True, slots=True)
class Register:
    """The parts of ``aibom.yaml`` the data-set node reads."""

    data_sources: list[dict[str, Any]]
    private_data: list[dict[str, Any]]
    models: list[dict[str, Any]]


def _entries(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise ValueError(f"{key} must be a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ValueError(f"{key}[{i}] needs a 'name'")
    return items


def read_register(path: Path) -> Register:
    """Raises ValueError naming what is malformed (the caller turns it into a finding)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"does not parse: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise ValueError("is not a mapping (docs/licenses.md, aibom.yaml)")
    return Register(_entries(data, "data_sources"), _entries(data, "private_data"), _entries(data, "models"))


def _names(items: list[str]) -> str:
    return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def _datasets(model: dict[str, Any]) -> list[str]:
    value = model.get("datasets")
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _sources(reg: Register, ev: str) -> Finding:
    declared = {str(s["name"]) for s in reg.data_sources} | {str(p["name"]) for p in reg.private_data}
    unauthorized = [str(s["name"]) for s in reg.data_sources if not any(s.get(k) for k in AUTHORIZATION_KEYS)]
    unlisted = [f"{m['name']} ← {d}" for m in reg.models for d in _datasets(m) if d not in declared]
    counts = f"{len(reg.data_sources)} data source(s), {len(reg.models)} model(s)"
    problems = []
    if unauthorized:
        problems.append(f"no licence or agreement for {_names(unauthorized)}")
    if unlisted:
        problems.append(f"models train on data the register does not list: {_names(unlisted)}")
    if problems:
        return Finding(NODE, SOURCES, NON_COMPLIANT, f"{counts}: " + "; ".join(problems), ev)
    if not reg.data_sources:
        return Finding(
            NODE,
            SOURCES,
            NOT_APPLICABLE,
            f"{counts}: the register lists no training data source of the provider's own "
            "(a service over a filed base model that it does not train)",
            ev,
        )
    return Finding(
        NODE,
        SOURCES,
        COMPLIANT,
        f"{counts}: every source names its licence or agreement, every model's datasets are listed",
        ev,
    )


def _private(reg: Register, ev: str) -> Finding:
    if not reg.private_data:
        return Finding(NODE, PRIVATE, NOT_APPLICABLE, "the register lists no private data", ev)
    missing = [
        f"{p['name']} (no {' or '.join(k for k in ('owner', 'warranty') if not p.get(k))})"
        for p in reg.private_data
        if not (p.get("owner") and p.get("warranty"))
    ]
    if missing:
        return Finding(
            NODE,
            PRIVATE,
            NON_COMPLIANT,
            f"{len(missing)} of {len(reg.private_data)} private data set(s) without the agreement: "
            + _names(missing),
            ev,
        )
    return Finding(
        NODE,
        PRIVATE,
        COMPLIANT,
        f"{len(reg.private_data)} private data set(s), each with its owner and warranty",
        ev,
    )


def register_findings(path: Path | None) -> list[Finding]:
    """The register's presence, its data sources and its private-data agreements."""
    if path is None:
        why = "no data register given (--data-register aibom.yaml, format in docs/licenses.md)"
        return [Finding(NODE, item, GAP, why) for item in (REGISTER, SOURCES, PRIVATE)]
    ev = str(path)
    try:
        if not path.is_file():
            raise ValueError("does not exist")
        reg = read_register(path)
    except ValueError as exc:
        unread = f"the register {path} cannot be read, so nothing in it can be checked"
        return [
            Finding(NODE, REGISTER, NON_COMPLIANT, f"the register {exc}", ev),
            *(Finding(NODE, item, GAP, unread) for item in (SOURCES, PRIVATE)),
        ]
    summary = (
        f"{len(reg.data_sources)} data source(s), {len(reg.private_data)} private data set(s), "
        f"{len(reg.models)} model(s) declared"
    )
    if not (reg.data_sources or reg.private_data or reg.models):
        head = Finding(NODE, REGISTER, NON_COMPLIANT, f"{summary}: the register declares nothing", ev)
    else:
        head = Finding(NODE, REGISTER, COMPLIANT, summary, ev)
    return [head, _sources(reg, ev), _private(reg, ev)]
