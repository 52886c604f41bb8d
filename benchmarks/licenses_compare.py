"""Compare `hegui licenses` with pip-licenses and licensecheck, in one run: on this project's own
environment, and on the dependency files of two real open-source AIGC applications (ComfyUI's and
open-webui's requirements.txt, tests/licenses/fixtures/).

pip-licenses and licensecheck run from their own virtualenv (benchmarks/.venv-licenses, created here).
On the own environment licensecheck is pointed at an unreachable index (--pypi-api http://127.0.0.1:9)
so that, like the other two, it reads only installed metadata; a ``.pth`` file appended to that
virtualenv makes the project's site-packages visible to it *after* its own packages.

On the fixtures nothing is installed: hegui runs with ``--resolve pypi`` (fresh cache, so cold), and
licensecheck does its own PyPI look-ups (the ``.pth`` is removed for that part so that it cannot answer
from this project's environment). licensecheck 2025.1 crashes on any license expression with a ``WITH``
exception (torch's), so it is driven package by package through its own ``PackageInfoManager`` and a
crash counts against that package only. pip-licenses only reads an installed environment; installing
these requirements would download torch (GBs), so it does not take part there.

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
            ids.add(f"?{part.strip()[:40].upper()}")  # the same unknown string, in any case, agrees
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


APPS = {
    "ComfyUI": FIXTURES / "comfyui" / "requirements.txt",
    "open-webui": FIXTURES / "open-webui" / "backend" / "requirements.txt",
}

# Runs inside benchmarks/.venv-licenses: licensecheck's own resolver (uv) and per-package look-ups.
_LICENSECHECK_DRIVER = """
import json, sys
from licensecheck.packageinfo import PackageInfoManager
manager = PackageInfoManager("https://pypi.org")
manager.resolve_requirements([sys.argv[1]], [], [], [])
out = []
for pkg in sorted(manager.reqs, key=lambda p: str(p.name)):
    try:
        info = manager.get_package_info(pkg)
        out.append({"name": str(info.name), "license": str(info.license or ""), "error": ""})
    except Exception as exc:  # licensecheck's own bug on one package must not hide the others
        out.append({"name": str(pkg.name), "license": "", "error": type(exc).__name__ + ": " + str(exc)})
