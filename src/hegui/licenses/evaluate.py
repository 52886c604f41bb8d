"""Run the rules over an inventory: resolve each component's license, pick the compliant branch of a
dual license, add lineage terms, apply the component rules and the stack rules, and build the report.

It must never drop a component: one whose license is missing or unknown gets a finding, never a pass.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from hegui.licenses.knowledge import KnowledgeBase, License, Resolution, load_knowledge_base
from hegui.licenses.lineage import Lineage, LineageResolver, Term
from hegui.licenses.rules import ISOLATE, RULES, Ctx
from hegui.licenses.types import Component, Evidence, Finding, Inventory, Profile, Severity


@dataclass(frozen=True)
class Verdict:
    """One component's outcome: the license branch chosen, its terms and its findings."""

    component: Component
    resolution: Resolution
    chosen: tuple[License, ...]
    terms: tuple[Term, ...]
    findings: tuple[Finding, ...]

    @property
    def severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    @property
    def expression(self) -> str:
        if self.chosen:
            return " AND ".join(lic.spdx or lic.id for lic in self.chosen)
        return self.component.license or "(none)"


@dataclass
class Report:
    """Everything a scan produced; the renderers read only this."""

    root: str
    profile: Profile
    verdicts: list[Verdict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: What the scan assumed rather than was told (shown under the summary and in JSON).
    notes: list[str] = field(default_factory=list)

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)


def _run(ctx: Ctx) -> list[Finding]:
    return [finding for r in RULES for finding in r.fn(ctx)]


def judge(comp: Component, profile: Profile, kb: KnowledgeBase, resolver: LineageResolver) -> Verdict:
    resolution = kb.resolve(comp.license)
    lineage = (
        resolver.resolve(comp) if comp.kind in ("model", "dataset") else Lineage((), frozenset(), (), False)
    )
    base = list(_missing(comp, resolution))
    if not resolution.alternatives:
        ctx = Ctx(comp, lineage.inherited, lineage, profile, kb)
        return Verdict(comp, resolution, (), lineage.inherited, tuple(base + _run(ctx)))
    best: tuple[tuple[License, ...], tuple[Term, ...], list[Finding]] | None = None
    for alternative in resolution.alternatives:
        declared = tuple(Term(lic, comp.name, "declared", "", comp.evidence) for lic in alternative)
        terms = declared + lineage.inherited
        findings = _run(Ctx(comp, terms, lineage, profile, kb))
        worst = max((f.severity for f in findings), default=0)
        if best is None or worst < max((f.severity for f in best[2]), default=0):
            best = (alternative, terms, findings)
    assert best is not None
    chosen, terms, findings = best
    if len(resolution.alternatives) > 1:
        findings = [
            *findings,
            Finding(
                "dual-license-choice",
                Severity.obligation,
                comp.ref,
                f"dual-licensed {resolution.raw!r}: use it under {' AND '.join(lic.id for lic in chosen)}",
                comp.evidence,
                "record the choice; follow that branch's terms",
                chosen[0].id,
            ),
        ]
    return Verdict(comp, resolution, chosen, terms, tuple(base + findings))


def _missing(comp: Component, resolution: Resolution) -> list[Finding]:
    if resolution.alternatives:
        return []
    if comp.license is None:
        if comp.authorization:
            return [
                Finding(
                    "missing-license",
                    Severity.obligation,
                    comp.ref,
                    f"used under agreement {comp.authorization!r}",
                    comp.evidence,
                    "keep the agreement on file and use the material only within its scope",
                )
            ]
        severe = comp.kind in ("model", "dataset", "code")
        return [
            Finding(
                "missing-license",
                Severity.blocked if severe else Severity.review,
                comp.ref,
                "no license declared: by default all rights are reserved",
                comp.evidence,
                "find the license (LICENSE file, card, registry) and declare it, or do not use it",
            )
        ]
    return [
        Finding(
            "unknown-license",
            Severity.review,
            comp.ref,
            f"license string not recognised: {', '.join(resolution.unknown)}",
            comp.evidence,
            "declare an SPDX id or a known model-license id (list: `hegui licenses kb`)",
        )
    ]


def _stack(verdicts: list[Verdict], profile: Profile) -> list[Finding]:
    """GPL-2.0-only next to Apache-2.0 (or GPL-3/AGPL) in one conveyed program (rules 2, 5)."""
    out: list[Finding] = []
    for layer in ("frontend", "backend"):
        if not profile.made_available or (layer == "backend" and not profile.conveyed):
            continue
        present: dict[str, Verdict] = {}
        for v in verdicts:
            if v.component.layer == layer and v.component.kind in ("python", "npm", "code"):
                for lic in v.chosen:
                    present.setdefault(lic.id, v)
        for lic_id, holder in present.items():
            lic = holder.chosen[[c.id for c in holder.chosen].index(lic_id)]
            for other in lic.incompatible_with:
                if other in present and lic_id.startswith("GPL-2.0"):
                    out.append(
                        Finding(
                            "gpl2-incompatible",
                            Severity.conflict,
                            holder.component.ref,
                            f"{lic_id} ({holder.component.name}) cannot be combined with {other} "
                            f"({present[other].component.name}) in one conveyed {layer}",
                            holder.component.evidence,
                            "replace one of them, or " + ISOLATE,
                            lic_id,
                        )
                    )
    return out


def _unresolved(verdicts: list[Verdict]) -> tuple[list[Verdict], list[Finding]]:
    """Declared packages without installed metadata: one review finding per declaring file."""
    by_file: dict[str, list[str]] = defaultdict(list)
    keep = []
    for v in verdicts:
        if v.component.license is None and "unresolved" in v.component.notes:
            by_file[v.component.evidence.file].append(v.component.name)
        keep.append(v)
    findings = [
        Finding(
            "unresolved-dependencies",
            Severity.review,
            f"file:{file}",
            f"{len(names)} declared packages have no license information here: "
            f"{', '.join(sorted(names)[:12])}{' …' if len(names) > 12 else ''}",
            Evidence(file),
            "install them and scan the environment (a virtualenv under PATH or --python-env), or "
            "scan the lock file with licenses (package-lock.json v2+)",
        )
        for file, names in sorted(by_file.items())
    ]
    return keep, findings


def evaluate(inv: Inventory, profile: Profile, kb: KnowledgeBase | None = None) -> Report:
    kb = kb or load_knowledge_base()
    resolver = LineageResolver(kb, inv.components)
    report = Report(root=inv.root, profile=profile, sources=list(inv.sources))
    report.findings.extend(inv.findings)
    for comp in inv.components:
        if comp.layer == "dev":
            continue
        if comp.license is None and "unresolved" in comp.notes:
            report.verdicts.append(Verdict(comp, kb.resolve(None), (), (), ()))
            continue
        verdict = judge(comp, profile, kb, resolver)
        report.verdicts.append(verdict)
        report.findings.extend(verdict.findings)
    report.verdicts, unresolved = _unresolved(report.verdicts)
    report.findings.extend(unresolved)
    report.findings.extend(_stack(report.verdicts, profile))
    report.findings.sort(key=lambda f: (-f.severity, f.component, f.rule))
    return report
