"""CycloneDX 1.6 JSON with ML-BOM components: ``library`` for packages and code,
``machine-learning-model`` for models (with pedigree ancestors from lineage), ``data`` for data sets.

Written by hand because the document is small and fixed; the official ``cyclonedx-python-lib`` would
add a dependency for one JSON shape. It must never emit an invalid license entry (the OWASP AIBOM
generator's ``unknown`` bug): licenses that are not SPDX ids go out as ``license.name``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from hegui import __version__
from hegui.licenses.evaluate import Report, Verdict

_TYPES = {
    "python": "library",
    "npm": "library",
    "code": "library",
    "service": "application",
    "model": "machine-learning-model",
    "dataset": "data",
}


def _purl(v: Verdict) -> str | None:
    c = v.component
    version = f"@{c.version}" if c.version and c.version[0].isdigit() else ""
    if c.kind == "python":
        return f"pkg:pypi/{c.name.lower()}{version}"
    if c.kind == "npm":
        name = c.name.replace("@", "%40", 1) if c.name.startswith("@") else c.name
        return f"pkg:npm/{name}{version}"
    if c.kind == "model" and "/" in c.name:
        return f"pkg:huggingface/{c.name}"
    return None


def _licenses(v: Verdict) -> list[dict[str, Any]]:
    if not v.chosen:
        return []
    if all(lic.spdx for lic in v.chosen) and len(v.chosen) > 1:
        return [{"expression": " AND ".join(str(lic.spdx) for lic in v.chosen)}]
    out: list[dict[str, Any]] = []
    for lic in v.chosen:
        entry: dict[str, Any] = {"id": lic.spdx} if lic.spdx else {"name": lic.name}
        if lic.source:
            entry["url"] = lic.source
        out.append({"license": entry})
    return out


def _component(v: Verdict, index: int) -> dict[str, Any]:
    c = v.component
    data: dict[str, Any] = {"type": _TYPES[c.kind], "bom-ref": f"{c.ref}#{index}", "name": c.name}
    if c.version:
        data["version"] = c.version
    purl = _purl(v)
    if purl:
        data["purl"] = purl
    licenses = _licenses(v)
    if licenses:
        data["licenses"] = licenses
    ancestors = [
        {
            "type": "machine-learning-model",
            "name": t.origin,
            "licenses": [{"license": {"id": t.license.spdx} if t.license.spdx else {"name": t.license.name}}],
        }
        for t in v.terms
        if t.inherited and t.relation not in ("dataset", "outputs")
    ]
    if ancestors:
        data["pedigree"] = {"ancestors": ancestors}
    if c.kind == "model":
        data["modelCard"] = {
            "considerations": {
                "useCases": [],
                "technicalLimitations": [
                    f.message
                    for f in v.findings
                    if f.rule in ("use-restrictions", "non-commercial", "user-threshold")
                ],
            }
        }
        if c.datasets:
            data["modelCard"]["modelParameters"] = {
                "datasets": [{"type": "dataset", "name": d} for d in c.datasets]
            }
    data["properties"] = [
        {"name": "hegui:verdict", "value": str(v.severity or "ok")},
        {"name": "hegui:layer", "value": c.layer},
        {"name": "hegui:evidence", "value": str(c.evidence)},
    ]
    if c.license and not v.chosen:
        data["properties"].append({"name": "hegui:declared-license", "value": c.license})
    return data


def to_cyclonedx(report: Report) -> str:
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "hegui", "version": __version__}]},
            "properties": [{"name": "hegui:profile", "value": report.profile.deployment}],
        },
        "components": [_component(v, i) for i, v in enumerate(report.verdicts)],
    }
    return json.dumps(bom, ensure_ascii=False, indent=2) + "\n"
