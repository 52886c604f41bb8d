"""`hegui assess`: the life-cycle assessment (data content → … → generated content) with a verdict and
evidence, or a named gap, per item. Thin: the assessment lives in `hegui.filing.assess`; this shell
opens the configured records database (read only: it never migrates or writes) and the policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from hegui.cli import handled
from hegui.errors import HeguiError, RequestError, StorageError
from hegui.policy import Policy


def database() -> Engine | None:
    """The configured records database, or None when there is none to read (no URL, no hegui.db).
    Opened without migrating: an assessment reads the records as they are."""
    from hegui.cli.common import engine, settings

    s = settings()
    if not s.database_url and not (s.data_dir / "hegui.db").exists():
        return None
    return engine(s, migrate_schema=False)


def service_day(policy: Policy, on: str | None) -> date:
    """``--on`` or today in the service's time zone (deadlines are working days there)."""
    if not on:
        return datetime.now(ZoneInfo(policy.provider.time_zone)).date()
    try:
        return date.fromisoformat(on)
    except ValueError:
        raise RequestError(f"--on {on!r} is not a date (YYYY-MM-DD)") from None


@contextmanager
def storage_errors() -> Iterator[None]:
    """A database that cannot be read (an older schema, a lost connection) is one line, not a trace."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(
            f"cannot read the records database: {exc.__class__.__name__}: {str(exc).splitlines()[0]} "
            "(an older schema? `hegui serve` or any `hegui data` command migrates it)"
        ) from None


def _audit_chain(eng: Engine) -> tuple[bool, str]:
    """As `hegui audit verify` checks it with the deployment's settings: hashes and links, the MACs
    (HEGUI_AUDIT_KEY) and the signed checkpoints (HEGUI_AUDIT_CHECKPOINT_DIR with the signing key's
    public half). What could not be checked is said in the detail, as that command says it."""
    from hegui.cli.audit import summary_lines, trusted_checkpoints
    from hegui.cli.common import settings
    from hegui.records.audit import verify_chain
    from hegui.records.audit_keys import MacKeyRing

    s = settings()
    try:
        trusted = trusted_checkpoints(s, None, [])
        report = verify_chain(eng, keys=MacKeyRing.parse(s.audit_key), checkpoints=trusted)
    except HeguiError as exc:
        return False, exc.message
    return True, "; ".join(line.strip() for line in summary_lines(report, trusted))


@handled
def assess_(
    out: Path | None = typer.Option(None, "--out", help="Directory for assess.md and assess.json."),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        envvar="HEGUI_POLICY_FILE",
        help="The policy in service (default: HEGUI_POLICY_FILE or the bundled one).",
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
    outputs: Path | None = typer.Option(
        None,
        "--outputs",
        help="Saved outputs as users received them (API responses as .json, labelled files): the newest "
        "are sampled for label verification.",
    ),
    label_sample: int = typer.Option(
        50, "--label-sample", min=1, help="How many of the newest outputs to verify."
    ),
    on: str | None = typer.Option(
        None,
        "--on",
        help="Assess deadlines as of this day (YYYY-MM-DD; default today in provider.time_zone).",
    ),
    no_records: bool = typer.Option(
        False,
        "--no-records",
        help="Do not read the configured database (its items become gaps); --no-audit-chain is implied.",
    ),
    no_audit: bool = typer.Option(
        False, "--no-audit-chain", help="Do not verify the audit chain of the configured database."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when an item is non-compliant or a gap."),
) -> None:
    """Assess the six life-cycle nodes; every item gets a verdict with evidence, or a named gap."""
    from hegui.filing.assess import AssessInputs, assess, tally, to_markdown
    from hegui.filing.assess_records import RecordsContext
    from hegui.filing.build import eval_evidence, policy_evidence
    from hegui.filing.form import load_form
    from hegui.policy import load_policy
    from hegui.records.audit import find_by_request

    model = load_policy(policy)
    filing_form = load_form(form)
    today = service_day(model, on)
    eng = None if no_records else database()
    try:
        with storage_errors():
            chain = None if eng is None or no_audit else _audit_chain(eng)
            findings = assess(
                AssessInputs(
                    form=filing_form,
                    form_path=str(form) if form else "",
                    policy=policy_evidence(policy),
                    policy_model=model,
                    records=RecordsContext(eng, model, filing_form, today) if eng is not None else None,
                    outputs=outputs,
                    label_sample=label_sample,
                    traced=(lambda pid: bool(find_by_request(eng, pid))) if eng is not None else None,
                    evaluation=eval_evidence(eval_dir) if eval_dir else None,
                    corpus_dir=corpus,
                    data_register=data_register,
                    licenses_json=licenses,
                    notice=notice,
                    audit_chain=(lambda: chain) if chain is not None else None,
                )
            )
    finally:
        if eng is not None:
            eng.dispose()
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
            typer.echo(f"{f.node:18} {f.verdict:14} {f.item}: {f.detail}")
        typer.echo(tally(findings))
    if strict and any(f.verdict not in ("compliant", "not-applicable") for f in findings):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_)
