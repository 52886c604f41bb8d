"""The code-and-algorithm and model items of `hegui assess`, read from a `hegui licenses scan --format
json` report (and the NOTICE it asks for): licence findings that need a change, the models' lineage,
and whether the NOTICE carries the notices the scan requires.

A scan is the provider's own measurement of its stack; these items only read what it says. An unread
or unreadable scan is a finding (a gap, or non-compliant with the reason), never a silent pass.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hegui.filing.findings import COMPLIANT, GAP, NODES, NON_COMPLIANT, NOT_APPLICABLE, Finding

CODE, MODEL = NODES[2], NODES[3]
LICENCES = "licences of code, models and data"
LINEAGE = "model lineage: every ancestor's licence known"
NOTICE = "NOTICE: the attributions the licences require"
#: Severities that need a change before the service may run as profiled (docs/licenses.md).
MUST_CHANGE = ("blocked", "conflict")


def read_scan(path: Path) -> dict[str, Any]:
    """Raises ValueError naming the problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("summary"), dict):
        raise ValueError(f"{path} is not `hegui licenses scan --format json` output (no summary)")
    return data


def _findings(scan: dict[str, Any], *rules: str) -> list[dict[str, Any]]:
    return [f for f in scan.get("findings") or [] if isinstance(f, dict) and f.get("rule") in rules]


def licences(scan: dict[str, Any], ev: str) -> Finding:
    summary = ", ".join(f"{k} {v}" for k, v in scan["summary"].items())
    bad = [f for f in scan.get("findings") or [] if isinstance(f, dict) and f.get("severity") in MUST_CHANGE]
    if bad or scan.get("blocked"):
        shown = "; ".join(
            f"{f.get('severity')} {f.get('rule')} ({f.get('component')}): {f.get('message')}" for f in bad[:3]
        )
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        return Finding(
            CODE,
            LICENCES,
            NON_COMPLIANT,
            f"licence scan: {summary}; to change: {shown or 'blocked'}{more}",
            ev,
        )
    review = int(scan["summary"].get("review", 0) or 0)
    tail = f"; {review} finding(s) for a person to review (the scan's report names them)" if review else ""
    return Finding(
        CODE, LICENCES, COMPLIANT, f"licence scan: {summary}; nothing blocked or in conflict{tail}", ev
    )


def lineage(scan: dict[str, Any], ev: str) -> Finding:
    """Every model in the scan, with the licences it inherits; an ancestor of unknown licence is not a
    lineage that can be filed."""
    models = [c for c in scan.get("components") or [] if isinstance(c, dict) and c.get("kind") == "model"]
    unresolved = [str(f.get("message", "")) for f in _findings(scan, "lineage-unresolved")]
    if not models and not unresolved:
        return Finding(
            MODEL,
            LINEAGE,
            NOT_APPLICABLE,
            "the scan found no model of the provider's own (the service calls its base model by API; "
            "the form's service.base_model names it)",
            ev,
        )
    described = []
    for m in models[:5]:
        via = sorted({str(t.get("via", "")) for t in m.get("lineage") or [] if t.get("via")})
        described.append(f"{m.get('name')} ({m.get('license')})" + (f" ← {', '.join(via)}" if via else ""))
    listed = "; ".join(described) + (f" and {len(models) - 5} more" if len(models) > 5 else "")
    if unresolved:
        return Finding(
            MODEL, LINEAGE, NON_COMPLIANT, f"{'; '.join(unresolved[:3])}: {listed or 'no model resolved'}", ev
        )
    return Finding(MODEL, LINEAGE, COMPLIANT, f"{len(models)} model(s): {listed}", ev)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def required_notices(scan: dict[str, Any]) -> list[str]:
    """The notice sentences the NOTICE must carry (`notice-file` findings), as `hegui licenses scan
    --format notice` writes them."""
    out: list[str] = []
    for f in _findings(scan, "notice-file"):
        msg = str(f.get("message", ""))
        if "“" in msg and "”" in msg:
            out.append(msg.split("“", 1)[1].rsplit("”", 1)[0])
    return list(dict.fromkeys(t for t in out if t.strip()))


def notice(path: Path | None, scan: dict[str, Any] | None) -> Finding:
    if path is None:
        return Finding(
            MODEL, NOTICE, GAP, "no NOTICE given (--notice): third-party models and data need attribution"
        )
    if not path.is_file():
        return Finding(MODEL, NOTICE, NON_COMPLIANT, f"{path} does not exist", str(path))
    if scan is None:
        return Finding(
            MODEL, NOTICE, COMPLIANT, "present; no licence scan given to say what it must carry", str(path)
        )
    text = _squash(path.read_text(encoding="utf-8", errors="replace"))
    needed = required_notices(scan)
    missing = [t for t in needed if _squash(t) not in text]
    if missing:
        shown = "; ".join(f"“{t[:80]}”" for t in missing[:3])
        return Finding(
            MODEL,
            NOTICE,
            NON_COMPLIANT,
            f"{len(missing)} of {len(needed)} notice(s) the scan requires are not in it: {shown} "
            "(`hegui licenses scan --format notice` writes them)",
            str(path),
        )
    detail = (
        f"carries all {len(needed)} notice(s) the scan requires"
        if needed
        else "present; the scan requires no notice text"
    )
    return Finding(MODEL, NOTICE, COMPLIANT, detail, str(path))
