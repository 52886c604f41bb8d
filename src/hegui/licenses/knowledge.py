"""The license knowledge base: typed records loaded from the YAML files in ``kb/``, alias lookup, and
SPDX-expression resolution (with ``license-expression``) into alternatives of known licenses.

It must never guess: a string that no alias, SPDX id, ScanCode key or text marker names stays
*unknown* and is reported as such by the rules; it is never silently mapped to a similar license.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from license_expression import ExpressionError, LicenseSymbol, LicenseWithExceptionSymbol, get_spdx_licensing

from hegui.errors import ConfigError

Commercial = Literal["yes", "no", "conditional"]
_CATEGORIES = {
    "permissive",
    "public-domain",
    "weak-copyleft",
    "copyleft",
    "network-copyleft",
    "model",
    "data",
    "share-alike",
    "proprietary",
}
_COPYLEFT = {"none", "file", "weak", "strong", "network", "share-alike", "use-restrictions"}


@dataclass(frozen=True)
class Threshold:
    """A user or revenue ceiling above which the license grants no rights until the licensor agrees."""

    metric: Literal["mau", "dau", "revenue"]
    limit: int
    commercial_only: bool = False
    anchor: str = "ongoing"
    scope: str = ""


@dataclass(frozen=True)
class License:
    """One license and what it implies; field meanings are in docs/licenses.md."""

    id: str
    name: str
    category: str
    spdx: str | None = None
    scancode: str | None = None
    hf: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    family: str | None = None
    commercial: Commercial = "yes"
    commercial_condition: str = ""
    threshold: Threshold | None = None
    derivatives: Literal["yes", "no", "research"] = "yes"
    copyleft: str = "none"
    saas_is_distribution: bool = False
    attribution: str = ""
    notice: str = ""
    notice_on_hosted: bool = False
    built_with: str = ""
    built_with_scope: Literal["always", "derivative"] = "always"
    name_prefix: str = ""
    outputs_naming: bool = False
    outputs_built_with: bool = False
    outputs_derivative: bool = False
    no_improve_other_llm: bool = False
    use_policy: str = ""
    flow_down: bool = False
    eu_multimodal_excluded: bool = False
    excluded_regions: tuple[str, ...] = ()
    cloud_provider_excluded: bool = False
    hosting_restricted: bool = False
    no_derivatives: bool = False
    relicensable: bool = True
    incompatible_with: tuple[str, ...] = ()
    review: str = ""
    source: str = ""

    @property
    def is_model_license(self) -> bool:
        return self.category == "model"


@dataclass(frozen=True)
class KnownModel:
    """A published model repository whose license and base models are known without its card."""

    pattern: str
    license: str
    family: str | None = None
    multimodal: bool = False
    base: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolution:
    """What a raw license string means: alternatives (OR) of conjunctions (AND) of known licenses."""

    raw: str
    alternatives: tuple[tuple[License, ...], ...] = ()
    unknown: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def known(self) -> bool:
        return bool(self.alternatives) and not self.unknown


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower().replace("_", "-"))


def _bool_commercial(value: Any) -> Commercial:
    if value is True or value == "yes":
        return "yes"
    if value is False or value == "no":
        return "no"
    if value == "conditional":
        return "conditional"
    raise ValueError(f"commercial must be true, false or 'conditional', not {value!r}")


def _license_from(raw: dict[str, Any], file: str) -> License:
    data = dict(raw)
    try:
        if data.get("category") not in _CATEGORIES:
            raise ValueError(f"unknown category {data.get('category')!r}")
        if data.get("copyleft", "none") not in _COPYLEFT:
            raise ValueError(f"unknown copyleft {data.get('copyleft')!r}")
        if "commercial" in data:
            data["commercial"] = _bool_commercial(data["commercial"])
        if "derivatives" in data:
            value = data["derivatives"]
            data["derivatives"] = {True: "yes", False: "no"}.get(value, value)
        if isinstance(data.get("threshold"), dict):
            data["threshold"] = Threshold(**data["threshold"])
        for key in ("hf", "aliases", "markers", "incompatible_with", "excluded_regions"):
            data[key] = tuple(data.get(key, ()))
        data.setdefault("family", None)
        if data["category"] in {"model", "proprietary"}:
            data.setdefault("relicensable", False)
        return License(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), file=file, key=str(raw.get("id"))) from exc


class KnowledgeBase:
    """Every license hegui knows, indexed by id, SPDX id, ScanCode key, HF id and alias."""

    def __init__(self, licenses: Iterable[License], models: Iterable[KnownModel] = ()) -> None:
        self.licenses: dict[str, License] = {}
        self._index: dict[str, License] = {}
        for lic in licenses:
            if lic.id in self.licenses:
                raise ConfigError(f"license id {lic.id!r} defined twice", key=lic.id)
            self.licenses[lic.id] = lic
            names = [lic.id, lic.name, *lic.hf, *lic.aliases]
            names += [n for n in (lic.spdx, lic.scancode) if n]
            for name in names:
                key = _norm(name)
                other = self._index.get(key)
                if other is not None and other.id != lic.id:
                    raise ConfigError(f"alias {name!r} names both {other.id} and {lic.id}", key=lic.id)
                self._index[key] = lic
        self.models = tuple(models)
        for model in self.models:
            if model.license not in self.licenses:
                raise ConfigError(f"known model {model.pattern} names unknown license {model.license}")
        self._spdx = get_spdx_licensing()

    def get(self, license_id: str) -> License:
        return self.licenses[license_id]

    def lookup(self, name: str) -> License | None:
        """The license a single name (id, alias, HF id, SPDX id, ScanCode key) stands for, if any."""
        key = _norm(name)
        found = self._index.get(key)
        if found is None and key.startswith("licenseref-"):
            found = self._index.get(key.removeprefix("licenseref-"))
        return found

    def from_text(self, text: str) -> License | None:
        """Recognise a full license text by the markers of its heading (used for long metadata fields)."""
        head = _norm(text[:600])
        for lic in self.licenses.values():
            if any(_norm(marker) in head for marker in lic.markers):
                return lic
        return None

    def resolve(self, raw: str | None) -> Resolution:
        """Resolve a declared license string or SPDX expression; unknown parts are kept, never dropped."""
        text = (raw or "").strip()
        if not text or _norm(text) in {"unknown", "none", "noassertion", "other", "null"}:
            return Resolution(raw=text, unknown=(text or "(missing)",))
        single = self.lookup(text)
        if single is not None:
            return Resolution(raw=text, alternatives=((single,),))
        if len(text) > 120 or "\n" in text:
            by_text = self.from_text(text)
            if by_text is not None:
                return Resolution(raw=text, alternatives=((by_text,),))
            return Resolution(raw=text, unknown=(text.splitlines()[0][:80] + " …",))
        return self._resolve_expression(text)

    def _resolve_expression(self, text: str) -> Resolution:
        cleaned = re.sub(r"\s*/\s*|\s+or\s+", " OR ", text, flags=re.I)
        cleaned = re.sub(
            r"\s+and\s+|\s*,\s*", " AND ", cleaned, flags=re.I
        )  # "BSD, Public Domain": both apply
        try:
            expr = self._spdx.parse(cleaned, validate=False, simple=False)
        except ExpressionError:
            return Resolution(raw=text, unknown=(text,))
        if expr is None:
            return Resolution(raw=text, unknown=(text,))
        unknown: list[str] = []
        exceptions: list[str] = []
        alternatives = _dnf(expr, self, unknown, exceptions)
        return Resolution(
            raw=text,
            alternatives=tuple(alternatives) if not unknown else (),
            unknown=tuple(dict.fromkeys(unknown)),
            exceptions=tuple(exceptions),
        )

    def known_model(self, repo_id: str) -> KnownModel | None:
        """The first known-model pattern matching a Hugging Face repo id (case-insensitive)."""
        lowered = repo_id.strip().lower()
        bare = "/" not in lowered  # a local folder name: match the repo part of the pattern
        for model in self.models:
            pattern = model.pattern.lower()
            if fnmatch.fnmatchcase(lowered, pattern.split("/", 1)[-1] if bare else pattern):
                return model
        return None


def _dnf(
    expr: Any, kb: KnowledgeBase, unknown: list[str], exceptions: list[str]
) -> list[tuple[License, ...]]:
    if isinstance(expr, LicenseWithExceptionSymbol):
        exceptions.append(str(expr.exception_symbol.key))
        return _dnf(expr.license_symbol, kb, unknown, exceptions)
    if isinstance(expr, LicenseSymbol):
        found = kb.lookup(str(expr.key))
        if found is None:
            unknown.append(str(expr.key))
            return []
        return [(found,)]
    parts = [_dnf(arg, kb, unknown, exceptions) for arg in expr.args]
    if type(expr).__name__ == "OR":
        return [alt for part in parts for alt in part]
    combined: list[tuple[License, ...]] = [()]
    for part in parts:
        combined = [left + right for left in combined for right in part]
    return combined


def _load_yaml(name: str) -> dict[str, Any]:
    text = resources.files("hegui.licenses").joinpath("kb", name).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=f"kb/{name}") from exc
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping", file=f"kb/{name}")
    return data


@lru_cache(maxsize=1)
def load_knowledge_base() -> KnowledgeBase:
    """The knowledge base shipped in the package (read once; it is immutable)."""
    licenses: list[License] = []
    for name in ("oss.yaml", "models.yaml", "data.yaml"):
        licenses += [_license_from(item, f"kb/{name}") for item in _load_yaml(name)["licenses"]]
    by_id = {lic.id: lic for lic in licenses}
    models = []
    for item in _load_yaml("known_models.yaml")["models"]:
        lic = by_id.get(item["license"])
        family = item.get("family") or (lic.family if lic else None)
        models.append(
            KnownModel(
                pattern=item["pattern"],
                license=item["license"],
                family=family,
                multimodal=bool(item.get("multimodal", False)),
                base=tuple(item.get("base", ())),
            )
        )
    return KnowledgeBase(licenses, models)
