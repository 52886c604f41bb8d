"""Compare `hegui licenses` with pip-licenses and licensecheck on this project's own environment, in one
run, and scan the real AIGC-application fixtures with hegui.

pip-licenses and licensecheck run from their own virtualenv (benchmarks/.venv-licenses, created here).
licensecheck is pointed at an unreachable index (--pypi-api http://127.0.0.1:9) so that, like the other
two, it reads only installed metadata: no registry lookups. A ``.pth`` file appended to that virtualenv
makes the project's site-packages visible to it *after* its own packages.

Every tool's license string is normalised with hegui's knowledge base, so "MIT License", "MIT" and
"License :: OSI Approved :: MIT License" count as the same answer. Writes the "licenses" section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from _results import machine, write_section

from hegui.licenses.knowledge import load_knowledge_base

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TOOLS = HERE / ".venv-licenses"
PROJECT_PY = REPO / ".venv" / "bin" / "python"
FIXTURES = REPO / "tests" / "licenses" / "fixtures"
KB = load_knowledge_base()


def site_packages() -> Path:
    return next((REPO / ".venv").glob("lib/python*/site-packages"))


def ensure_tools() -> None:
    if not (TOOLS / "bin" / "pip-licenses").exists() or not (TOOLS / "bin" / "licensecheck").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run(
            [str(TOOLS / "bin" / "pip"), "install", "-q", "pip-licenses", "licensecheck"], check=True
        )
    own = next(TOOLS.glob("lib/python*/site-packages"))
    (own / "zz_hegui_project.pth").write_text(str(site_packages()) + "\n", encoding="utf-8")


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[str, float]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 3) and not done.stdout.strip():
        raise SystemExit(f"{cmd[0]} failed: {done.stderr[-2000:]}")
    return done.stdout, seconds


def norm(raw: str | None) -> frozenset[str]:
    """The set of license ids a string names (all branches); {'?:raw'} when hegui does not know it."""
    text = (raw or "").strip()
    if not text or text.upper() in {"UNKNOWN", "NO LICENSE", "NONE"}:
        return frozenset({"UNKNOWN"})
    text = re.sub(r"_([^_;]+)_", r"(\1)", text)  # licensecheck turns "(" and ")" into "_"
    parts = text.replace(";; ", ";").split(";")
    # "DFSG approved" is a classifier that says nothing about which license applies
    parts = [p for p in parts if p.strip().upper() != "DFSG APPROVED"]
    ids: set[str] = set()
    for part in parts:
        res = KB.resolve(part.strip())
        if res.alternatives:
            ids |= {lic.id for alt in res.alternatives for lic in alt}
        else:
            ids.add(f"?{part.strip()[:40]}")
    return frozenset(ids)


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def run_hegui(tmp: Path) -> tuple[dict[str, dict[str, str]], float]:
    out, seconds = timed(
        [
            str(REPO / ".venv" / "bin" / "hegui"),
            "licenses",
            "scan",
            str(tmp),
            "--python-env",
            str(REPO / ".venv"),
            "--format",
            "json",
            "--fail-on",
            "never",
            "--commercial",
        ]
    )
    data = json.loads(out)
    return {
        canonical(c["name"]): {"raw": c["declared"] or "", "field": c["evidence"]["field"]}
        for c in data["components"]
        if c["kind"] == "python"
    }, seconds


def run_pip_licenses() -> tuple[dict[str, str], float]:
    out, seconds = timed(
        [str(TOOLS / "bin" / "pip-licenses"), "--python", str(PROJECT_PY), "--from=mixed", "--format=json"]
    )
    return {canonical(p["Name"]): p["License"] for p in json.loads(out)}, seconds


def run_licensecheck(tmp: Path, names: list[str]) -> tuple[dict[str, str], float]:
    reqs = tmp / "requirements.txt"
    reqs.write_text("\n".join(names) + "\n", encoding="utf-8")
    out, seconds = timed(
        [
            str(TOOLS / "bin" / "licensecheck"),
            "-r",
            str(reqs),
            "--format",
            "json",
            "--license",
            "Apache-2.0",
            "--pypi-api",
            "http://127.0.0.1:9",
            "--zero",
        ],
        cwd=tmp,
    )
    start = out.find("{")
    data = json.loads(out[start:]) if start >= 0 else {"packages": []}
    return {canonical(p["name"]): p.get("license") or "" for p in data.get("packages", [])}, seconds


def explain(name: str, ours: dict[str, str], theirs: str, tool: str) -> str:
    o, t = norm(ours["raw"]), norm(theirs)
    if t == {"UNKNOWN"}:
        if ours["field"] == "License-Expression":
            return (
                f"{tool} has no license: the package declares it only as PEP 639 `License-Expression` "
                f"(`{ours['raw'][:60]}`), which {tool} does not read from installed metadata"
                + (
                    " (it asks for `License_Expression`, which never matches)"
                    if tool == "licensecheck"
                    else ""
                )
            )
        return f"{tool} has no license; hegui read `{ours['raw'][:60]}` from `{ours['field']}`"
    if o == {"UNKNOWN"}:
        return f"hegui found no license field; {tool} reported `{theirs[:60]}`"
    if any(x.startswith("?") for x in t):
        return (
            f"{tool}'s string `{theirs[:60]}` is free text or a file name that is not an SPDX id or known "
            f"alias; hegui reads `{ours['field']}` → {', '.join(sorted(o))}"
        )
    if any(x.startswith("?") for x in o):
        return (
            f"hegui does not know `{ours['raw'][:60]}` (reported as unknown-license); {tool}: `{theirs[:60]}`"
        )
    return (
        f"different metadata fields: hegui `{ours['field']}` = `{ours['raw'][:60]}`, {tool} = `{theirs[:60]}` "
        f"({', '.join(sorted(o))} vs {', '.join(sorted(t))})"
    )


def fixture_rows() -> list[str]:
    rows = []
    for folder in ("open-webui", "comfyui", "stack", "frontend-lock", "bad"):
        out, seconds = timed(
            [
                str(REPO / ".venv" / "bin" / "hegui"),
                "licenses",
                "scan",
                str(FIXTURES / folder),
                "--format",
                "json",
                "--fail-on",
                "never",
                "--commercial",
                "--exclude",
                "none",
            ]
        )
        data = json.loads(out)
        s = data["summary"]
        rows.append(
            f"| {folder} | {len(data['components'])} | {s['blocked']} | {s['conflict']} | {s['review']} | "
            f"{s['obligation']} | {seconds:.2f} |"
        )
    return rows


def main() -> None:
    ensure_tools()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "empty").mkdir()
        ours, t_ours = run_hegui(tmp / "empty")
        pipl, t_pipl = run_pip_licenses()
        names = sorted(
            {
                d.metadata["Name"]
                for d in metadata.distributions(path=[str(site_packages())])
                if d.metadata["Name"]
            }
        )
        lcheck, t_lcheck = run_licensecheck(tmp, names)
    lines = [
        "## License analyzer vs pip-licenses and licensecheck",
        "",
        machine(),
        "",
        "Same run, same environment (this project's `.venv`); licenses normalised with hegui's knowledge base; "
        "licensecheck reads installed metadata only (index unreachable on purpose: no registry lookups; "
        "with PyPI access it would fill some UNKNOWNs from the registry).",
        "",
        "| tool | packages reported | wall time (s) |",
        "|---|---|---|",
        f"| hegui licenses scan (CLI, incl. start-up) | {len(ours)} | {t_ours:.2f} |",
        f"| pip-licenses --from=mixed | {len(pipl)} | {t_pipl:.2f} |",
        f"| licensecheck (local metadata) | {len(lcheck)} | {t_lcheck:.2f} |",
        "",
    ]
    for tool, theirs in (("pip-licenses", pipl), ("licensecheck", lcheck)):
        common = sorted(set(ours) & set(theirs))
        differ = [n for n in common if norm(ours[n]["raw"]) != norm(theirs[n])]
        lines += [
            f"### hegui vs {tool}: {len(common) - len(differ)}/{len(common)} agree "
            f"({100 * (len(common) - len(differ)) / max(len(common), 1):.0f} %)",
            "",
        ]
        only_theirs = sorted(set(theirs) - set(ours))
        if only_theirs:
            lines += [f"Reported only by {tool}: {', '.join(only_theirs)}", ""]
        if differ:
            lines += ["| package | hegui | " + tool + " | why |", "|---|---|---|---|"]
            lines += [
                f"| {n} | {', '.join(sorted(norm(ours[n]['raw'])))} | {', '.join(sorted(norm(theirs[n])))} | "
                f"{explain(n, ours[n], theirs[n], tool).replace('|', '/')} |"
                for n in differ
            ]
            lines.append("")
    lines += [
        "### hegui on the fixture stacks (real open-webui / ComfyUI dependency files, model cards, aibom)",
        "",
        "| fixture | components | blocked | conflict | review | obligation | time (s) |",
        "|---|---|---|---|---|---|---|",
        *fixture_rows(),
        "",
        "pip-licenses and licensecheck have no notion of model cards, data sets, lineage or deployment "
        "profiles, so the fixture rows have no counterpart; declared-only requirements are reported by hegui "
        "as unresolved (no registry lookups).",
    ]
    body = "\n".join(lines)
    print(body)
    write_section("licenses", body)


if __name__ == "__main__":
    main()
