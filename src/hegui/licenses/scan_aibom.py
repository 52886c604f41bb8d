"""The declared stack file ``aibom.yaml``: models, data sources with their authorisation or agreement
reference, private fine-tune data (owner, warranty), ownership of model and outputs, services called,
code modules (e.g. a patched AGPL service), and which other models' outputs were used for training.

The format is documented in docs/licenses.md. It must never raise on a malformed file; every problem
becomes a finding naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml

from hegui.licenses.types import Component, Evidence, Inventory, Kind, Layer, Linkage, Severity

_REMEDY = "correct aibom.yaml (format in docs/licenses.md)"
_SECTIONS: dict[str, tuple[Kind, Layer]] = {
    "models": ("model", "model"),
    "data_sources": ("dataset", "data"),
    "components": ("code", "backend"),
    "services": ("service", "backend"),
}


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return (str(value),)


def scan_aibom(path: Path, inv: Inventory, root: Path) -> None:
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        inv.problem(
            "unreadable-input",
            f"aibom.yaml does not parse: {str(exc).splitlines()[0]}",
            Evidence(rel),
            _REMEDY,
        )
        return
    if not isinstance(data, dict):
        inv.problem("unreadable-input", "aibom.yaml is not a mapping", Evidence(rel), _REMEDY)
        return
    for section, (kind, layer) in _SECTIONS.items():
        items = data.get(section) or []
        if not isinstance(items, list):
            inv.problem("unreadable-input", f"{section} must be a list", Evidence(rel, section), _REMEDY)
            continue
        for index, item in enumerate(items):
            where = f"{section}[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                inv.problem("unreadable-input", f"{where} needs a 'name'", Evidence(rel, where), _REMEDY)
                continue
            linkage = str(item.get("linkage", "network" if kind == "service" else "in-process"))
            if linkage not in ("in-process", "process", "network"):
                inv.problem(
                    "unreadable-input",
                    f"{where}.linkage must be in-process, process or network",
                    Evidence(rel, f"{where}.linkage"),
                    _REMEDY,
                )
                linkage = "in-process"
            lay = str(item.get("layer", layer))
            if lay not in ("backend", "frontend", "model", "data", "dev"):
                inv.problem(
                    "unreadable-input",
                    f"{where}.layer is not a known layer",
                    Evidence(rel, f"{where}.layer"),
                    _REMEDY,
                )
                lay = layer
            bases = _tuple(item.get("base_model"))
            inv.add(
                Component(
                    name=item["name"],
                    kind=kind,
                    license=str(item["license"]) if item.get("license") else None,
                    evidence=Evidence(rel, f"{where}.license"),
                    version=str(item.get("version", "")),
                    layer=cast(Layer, lay),
                    modified=bool(item.get("modified", False)),
                    linkage=cast(Linkage, linkage),
                    base_models=bases,
                    relation=str(
                        item.get("relation") or ("merge" if len(bases) > 1 else "finetune" if bases else "")
                    ),
                    datasets=_tuple(item.get("datasets")),
                    trained_on_outputs_of=_tuple(item.get("trained_on_outputs_of")),
                    served_name=str(item.get("served_name", "")),
                    multimodal=bool(item.get("multimodal", False)),
                    authorization=str(item.get("authorization") or item.get("agreement") or ""),
                )
            )
    _private_data(data, inv, rel)
    _ownership(data, inv, rel)
    inv.sources.append(rel)


def _private_data(data: dict[str, Any], inv: Inventory, rel: str) -> None:
    items = data.get("private_data") or []
    if not isinstance(items, list):
        inv.problem("unreadable-input", "private_data must be a list", Evidence(rel, "private_data"), _REMEDY)
        return
    for index, item in enumerate(items):
        where = f"private_data[{index}]"
        if not isinstance(item, dict):
            inv.problem("unreadable-input", f"{where} must be a mapping", Evidence(rel, where), _REMEDY)
            continue
        missing = [key for key in ("owner", "warranty") if not item.get(key)]
        if missing:
            inv.problem(
                "private-data-provenance",
                f"private fine-tune data {item.get('name', where)!r} has no {' or '.join(missing)}",
                Evidence(rel, where),
                "record who owns the data and the warranty that it may be used "
                "for training (lawful source, consent for personal information)",
                Severity.review,
            )


def _ownership(data: dict[str, Any], inv: Inventory, rel: str) -> None:
    own = data.get("ownership")
    if not isinstance(own, dict) or not own.get("model") or not own.get("outputs"):
        inv.problem(
            "ownership-undeclared",
            "ownership of the model and of its outputs is not declared",
            Evidence(rel, "ownership"),
            "state who owns the fine-tuned model and the generated "
            "outputs (ownership: {model: ..., outputs: ...}) and keep it consistent with the user "
            "agreement",
            Severity.review,
        )
