"""Hugging Face model and dataset cards: the YAML front matter of README.md (license, license_name,
license_link, base_model, base_model_relation, datasets, gating).

It reads only the card; it must never download anything, and a card without YAML, with broken YAML
or with ``license: other`` and no name becomes a finding, not an exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hegui.licenses.types import Component, Evidence, Inventory, Kind, Layer

_MODEL_FILES = (
    "config.json",
    "adapter_config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "params.json",
)
_MULTIMODAL_TASKS = {
    "image-text-to-text",
    "visual-question-answering",
    "image-to-text",
    "any-to-any",
    "video-text-to-text",
    "text-to-image",
    "image-to-image",
}
_DATASET_KEYS = {
    "task_categories",
    "size_categories",
    "dataset_info",
    "configs",
    "annotations_creators",
    "source_datasets",
}
_MODEL_KEYS = {"base_model", "pipeline_tag", "library_name", "model-index", "base_model_relation"}


def front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    """The card's YAML header and an error message ("" when it parsed)."""
    if not text.startswith("---"):
        return None, "the card has no YAML front matter (no leading '---' block)"
    end = text.find("\n---", 3)
    if end < 0:
        return None, "the YAML front matter is not closed by a '---' line"
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError as exc:
        return None, f"the YAML front matter does not parse: {str(exc).splitlines()[0]}"
    if data is None:
        return {}, ""
    if not isinstance(data, dict):
        return None, "the YAML front matter is not a mapping"
    return data, ""


def looks_like_card(path: Path) -> bool:
    """A README.md is a model/dataset card if its folder holds weights/config or its YAML says so."""
    if any((path.parent / name).exists() for name in _MODEL_FILES):
        return True
    if any(path.parent.glob("*.gguf")):
        return True
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return False
    data, error = front_matter(head if head.count("\n---") else head + "\n---")
    if head.startswith("---") and error:
        return True  # it tries to be a card: report the broken header rather than skip it
    if not data:
        return False
    return bool(set(data) & (_MODEL_KEYS | _DATASET_KEYS)) or "license" in data


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, (str, int, float)))
    return ()


_TITLE_CUTS = (":", "：", " — ", " – ", " - ", " | ")


def _title(body: str) -> str:
    """The card's first ``# `` heading, cut at a subtitle (``zh-chat-8b: a fine-tune of …``); "" when
    the heading reads as a sentence rather than a name."""
    for line in body.splitlines():
        if line.startswith("# "):
            title = line[2:].strip()
            for cut in _TITLE_CUTS:
                title = title.split(cut, 1)[0].strip()
            return title if 0 < len(title) <= 64 and len(title.split()) <= 3 else ""
    return ""


def card_name(data: dict[str, Any], body: str, folder: str) -> str:
    """A model's component name comes from its card: ``model_name``, ``model-index[0].name``,
    ``pretty_name``, the ``# title``; the folder only when the card names nothing. A name equal to one
    of its own base models is not taken (the folder is): a fine-tune is not its base."""
    index = data.get("model-index")
    indexed = (
        index[0].get("name") if isinstance(index, list) and index and isinstance(index[0], dict) else None
    )
    bases = {b.rstrip("/").rsplit("/", 1)[-1].lower() for b in _strings(data.get("base_model"))}
    for candidate in (data.get("model_name"), indexed, data.get("pretty_name"), _title(body)):
        if isinstance(candidate, str) and candidate.strip() and candidate.strip().lower() not in bases:
            return candidate.strip()
    return folder


def scan_card(path: Path, inv: Inventory, root: Path, kind: Kind | None = None) -> None:
    try:
        rel = str(path.relative_to(root)) or path.name
    except ValueError:
        rel = str(path)
    folder = path.parent.name if path.parent != root.parent else path.stem
    name = folder
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        inv.problem("unreadable-input", f"cannot read card: {exc}", Evidence(rel), "fix the file encoding")
        return
    data, error = front_matter(text)
    if data is None:
        inv.problem(
            "card-without-metadata",
            error,
            Evidence(rel, "front matter"),
            "add a YAML header with at least `license:` (and `base_model:` for derivatives)",
            component=f"{kind or 'model'}:{name}",
        )
        inv.add(
            Component(
                name=name,
                kind=kind or "model",
                license=None,
                evidence=Evidence(rel, "license"),
                layer="data" if kind == "dataset" else "model",
                notes=("no-metadata",),
            )
        )
        return
    if kind is None:
        kind = "dataset" if set(data) & _DATASET_KEYS and not set(data) & _MODEL_KEYS else "model"
    if kind == "model":
        end = text.find("\n---", 3)
        name = card_name(data, text[end + 4 :] if end >= 0 else "", folder)
    declared = data.get("license")
    field = "license"
    if isinstance(declared, list):
        declared = " AND ".join(str(d) for d in declared) if declared else None
    if isinstance(declared, str) and declared.strip().lower() == "other":
        declared = data.get("license_name")
        field = "license_name"
        if not isinstance(declared, str) or not declared.strip():
            inv.problem(
                "license-other-without-name",
                "license: other but no license_name",
                Evidence(rel, "license_name"),
                "set license_name (and license_link) to the real license, or ship the LICENSE file "
                "and declare it in aibom.yaml",
                component=f"{kind}:{name}",
            )
            declared = None
    bases = _strings(data.get("base_model"))
    relation = str(
        data.get("base_model_relation") or ("merge" if len(bases) > 1 else ("finetune" if bases else ""))
    )
    layer: Layer = "data" if kind == "dataset" else "model"
    inv.add(
        Component(
            name=name,
            kind=kind,
            license=str(declared) if declared else None,
            evidence=Evidence(rel, field),
            layer=layer,
            base_models=bases,
            relation=relation,
            datasets=_strings(data.get("datasets")),
            multimodal=str(data.get("pipeline_tag", "")) in _MULTIMODAL_TASKS,
            gated=bool(data.get("extra_gated_prompt") or data.get("gated")),
        )
    )
    inv.sources.append(rel)
