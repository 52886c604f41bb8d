"""`hegui assess`: the life-cycle assessment, data content → data set → code/algorithm → model →
product → generated content, each node with verdicts and evidence or a named gap.

Every finding comes from a file or record the command is pointed at (a corpus audit, a data register,
a licence scan, the policy, an evaluation run, the audit chain, the filing form). Anything not given is
a ``gap`` that names what would close it: missing evidence is a finding, not a silence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hegui.errors import HeguiError
from hegui.filing import assess_code, assess_records
from hegui.filing.assess_corpus import review_finding
from hegui.filing.assess_labels import label_finding
from hegui.filing.assess_persons import EDITS, PERSONS, WORKS, generated_findings
from hegui.filing.assess_records import RecordsContext
from hegui.filing.assess_register import register_findings
from hegui.filing.clauses import CLAUSES
from hegui.filing.evidence import EvalEvidence, Evidence, PolicyEvidence, decide
from hegui.filing.findings import GAP, NODES, VERDICTS, Finding
from hegui.filing.form import FilingForm
from hegui.policy import Policy

__all__ = ["GAP", "NODES", "VERDICTS", "AssessInputs", "Finding", "assess", "tally", "to_markdown"]


@dataclass(frozen=True, slots=True)
class AssessInputs:
    form: FilingForm
    #: Where the form was read from (the evidence of what it declares); empty when none was given.
    form_path: str = ""
    policy: PolicyEvidence | None = None
    #: The policy in service itself: the labels, records, cases, egress and provider tables.
    policy_model: Policy | None = None
    #: The records database with the policy and the day; None when no database is configured.
    records: RecordsContext | None = None
    #: Saved outputs (API responses, labelled files) to sample for label verification.
    outputs: Path | None = None
    label_sample: int = 50
    #: Whether a ProduceID has entries in the audit chain; None when there is no chain to ask.
    traced: Callable[[str], bool] | None = None
    evaluation: EvalEvidence | None = None
    corpus_dir: Path | None = None
    data_register: Path | None = None
    licenses_json: Path | None = None
    notice: Path | None = None
    #: Verifies the audit chain: returns (ok, detail); None when no database is configured.
    audit_chain: Callable[[], tuple[bool, str]] | None = None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise HeguiError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise HeguiError(f"{path}: a JSON object is expected")
    return data


def _data_content(a: AssessInputs) -> list[Finding]:
    node = NODES[0]
    if a.corpus_dir is None:
        return [
            Finding(
                node,
                "corpus audit (SEC-07, SEC-08)",
                GAP,
                "no corpus audit given: run `hegui corpus audit` and pass --corpus",
            )
        ]
    ev = str(a.corpus_dir / "summary.json")
    try:
        s = _read_json(a.corpus_dir / "summary.json")
    except HeguiError as exc:
        return [Finding(node, "corpus audit (SEC-07, SEC-08)", "non-compliant", exc.message, ev)]
    out = [
        Finding(
            node,
            "technical scan (SEC-07: ≥ 10 % at ≥ 98 %)",
            "compliant" if s.get("technical_met") else "non-compliant",
            f"{s.get('scanned', 0):,} of {s.get('items', 0):,} items scanned ({s.get('scan_fraction', 0):.0%}), pass rate {s.get('pass_rate', 0):.2%}",
            ev,
        ),
        review_finding(a.corpus_dir),
    ]
    black = s.get("blacklist") or []
    out.append(
        Finding(
            node,
            "source blacklist (SEC-08: > 5 % → excluded)",
            "non-compliant" if black else "compliant",
            f"exclude from training: {', '.join(black)}" if black else "no source above 5 %",
            str(a.corpus_dir / "blacklist.txt"),
        )
    )
    return out


def _present(node: str, item: str, path: Path | None, hint: str) -> Finding:
    if path is None:
        return Finding(node, item, GAP, hint)
    if not path.exists():
        return Finding(node, item, "non-compliant", f"{path} does not exist", str(path))
    return Finding(node, item, "compliant", "present", str(path))


def _scan(a: AssessInputs) -> tuple[dict[str, Any] | None, Finding | None]:
    """The licence scan, or the finding that stands for it (not given: a gap; unreadable: why)."""
    if a.licenses_json is None:
        return None, Finding(
            NODES[2],
            assess_code.LICENCES,
            GAP,
            "no licence scan given: `hegui licenses scan . --format json -o licenses.json`, pass --licenses",
        )
    try:
        return assess_code.read_scan(a.licenses_json), None
    except ValueError as exc:
        return None, Finding(NODES[2], assess_code.LICENCES, "non-compliant", str(exc), str(a.licenses_json))


def _code(a: AssessInputs, scan: dict[str, Any] | None, missing: Finding | None) -> list[Finding]:
    if scan is None:
        assert missing is not None
        return [missing]
    return [assess_code.licences(scan, str(a.licenses_json))]


def _model(a: AssessInputs, scan: dict[str, Any] | None) -> list[Finding]:
    node = NODES[3]
    base = a.form.service.base_model
    lineage = (
        assess_code.lineage(scan, str(a.licenses_json))
        if scan is not None
        else Finding(node, assess_code.LINEAGE, GAP, "no readable licence scan (--licenses) to read it from")
    )
    return [
        Finding(
            node,
            "filed base model (6-a)",
            "compliant" if base else GAP,
            base or "service.base_model is empty in the filing form",
            _form_ref(a, "service.base_model") if base else "",
        ),
        lineage,
        assess_code.notice(a.notice, scan),
        # Safety as a training objective, and continuous evaluation: the provider's to declare.
        *_clauses(node, ("6-b",), Evidence(a.form), a.form_path),
    ]


def _form_ref(a: AssessInputs, key: str) -> str:
    return f"filing form {a.form_path or '(none given)'}: {key}"


def _documents(a: AssessInputs) -> list[Finding]:
    """Without a database, the agreement and privacy policy can only be shown by the form's reference."""
    node, out = NODES[4], []
    for name, label in (
        ("agreement", "service agreement published (IM 9)"),
        ("privacy_policy", "privacy policy published (IM 9, PIPL 17)"),
    ):
        ref = getattr(a.form.documents, name)
        if not ref:
            out.append(
                Finding(
                    node, label, GAP, f"no database to read, and documents.{name} is empty in the filing form"
                )
            )
        elif "://" in ref:
            out.append(
                Finding(node, label, "compliant", "published (the form's URL; no database to read)", ref)
            )
        else:
            out.append(_present(node, label, Path(ref), ""))
    return out


