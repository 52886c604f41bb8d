"""Model lineage: which license terms a model or data set carries because of what it was made from —
base models (fine-tunes, adapters, quantizations, merges: every parent), data sets it was trained on,
and other models whose outputs it was trained on.

It only collects terms; the rules decide what they mean. It must never drop an ancestor it cannot
resolve: that ancestor is listed as unresolved so that a rule can ask for review.
"""

from __future__ import annotations

from dataclasses import dataclass

from hegui.licenses.knowledge import KnowledgeBase, License
from hegui.licenses.types import Component, Evidence

_MAX_DEPTH = 8


@dataclass(frozen=True)
class Term:
    """A license that binds a component, and why: declared by it, or inherited through ``via``."""

    license: License
    origin: str  # the component or repo whose license this is
    relation: str  # declared | finetune | adapter | merge | quantized | distill | dataset | outputs
    via: str  # human-readable path, e.g. "base model meta-llama/Llama-3.1-8B"
    evidence: Evidence

    @property
    def inherited(self) -> bool:
        return self.relation != "declared"


@dataclass(frozen=True)
class Lineage:
    """The inherited terms of one component, its model families and what could not be resolved."""

    inherited: tuple[Term, ...]
    families: frozenset[str]
    unresolved: tuple[str, ...]
    multimodal: bool


def _short(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1].lower()


class LineageResolver:
    """Resolves ancestors against the scanned inventory first, then the known-model list."""

    def __init__(self, kb: KnowledgeBase, components: list[Component]) -> None:
        self.kb = kb
        self.by_name: dict[str, Component] = {}
        for comp in components:
            if comp.kind in ("model", "dataset"):
                self.by_name.setdefault(comp.name.lower(), comp)
                self.by_name.setdefault(_short(comp.name), comp)

    def find(self, name: str) -> Component | None:
        return self.by_name.get(name.lower()) or self.by_name.get(_short(name))

    def own_licenses(self, comp: Component) -> tuple[License, ...]:
        """The declared licenses of an ancestor (all parts of its first alternative: conservative)."""
        resolution = self.kb.resolve(comp.license)
        return resolution.alternatives[0] if resolution.alternatives else ()

    def family_of(self, comp: Component) -> set[str]:
        fams = {lic.family for lic in self.own_licenses(comp) if lic.family}
        known = self.kb.known_model(comp.name)
        if known is not None and known.family:
            fams.add(known.family)
        return fams

    def resolve(self, comp: Component) -> Lineage:
        terms: list[Term] = []
        unresolved: list[str] = []
        families = self.family_of(comp)
        multimodal = comp.multimodal or bool((k := self.kb.known_model(comp.name)) and k.multimodal)
        seen: set[str] = {comp.name.lower()}
        bases = comp.base_models
        if not bases and (known := self.kb.known_model(comp.name)) is not None:
            bases = known.base
        relation = comp.relation or "finetune"
        for base in bases:
            multimodal |= self._walk(
                base, relation, f"base model {base}", comp.evidence, terms, unresolved, families, seen, 0
            )
        for data in comp.datasets:
            found = self.find(data)
            if found is None:
                unresolved.append(f"dataset {data}")
                continue
            for lic in self.own_licenses(found):
                terms.append(Term(lic, data, "dataset", f"training data {data}", found.evidence))
            if found.license is None:
                unresolved.append(f"dataset {data} (no license)")
        for source in comp.trained_on_outputs_of:
            lics = self._licenses_of(source)
            if not lics:
                unresolved.append(f"outputs of {source}")
            for lic in lics:
                terms.append(Term(lic, source, "outputs", f"trained on outputs of {source}", comp.evidence))
        return Lineage(tuple(terms), frozenset(families), tuple(dict.fromkeys(unresolved)), multimodal)

    def _licenses_of(self, name: str) -> tuple[License, ...]:
        found = self.find(name)
        if found is not None and found.license:
            return self.own_licenses(found)
        known = self.kb.known_model(name)
        return (self.kb.get(known.license),) if known is not None else ()

    def _walk(
        self,
        name: str,
        relation: str,
        via: str,
        evidence: Evidence,
        terms: list[Term],
        unresolved: list[str],
        families: set[str],
        seen: set[str],
        depth: int,
    ) -> bool:
        """Add the terms of one ancestor and, recursively, of its own ancestors; return multimodality."""
        if name.lower() in seen or depth > _MAX_DEPTH:
            return False
        seen.add(name.lower())
        found = self.find(name)
        known = self.kb.known_model(name)
        multimodal = bool(known and known.multimodal) or bool(found and found.multimodal)
        parents: tuple[str, ...] = ()
        if found is not None and found.license:
            lics = self.own_licenses(found)
            evidence = found.evidence
            parents = found.base_models or (known.base if known else ())
            families |= self.family_of(found)
        elif known is not None:
            lics = (self.kb.get(known.license),)
            parents = known.base
            if known.family:
                families.add(known.family)
        else:
            unresolved.append(via)
            return multimodal
        if not lics:
            unresolved.append(f"{via} (license not recognised)")
        for lic in lics:
            terms.append(Term(lic, name, relation, via, evidence))
            if lic.family:
                families.add(lic.family)
        for parent in parents:
            multimodal |= self._walk(
                parent,
                "finetune",
                f"{via} ← {parent}",
                evidence,
                terms,
                unresolved,
                families,
                seen,
                depth + 1,
            )
        return multimodal
