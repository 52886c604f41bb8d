"""`hegui assess`: the life-cycle assessment (data content → … → generated content) with a verdict and
evidence, or a named gap, per item. Thin: the assessment lives in `hegui.filing.assess`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.errors import HeguiError


def _audit_chain() -> tuple[bool, str] | None:
    """Verify the configured database's audit chain; None when there is no database to verify."""
    from hegui.cli.common import engine, settings
    from hegui.records.audit import verify_chain

    s = settings()
    if not s.database_url and not (s.data_dir / "hegui.db").exists():
        return None
    try:
        report = verify_chain(engine(s, migrate_schema=False))
    except HeguiError as exc:
        return False, exc.message
    return True, f"{report.entries} entries verify, head {report.head_hash[:16]}…"


@handled
def assess_(
    out: Path | None = typer.Option(None, "--out", help="Directory for assess.md and assess.json."),
    policy: Path | None = typer.Option(
        None, "--policy", help="The policy in service (default: HEGUI_POLICY_FILE or the bundled one)."
    ),
    eval_dir: Path | None = typer.Option(
        None, "--eval", help="The --out directory of the last `hegui eval run`."
    ),
    corpus: Path | None = typer.Option(None, "--corpus", help="The --out directory of `hegui corpus audit`."),
    data_register: Path | None = typer.Option(
        None, "--data-register", help="The data register (e.g. aibom.yaml)."
    ),
    licenses: Path | None = typer.Option(
        None, "--licenses", help="`hegui licenses scan --format json` output."
    ),
    notice: Path | None = typer.Option(
        None, "--notice", help="The NOTICE file with third-party attributions."
    ),
    form: Path | None = typer.Option(None, "--form", help="The filing form (YAML), see docs/filing.md."),
    no_audit: bool = typer.Option(
        False, "--no-audit-chain", help="Do not verify the audit chain of the configured database."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when an item is non-compliant or a gap."),
) -> None:
    """Assess the six life-cycle nodes; every item gets a verdict with evidence, or a named gap."""
    from hegui.filing.assess import AssessInputs, assess, to_markdown
    from hegui.filing.build import eval_evidence, policy_evidence
    from hegui.filing.form import load_form

    chain = None if no_audit else _audit_chain()
    findings = assess(
        AssessInputs(
            form=load_form(form),
            policy=policy_evidence(policy),
            evaluation=eval_evidence(eval_dir) if eval_dir else None,
            corpus_dir=corpus,
            data_register=data_register,
            licenses_json=licenses,
            notice=notice,
            audit_chain=(lambda: chain) if chain is not None else None,
        )
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "assess.md").write_text(to_markdown(findings), encoding="utf-8")
        (out / "assess.json").write_text(
            json.dumps([asdict(f) for f in findings], ensure_ascii=False, indent=2), encoding="utf-8"
        )
    if as_json:
        typer.echo(json.dumps([asdict(f) for f in findings], ensure_ascii=False))
    else:
        for f in findings:
            typer.echo(f"{f.node:18} {f.verdict:13} {f.item}: {f.detail}")
    if strict and any(f.verdict != "compliant" for f in findings):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_)
