"""Shared types of the license analyzer: components found by the scanners, the deployment profile the
rules judge them against, and findings.

Plain frozen data; no I/O here, and nothing that decides a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

Kind = Literal["python", "npm", "model", "dataset", "code", "service"]
Layer = Literal["backend", "frontend", "model", "data", "dev"]
Deployment = Literal["saas", "distributed", "on_device", "internal"]
DEPLOYMENTS: tuple[Deployment, ...] = ("saas", "distributed", "on_device", "internal")
Linkage = Literal["in-process", "process", "network"]


class Severity(IntEnum):
    """How bad a finding is; ordered so that the worst one is the maximum."""

    obligation = 1  # allowed, provided you do what the finding says
    review = 2  # unknown or legally unsettled: a person must look
    conflict = 3  # the terms clash, but a change on your side (rename, isolate, relicense) cures it
    blocked = 4  # no right to this use as profiled: stop, or get a license

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Evidence:
    """Where a fact came from: a file and the field in it."""

    file: str
    field: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.field}" if self.field else self.file


@dataclass(frozen=True)
class Component:
    """One thing in the stack: a package, a model, a data set, a code module or a called service."""

    name: str
    kind: Kind
    license: str | None
    evidence: Evidence
    version: str = ""
    layer: Layer = "backend"
    modified: bool = False
    linkage: Linkage = "in-process"
    base_models: tuple[str, ...] = ()
    relation: str = ""
    datasets: tuple[str, ...] = ()
    trained_on_outputs_of: tuple[str, ...] = ()
    served_name: str = ""
    multimodal: bool = False
    authorization: str = ""
    gated: bool = False
    notes: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Profile:
    """How the product ships and who runs it; the rules depend on nothing else."""

    deployment: Deployment = "saas"
    commercial: bool = True
    modified: bool = False
    mau: int = 0
    dau: int = 0
    revenue: int = 0
    licensee_region: str = ""
    is_cloud_provider: bool = False

    @property
    def made_available(self) -> bool:
        """Others use the product (Llama's "distribute or make available")."""
        return self.deployment != "internal"

    @property
    def conveyed(self) -> bool:
        """Copies leave your hands (copyright "conveying"): binaries, devices, downloads."""
        return self.deployment in ("distributed", "on_device")

    @property
    def in_eu(self) -> bool:
        return self.licensee_region.strip().upper() in {"EU", "EEA"} or self.licensee_region.upper() in _EU


_EU = {
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
}


@dataclass(frozen=True)
class Finding:
    """One verdict: the rule, the component, what is wrong or owed, where we saw it, and the remedy."""

    rule: str
    severity: Severity
    component: str
    message: str
    evidence: Evidence
    remedy: str = ""
    license: str = ""


@dataclass
class Inventory:
    """What the scanners found: components, plus findings about input they could not read."""

    root: str
    components: list[Component] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, component: Component) -> None:
        self.components.append(component)

    def problem(
        self,
        rule: str,
        message: str,
        evidence: Evidence,
        remedy: str,
        severity: Severity = Severity.review,
        component: str = "",
    ) -> None:
        self.findings.append(
            Finding(
                rule=rule,
                severity=severity,
                component=component or evidence.file,
                message=message,
                evidence=evidence,
                remedy=remedy,
            )
        )
