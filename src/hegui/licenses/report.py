"""Render a license report: terminal table (rich), Markdown, JSON and the attribution / NOTICE file.
(CycloneDX is in ``cyclonedx.py``.)

Renderers only read the report; they must never change a verdict or hide a finding.
"""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from hegui.licenses.evaluate import Report, Verdict
from hegui.licenses.types import Finding, Severity

_STYLE = {
    Severity.blocked: "bold red",
    Severity.conflict: "red",
    Severity.review: "yellow",
    Severity.obligation: "cyan",
}


NOT_COMMERCIAL_NOTE = (
    "--commercial not given: non-commercial use assumed, so non-commercial, commercial-authorization "
    "and commercial-only user-threshold terms were not checked; pass --commercial for a commercial product"
)


def summary(report: Report) -> str:
    counts = ", ".join(f"{report.count(s)} {s}" for s in sorted(Severity, reverse=True))
    p = report.profile
    return (
        f"{len(report.verdicts)} components · {counts} · profile {p.deployment}"
        f"{' commercial' if p.commercial else ''} MAU {p.mau:,}"
    )


def to_table(report: Report, width: int = 160) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None)
    table = Table(title=f"hegui licenses — {report.root}", show_lines=False)
    for column in ("severity", "rule", "component", "license", "finding", "evidence"):
        table.add_column(column, overflow="fold")
    for f in report.findings:
        table.add_row(
            str(f.severity),
            f.rule,
            f.component,
            f.license,
            f.message,
            str(f.evidence),
            style=_STYLE[f.severity],
        )
    console.print(table)
    console.print(summary(report))
    for note in report.notes:
        console.print(f"note: {note}")
    return buffer.getvalue()


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    lines = [
        f"# License report: {report.root}",
        "",
        summary(report),
        "",
        *(f"Note: {note}\n" for note in report.notes),
        "## Findings",
        "",
        "| severity | rule | component | finding | evidence | remedy |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {f.severity} | {f.rule} | {_md(f.component)} | {_md(f.message)} | {_md(str(f.evidence))} | "
        f"{_md(f.remedy)} |"
        for f in report.findings
    ]
    lines += [
        "",
        "## Components",
        "",
        "| component | version | layer | license | verdict |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {_md(v.component.ref)} | {v.component.version} | {v.component.layer} | {_md(v.expression)} | "
        f"{v.severity or 'ok'} |"
        for v in report.verdicts
    ]
    return "\n".join(lines) + "\n"


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": str(f.severity),
        "component": f.component,
        "license": f.license,
        "message": f.message,
        "evidence": {"file": f.evidence.file, "field": f.evidence.field},
        "remedy": f.remedy,
    }


def verdict_dict(v: Verdict) -> dict[str, Any]:
    c = v.component
    return {
        "ref": c.ref,
        "name": c.name,
        "kind": c.kind,
        "version": c.version,
        "layer": c.layer,
        "declared": c.license,
        "license": v.expression,
        "verdict": str(v.severity or "ok"),
        "evidence": {"file": c.evidence.file, "field": c.evidence.field},
        "lineage": [
            {"license": t.license.id, "via": t.via, "relation": t.relation} for t in v.terms if t.inherited
        ],
    }


def to_json(report: Report) -> str:
    p = report.profile
    data = {
        "root": report.root,
        "profile": {
            "deployment": p.deployment,
            "commercial": p.commercial,
            "modified": p.modified,
            "mau": p.mau,
            "dau": p.dau,
            "revenue": p.revenue,
            "licensee_region": p.licensee_region,
            "is_cloud_provider": p.is_cloud_provider,
        },
        "summary": {str(s): report.count(s) for s in Severity},
        "blocked": report.count(Severity.blocked) > 0,
        "sources": report.sources,
        "notes": report.notes,
        "findings": [finding_dict(f) for f in report.findings],
        "components": [verdict_dict(v) for v in report.verdicts],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def to_notice(report: Report) -> str:
    """The attribution / NOTICE file: required notice sentences, display duties, then per-license lists."""
    notices: dict[str, str] = {}
    displays: list[str] = []
    for f in report.findings:
        if f.rule == "notice-file" and f.message.startswith("NOTICE: "):
            notices.setdefault(f.message.split("“", 1)[1].split("”", 1)[0], f.license)
        elif f.rule == "built-with" and f.message not in displays:
            displays.append(f.message)
    by_license: dict[str, list[str]] = {}
    for v in report.verdicts:
        if v.chosen:
            label = " AND ".join(lic.name for lic in v.chosen)
            by_license.setdefault(label, []).append(f"{v.component.name} {v.component.version}".strip())
    out = ["NOTICE", "======", "", "This product includes the following third-party components.", ""]
    if notices:
        out += ["Required notices", "----------------", *notices, ""]
    if displays:
        out += [
            "Required displays (product UI / documentation)",
            "-----------------------------------------------",
            *displays,
            "",
        ]
    for label in sorted(by_license):
        out += [label, "-" * len(label), *sorted(set(by_license[label]), key=str.lower), ""]
    out += ["The full text of each license is distributed with the component or available from its source."]
    return "\n".join(out) + "\n"
