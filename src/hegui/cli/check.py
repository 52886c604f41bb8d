"""`hegui check`: the command-line face of the pipeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from hegui.errors import HeguiError, RequestError
from hegui.guard import Context, Pipeline, Stage
from hegui.guard.registry import build_pipeline
from hegui.policy import load_policy


def _pipeline(
    policy_file: Path | None,
    lexicon: Path | None = None,
    lexicon_format: str | None = None,
    lexicon_tiers: Path | None = None,
    tier_default: str | None = None,
) -> Pipeline:
    pipeline = build_pipeline(load_policy(policy_file))
    if lexicon is None:
        return pipeline
    from hegui.guard.factories.lexicon import DEFAULT_TIER, lexicon_check  # the engine loads only when asked

    fmt = lexicon_format if lexicon_format in ("plain", "tags", "csv", "xlsx") else None
    if lexicon_format is not None and fmt is None:
        raise RequestError(f"--lexicon-format must be plain, tags, csv or xlsx, not {lexicon_format!r}")
    from hegui.guard.lexicon.tiers import TIER_DEFAULTS

    tier = tier_default or DEFAULT_TIER
    if tier not in TIER_DEFAULTS:
        raise RequestError(f"--lexicon-tier-default must be {', '.join(TIER_DEFAULTS)}, not {tier!r}")
    extra = lexicon_check(
        "cli-lexicon",
        lexicon,
        fmt,  # type: ignore[arg-type]
        stages=(Stage.INPUT, Stage.OUTPUT),
        tiers_file=lexicon_tiers,
        tier_default=tier,
    )
    return Pipeline(
        [*pipeline.checks, extra], policy_version=pipeline.policy_version, mask_char=pipeline.mask_char
    )


def _read_text(text: str) -> str:
    if text != "-":
        return text
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(f"standard input is not valid UTF-8 (byte {exc.start})") from None


def check(
    text: str = typer.Argument(..., help="The text to check, or - to read it from standard input."),
    policy: Path | None = typer.Option(
        None, "--policy", envvar="HEGUI_POLICY_FILE", help="Policy file (default: the bundled policy)."
    ),
    stage: Stage = typer.Option(Stage.INPUT, "--stage", help="The stage whose checks run."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: action and findings."),
    lexicon: Path | None = typer.Option(
        None, "--lexicon", help="A lexicon file to check with as well (input and output stages)."
    ),
    lexicon_format: str | None = typer.Option(
        None, "--lexicon-format", help="plain, tags, csv or xlsx (default: from the file suffix)."
    ),
    lexicon_tiers: Path | None = typer.Option(
        None, "--lexicon-tiers", help="A tiers file for --lexicon (term,tier: red-line, topic, noise)."
    ),
    tier_default: str | None = typer.Option(
        None,
        "--lexicon-tier-default",
        help="Tier of --lexicon terms without one: red-line, topic (default), auto.",
    ),
) -> None:
    """Run the policy's checks on TEXT and print the verdict.

    Exit code: 0 when the text may pass (allow, label, mask), 1 when it is refused, 2 on bad input.
    """
    try:
        pipeline = _pipeline(policy, lexicon, lexicon_format, lexicon_tiers, tier_default)
        original = _read_text(text)
        verdict = pipeline.run(stage, original, Context(channel="api"))
    except HeguiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(exc.exit_code if exc.exit_code != 1 else 2) from None
    if as_json:
        typer.echo(json.dumps(verdict.to_json(), ensure_ascii=False))
    else:
        typer.echo(f"action: {verdict.action.value}")
        for f in verdict.findings:
            typer.echo(f"  {f.check} {f.category} [{f.start}:{f.end}] {f.evidence!r} -> {f.action.value}")
        if verdict.text != original:
            typer.echo(f"rewritten: {verdict.text}")
    raise typer.Exit(1 if verdict.stops else 0)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