print(json.dumps(out))
"""


def project_pth() -> Path:
    return next(TOOLS.glob("lib/python*/site-packages")) / "zz_hegui_project.pth"


def run_hegui_app(requirements: Path, cache: Path) -> tuple[dict[str, dict[str, str]], list[str], float]:
    out, seconds = timed(
        [
            str(REPO / ".venv" / "bin" / "hegui"),
            "licenses",
            "scan",
            str(requirements),
            "--resolve",
            "pypi",
            "--pypi-cache",
            str(cache),
            "--no-progress",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--commercial",
        ]
    )
    data = json.loads(out)
    failed = [f["message"] for f in data["findings"] if f["rule"] == "pypi-lookup-failed"]
    comps = {
        canonical(c["name"]): {"raw": c["declared"] or "", "field": c["evidence"]["field"]}
        for c in data["components"]
        if c["kind"] == "python"
    }
    return comps, failed, seconds


def run_licensecheck_app(requirements: Path) -> tuple[dict[str, dict[str, str]], float]:
    pth = project_pth()
    saved = pth.read_text(encoding="utf-8") if pth.exists() else None
    pth.unlink(missing_ok=True)  # PyPI, not this project's environment, must answer
    try:
        out, seconds = timed([str(TOOLS / "bin" / "python"), "-c", _LICENSECHECK_DRIVER, str(requirements)])
    finally:
        if saved is not None:
            pth.write_text(saved, encoding="utf-8")
    return {canonical(p["name"]): p for p in json.loads(out)}, seconds


def explain_app(ours: dict[str, str], theirs: dict[str, str], failed: list[str], name: str) -> str:
    if theirs["error"]:
        return f"licensecheck crashed on this package ({theirs['error'][:80]}); hegui: `{ours['raw'][:60]}`"
    if not ours["raw"] and any(m.lower().startswith(name) for m in failed):
        why = next(m for m in failed if m.lower().startswith(name))
        return f"hegui: {why.split(': ', 1)[1][:80]}; licensecheck reported `{theirs['license'][:60]}`"
    if any(x.startswith("?") for x in norm(theirs["license"])):
        return (
            f"licensecheck cut the classifier text into fragments (`{theirs['license'][:60]}`: it splits "
            f"at ' or ' and replaces brackets) that are no license id; hegui: `{ours['raw'][:50]}` from "
            f"`{ours['field'].split(' ', 1)[0]}`"
        )
    if ours["field"].startswith("info.license ") or ours["field"] == "info.license":
        return (
            f"licensecheck prefers the classifiers over the `license` field on PyPI; hegui reads `license` "
            f"first (as for installed metadata): `{ours['raw'][:50]}` vs `{theirs['license'][:50]}`"
        )
    if "has no JSON on this index" in ours["field"]:
        return (
            "hegui read the latest release's metadata (this index has no per-release JSON for the pin), "
            f"licensecheck the resolved release's: `{ours['raw'][:50]}` vs `{theirs['license'][:50]}`"
        )
    return explain(name, ours, theirs["license"], "licensecheck")


def app_sections() -> list[str]:
    lines = [
        "### Real AIGC applications' dependency files (nothing installed; PyPI look-ups)",
        "",
        "hegui `--resolve pypi` reads the pinned release's JSON (the latest release for unpinned lines) and "
        "reports the declared (direct) requirements; licensecheck resolves the whole tree with uv and "
        "looks each package up itself, so only the direct requirements are compared. pip-licenses reads "
        "only an installed environment and does not take part (installing these would download torch). "
        "The PyPI reachable from this machine answers 404 for per-release JSON "
        "(`/pypi/<name>/<version>/json`), so for pinned lines both tools fell back to the project JSON "
        "(the latest release's metadata); hegui says so in each component's evidence. Both tools giving "
        "the same string that the knowledge base does not know counts as agreement.",
        "",
        "| application | tool | packages reported | no license / failed | wall time (s) |",
        "|---|---|---|---|---|",
    ]
    tables: list[str] = []
    for app_name, req in APPS.items():
        with tempfile.TemporaryDirectory() as cache:
            ours, failed, t_cold = run_hegui_app(req, Path(cache))
            _, _, t_warm = run_hegui_app(req, Path(cache))
        theirs, t_lc = run_licensecheck_app(req)
        crashed = sorted(n for n, p in theirs.items() if p["error"])
        lines += [
            f"| {app_name} | hegui --resolve pypi (cold cache) | {len(ours)} | "
            f"{sum(1 for o in ours.values() if not o['raw'])} ({len(failed)} look-ups failed) | {t_cold:.2f} |",
            f"| {app_name} | hegui --resolve pypi (warm cache) | {len(ours)} | same | {t_warm:.2f} |",
            f"| {app_name} | licensecheck (own PyPI look-ups, whole tree) | {len(theirs)} | "
            f"{sum(1 for p in theirs.values() if norm(p['license']) == {'UNKNOWN'})} "
            f"({len(crashed)} crashed: {', '.join(crashed) or 'none'}) | {t_lc:.2f} |",
        ]
        common = sorted(set(ours) & set(theirs))
        differ = [n for n in common if norm(ours[n]["raw"]) != norm(theirs[n]["license"])]
        tables += [
            "",
            f"#### {app_name}: hegui vs licensecheck {len(common) - len(differ)}/{len(common)} agree "
            f"({100 * (len(common) - len(differ)) / max(len(common), 1):.0f} %) on the direct requirements",
            "",
        ]
        missing = sorted(set(ours) - set(theirs))
        if missing:
            tables += [f"Declared but not in licensecheck's resolved tree: {', '.join(missing)}", ""]
        if failed:
            tables += ["hegui look-up failures: " + "; ".join(failed), ""]
        if differ:
            tables += ["| package | hegui | licensecheck | why |", "|---|---|---|---|"]
            tables += [
                f"| {n} | {', '.join(sorted(norm(ours[n]['raw'])))} | "
                f"{', '.join(sorted(norm(theirs[n]['license'])))} | "
                f"{explain_app(ours[n], theirs[n], failed, n).replace('|', '/')} |"
                for n in differ
            ]
    return [*lines, *tables, ""]


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
    lines += app_sections()
    lines += [
        "### hegui on the fixture stacks (real open-webui / ComfyUI dependency files, model cards, aibom)",
        "",
        "| fixture | components | blocked | conflict | review | obligation | time (s) |",
        "|---|---|---|---|---|---|---|",
        *fixture_rows(),
        "",
        "pip-licenses and licensecheck have no notion of model cards, data sets, lineage or deployment "
        "profiles, so the fixture rows have no counterpart; these rows run without `--resolve` (the default: "
        "no network), so declared-only requirements are reported as unresolved.",
    ]
    body = "\n".join(lines)
    print(body)
    write_section("licenses", body)


if __name__ == "__main__":
    main()
