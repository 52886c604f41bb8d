"""`hegui check`: the command-line face of the pipeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from hegui.cli.common import progress
from hegui.errors import HeguiError, RequestError
from hegui.guard import Context, Pipeline, Stage
from hegui.guard.batch import BATCH_FORMATS, BatchFormat, BatchVerdict, judge_all, parse_batch
from hegui.pipelines import build_pipeline
from hegui.policy import load_policy


def _pipeline(
    policy_file: Path | None,
    lexicon: Path | None = None,
    lexicon_format: str | None = None,
    lexicon_tiers: Path | None = None,
    tier_default: str | None = None,
    lexicon_tags: Path | None = None,
) -> Pipeline:
    pipeline = build_pipeline(load_policy(policy_file))
    if lexicon is None:
        if lexicon_tags is not None:
            raise RequestError("--lexicon-tags needs --lexicon")
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
        tags_file=lexicon_tags,
    )
    return Pipeline(
        [*pipeline.checks, extra],
        policy_version=pipeline.policy_version,
        mask_char=pipeline.mask_char,
        fusion=pipeline.fusion,
        sentence_max_chars=pipeline.sentence_max_chars,
        release_step=pipeline.release_step,
    )


def _read_text(text: str) -> str:
    if text != "-":
        return text
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(f"standard input is not valid UTF-8 (byte {exc.start})") from None


def _read_batch(source: str) -> tuple[str, str]:
    """(name for messages, decoded text) of the batch file, or of standard input for ``-``."""
    if source == "-":
        name, data = "<stdin>", sys.stdin.buffer.read()
    else:
        name = source
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise RequestError(f"cannot read the batch file {source}: {exc.strerror or exc}") from None
    try:
        return name, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RequestError(f"{name} line {line}: not valid UTF-8 (byte {exc.start})") from None


def _batch_format(value: str) -> BatchFormat:
    if value not in BATCH_FORMATS:
        raise RequestError(f"--batch-format must be one of {', '.join(BATCH_FORMATS)}, not {value!r}")
    return value  # type: ignore[return-value]


def _run_batch(pipeline: Pipeline, stage: Stage, source: str, fmt: str) -> int:
    """Judge every line of the batch, print one JSON verdict per line; return the exit code."""
    name, text = _read_batch(source)
    items = parse_batch(text, stage, fmt=_batch_format(fmt), name=name)
    refused = 0
    failed: list[BatchVerdict] = []
    out = sys.stdout
    with progress("checking", len(items)) as advance:
        for result in judge_all(pipeline, stage, items):
            out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            refused += result.stops
            if result.error:
                failed.append(result)
            advance(1)
    out.flush()
    if failed:
        first = failed[0]
        typer.echo(
            f"error: the checks failed on {len(failed)} of {len(items)} line(s); those were refused "
            f"(first: {name} line {first.line}: {first.error})",
            err=True,
        )
        return 3
    return 1 if refused else 0


def check(
    text: str | None = typer.Argument(
        None, help="The text to check, or - to read it from standard input (not with --batch)."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", envvar="HEGUI_POLICY_FILE", help="Policy file (default: the bundled policy)."
    ),
    stage: Stage = typer.Option(Stage.INPUT, "--stage", help="The stage whose checks run."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: action and findings."),
    batch: str | None = typer.Option(
        None,
        "--batch",
        help='A file of texts, one per line or JSONL ({"text"} / {"prompt", "response"}); - for '
        "standard input. Prints one JSON verdict per line.",
    ),
    batch_format: str = typer.Option(
        "auto", "--batch-format", help="auto (JSONL when the first line starts with {), lines or jsonl."
    ),
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
    lexicon_tags: Path | None = typer.Option(
        None, "--lexicon-tags", help="A `term tag[,tag]` file giving categories to a plain --lexicon."
    ),
) -> None:
    """Run the policy's checks on TEXT (or on every line of --batch FILE) and print the verdict.

    Exit code: 0 when the text may pass (allow, label, mask), 1 when it is refused, 2 on bad input.
    With --batch: 0 when every line may pass, 1 when some line is refused, 2 when the file is bad
    (nothing is judged), 3 when the checks failed on some line (that line is refused, the rest judged).
    """
    try:
        if (text is None) == (batch is None):
            raise RequestError("give either TEXT (or -) or --batch FILE")
        pipeline = _pipeline(
            policy,
            lexicon,
            lexicon_format,
            lexicon_tiers=lexicon_tiers,
            tier_default=tier_default,
            lexicon_tags=lexicon_tags,
        )
        if batch is not None:
            raise typer.Exit(_run_batch(pipeline, stage, batch, batch_format))
        assert text is not None
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