def _product(a: AssessInputs) -> list[Finding]:
    node = NODES[4]
    if a.records is not None:
        out = assess_records.product(a.records)
    else:
        out = _documents(a) + assess_records.no_database(a.policy_model)
    # 6-c: the per-turn input check of the policy in service; 7-a, 7-b, 7-f, 7-g: the provider's.
    out += _clauses(node, ("6-c", "7-a", "7-b", "7-f", "7-g"), Evidence(a.form, policy=a.policy), a.form_path)
    return out


def _clauses(node: str, ids: tuple[str, ...], ev: Evidence, form_path: str = "") -> list[Finding]:
    """The filing report's verdicts for these clauses, as findings. Where the report says "no evidence"
    (no file given, nothing declared) the assessment says gap: the same fact, in its own terms. A
    declaration without evidence files is evidenced by the form that declares it."""
    out = []
    for v in decide([c for c in CLAUSES if c.id in ids], ev):
        refs = f" ({', '.join(v.clause.refs)})" if v.clause.refs else ""
        verdict = GAP if v.reason.startswith("no evidence") else v.verdict
        evidence = "; ".join(v.evidence)
        if verdict != GAP and not evidence and v.decided_by == "declared":
            evidence = f"filing form {form_path or '(none given)'}: clauses.{v.clause.id!r}"
        out.append(Finding(node, f"{v.clause.id} {v.clause.title}{refs}", verdict, v.reason, evidence))
    return out


def _generated(a: AssessInputs) -> list[Finding]:
    node = NODES[5]
    out = _clauses(node, ("6-d", "7-e"), Evidence(a.form, evaluation=a.evaluation), a.form_path)
    if a.audit_chain is None:
        out.append(
            Finding(
                node,
                "audit chain",
                GAP,
                "not verified: no database configured (HEGUI_DATA_DIR / HEGUI_DATABASE_URL), or "
                "--no-audit-chain / --no-records given",
            )
        )
    else:
        ok, detail = a.audit_chain()
        out.append(
            Finding(
                node,
                "audit chain",
                "compliant" if ok else "non-compliant",
                detail,
                "audit_entries, audit_head of the records database (`hegui audit verify`)",
            )
        )
    if a.records is not None:
        out.append(assess_records.sanctions(a.records))
    else:
        out.append(Finding(node, "sanction records (IM 14)", GAP, "no records database to read"))
    if a.policy_model is None:
        out.append(Finding(node, "labels on sampled outputs (LBL-01 … LBL-14)", GAP, "no policy loaded"))
        out += [Finding(node, item, GAP, "no policy loaded") for item in (PERSONS, EDITS, WORKS)]
    else:
        out.append(label_finding(a.outputs, a.label_sample, a.policy_model.labels, a.traced))
        # persons' likeness and voice, edits of faces, copyright of outputs: the seed's other risks here
        out += generated_findings(a.policy_model, a.records.engine if a.records is not None else None)
    return out


def assess(a: AssessInputs) -> list[Finding]:
    form = Evidence(a.form)
    # Sources, contracts and authorizations (5.1), IP and personal information in the corpus, including
    # private-data agreements (5.2-b, 5.2-c), and annotation (5.3) are the provider's to declare.
    content = _data_content(a) + _clauses(NODES[0], ("5.1",), form, a.form_path)
    data_set = register_findings(a.data_register) + _clauses(
        NODES[1], ("5.2-b", "5.2-c", "5.3"), form, a.form_path
    )
    scan, missing = _scan(a)
    return content + data_set + _code(a, scan, missing) + _model(a, scan) + _product(a) + _generated(a)


def tally(findings: list[Finding]) -> str:
    """``3 compliant, 1 gap, …`` in the order of VERDICTS."""
    counts = {v: sum(f.verdict == v for f in findings) for v in VERDICTS}
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n) + f" of {len(findings)} items"


def to_markdown(findings: list[Finding]) -> str:
    lines = ["# Life-cycle assessment", "", tally(findings) + ".", ""]
    for node in NODES:
        lines += [f"## {node}", "", "| Item | Verdict | Detail | Evidence |", "|---|---|---|---|"]
        for f in (f for f in findings if f.node == node):
            cell = f.detail.replace("|", "\\|")
            lines.append(f"| {f.item} | {f.verdict} | {cell} | {f.evidence or '—'} |")
        lines.append("")
    return "\n".join(lines)
