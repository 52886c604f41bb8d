"""`hegui eval bank check|build`, `hegui eval run`, `hegui eval compare`: test banks and the safety
evaluation of an OpenAI-compatible endpoint (GB/T 45654 8.2, 8.3, 9.3, 9.4).

Thin: reading banks, judging, running and counting live in `hegui.evaluation`.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.errors import RequestError
from hegui.evaluation.bank import (
    BankReport,
    check_bank,
    labelled_items,
    load_bank,
    parse_kind,
    parse_mapping,
    sample_per_group,
    write_bank,
)
from hegui.evaluation.judges import Panel
from hegui.evaluation.minimums import load_minimums

app = typer.Typer(
    help="Safety evaluation: test banks, runs against an endpoint, comparison.", no_args_is_help=True
)
bank_app = typer.Typer(
    help="Test-question banks: check against the GB/T 45654 minimums, build from sources.",
    no_args_is_help=True,
)
app.add_typer(bank_app, name="bank")

_Kind = typer.Option(
    None, "--kind", help="should-refuse, should-answer or generated-content, for rows without a kind column."
)
_Map = typer.Option(
    [], "--map", help="A category text to a risk id or aspect, e.g. --map 违法犯罪=A.1h (repeatable)."
)
_Minimums = typer.Option(
    None, "--minimums", help="A TOML file overriding the spec's numbers ([bank], [rates])."
)


@bank_app.command("check")
@handled
def bank_check(
    files: list[Path] = typer.Argument(
        ..., help="Bank files (.xlsx, .csv, .jsonl) in the regulator's columns."
    ),
    kind: str | None = _Kind,
    maps: list[str] = _Map,
    minimums: Path | None = _Minimums,
    near: float = typer.Option(
        0.8, "--near", min=0.1, max=1.0, help="Jaccard similarity for near-duplicates."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    strict: bool = typer.Option(
        False, "--strict", help="Exit 1 when a minimum is not met or a duplicate exists."
    ),
) -> None:
    """Count questions per risk against SEC-02/SEC-03, list empty categories, duplicates and near-duplicates."""
    mapping = parse_mapping(maps)
    given = parse_kind(kind) if kind else None
    items = [it for f in files for it in load_bank(f, given, mapping)]
    report = check_bank(items, load_minimums(minimums), near_threshold=near)
    typer.echo(json.dumps(_report_json(report), ensure_ascii=False) if as_json else _report_text(report))
    if strict and (not report.meets_minimums or report.duplicates or report.near_duplicates):
        raise typer.Exit(1)


def _report_json(r: BankReport) -> dict[str, object]:
    return {
        "items": r.items,
        "meets_minimums": r.meets_minimums,
        "kinds": [
            {
                "kind": k.kind.value,
                "total": k.total,
                "minimum": k.minimum_total,
                "groups": [
                    {"group": g.group, "count": g.count, "minimum": g.minimum, "short": g.short}
                    for g in k.groups
                ],
                "unmapped": [{"group": g.group, "count": g.count} for g in k.unmapped],
                "empty": k.empty,
                "shortfalls": k.shortfalls,
            }
            for k in r.kinds
        ],
        "duplicates": [[d.first, d.second] for d in r.duplicates],
        "near_duplicates": [[d.first, d.second, d.similarity] for d in r.near_duplicates],
        "minimums": r.minimums.model_dump(),
    }


def _report_text(r: BankReport) -> str:
    lines = [f"{r.items} questions"]
    for k in r.kinds:
        lines.append(f"{k.kind.value}: {k.total} (minimum {k.minimum_total})")
        for g in k.groups:
            mark = "ok" if not g.short else ("EMPTY" if g.count == 0 else f"short by {g.short}")
            lines.append(f"  {g.group:13} {g.count:>6}  (min {g.minimum:>3})  {mark}")
        for g in k.unmapped:
            lines.append(
                f"  {g.group:13} {g.count:>6}  (not a required group of this bank; --map assigns one)"
            )
    lines.append(f"duplicates: {len(r.duplicates)}; near-duplicates: {len(r.near_duplicates)}")
    for d in r.duplicates[:20]:
        lines.append(f"  duplicate {d.first} = {d.second}")
    for d in r.near_duplicates[:20]:
        lines.append(f"  near {d.first} ~ {d.second} ({d.similarity:.2f})")
    short = [s for k in r.kinds for s in k.shortfalls]
    lines.append("meets the GB/T 45654 minimums" if not short else "short of the GB/T 45654 minimums:")
    lines += [f"  - {s}" for s in short]
    return "\n".join(lines)


@bank_app.command("build")
@handled
def bank_build(
    sources: list[Path] = typer.Argument(
        ..., help="Labelled sources: JSONL text/label/category, or a CSV/XLSX with a question column."
    ),
    kind: str = typer.Option(..., "--kind", help="The kind of every built question."),
    output: Path = typer.Option(..., "--output", "-o", help="The bank to write (.xlsx, .csv or .jsonl)."),
    labels: list[str] = typer.Option(
        [], "--label", help="Keep rows with this label (repeatable; default: all)."
    ),
    per_risk: int = typer.Option(20, "--per-risk", min=1, help="Questions sampled per risk or category."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the sampler: the same sources and seed give the same bank."
    ),
    category: str = typer.Option("", "--category", help="Category for rows that carry none."),
    maps: list[str] = _Map,
) -> None:
    """Build a bank from labelled sources, sampling up to --per-risk questions from each risk (seeded)."""
    the_kind = parse_kind(kind)
    mapping = parse_mapping(maps)
    items = [
        it
        for s in sources
        for it in labelled_items(s, the_kind, labels=labels, mapping=mapping, category=category)
    ]
    chosen = sample_per_group(items, per_risk, seed)
    write_bank(output, chosen)
    groups = len({it.group for it in chosen})
    typer.echo(f"{len(chosen)} questions in {groups} groups from {len(items)} candidates → {output}")


def _panel(
    judge: str, policy: Path | None, llm_url: str | None, llm_model: str | None, llm_key: str
) -> Panel:
    """The judges a run uses: rules (or the LLM) for refusal, the policy's output stage for safety."""
    from hegui.evaluation.judges import GuardJudge, LLMJudge, RefusalRules
    from hegui.pipelines import build_pipeline
    from hegui.policy import load_policy

    llm = None
    if llm_url or llm_model:
        if not (llm_url and llm_model):
            raise RequestError("--judge-url and --judge-model go together")
        llm = LLMJudge(llm_url, llm_model, llm_key)
    if judge == "llm" and llm is None:
        raise RequestError("--judge llm needs --judge-url and --judge-model")
    model = load_policy(policy)
    refusal = llm if judge == "llm" and llm is not None else RefusalRules()
    safety = llm if judge == "llm" else GuardJudge(build_pipeline(model))
    return Panel(refusal, safety, model.labels)


@app.command("run")
@handled
def run(
    endpoint: str = typer.Option(
        ..., "--endpoint", help="Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1."
    ),
    model: str = typer.Option(..., "--model", help="The model to ask."),
    banks: list[Path] = typer.Option(..., "--bank", help="A bank file (repeatable)."),
    out: Path = typer.Option(..., "--out", help="The run's directory; rerun with the same one to resume."),
    kind: str | None = _Kind,
    maps: list[str] = _Map,
    api_key: str = typer.Option(
        "", "--api-key", envvar="HEGUI_EVAL_API_KEY", help="Bearer key of the endpoint."
    ),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=256, help="Questions in flight at once."),
    retries: int = typer.Option(
        3, "--retries", min=0, max=20, help="Retries on transport errors, 429 and 5xx."
    ),
    timeout: float = typer.Option(60.0, "--timeout", min=0.1, help="Seconds per request."),
    max_tokens: int = typer.Option(
        512, "--max-tokens", min=0, help="max_tokens of each request (0: not sent)."
    ),
    limit: int = typer.Option(0, "--limit", min=0, help="Ask only the first N questions (0: all)."),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        help="Policy whose output stage judges safety (default: HEGUI_POLICY_FILE or the bundled one).",
    ),
    judge: str = typer.Option(
        "rules", "--judge", help="rules (refusal phrases + the policy's output stage) or llm."
    ),
    judge_url: str | None = typer.Option(
        None, "--judge-url", help="OpenAI-compatible base URL of an LLM judge."
    ),
    judge_model: str | None = typer.Option(None, "--judge-model", help="Model of the LLM judge."),
    judge_key: str = typer.Option(
        "", "--judge-key", envvar="HEGUI_JUDGE_API_KEY", help="Bearer key of the LLM judge."
    ),
    minimums: Path | None = _Minimums,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when a SEC-04/05/06 threshold is not met."),
) -> None:
    """Ask an endpoint every bank question, judge the answers, and report per-risk rates (SEC-04/05/06)."""
    import asyncio

    from hegui.cli.common import progress
    from hegui.evaluation.report import write_outputs
    from hegui.evaluation.runner import Endpoint, Runner, RunOptions
    from hegui.evaluation.stats import summary_text

    if judge not in ("rules", "llm"):
        raise RequestError(f"--judge {judge!r}: expected rules or llm")
    mapping = parse_mapping(maps)
    given = parse_kind(kind) if kind else None
    items, seen = [], set()
    for b in banks:
        for it in load_bank(b, given, mapping):
            if it.id not in seen:  # the same question of the same kind in two banks is asked once
                seen.add(it.id)
                items.append((it, str(b)))
    if limit:
        items = items[:limit]
    the_minimums = load_minimums(minimums)
    # The banks as asked, against SEC-02/SEC-03: a run on a short bank measures, but says what is short.
    bank_report = check_bank([it for it, _ in items], the_minimums)
    panel = _panel(judge, policy, judge_url, judge_model, judge_key)
    runner = Runner(
        Endpoint(endpoint, model, api_key, timeout, max_tokens or None),
        panel,
        out,
        RunOptions(concurrency=concurrency, retries=retries),
    )
    try:
        with progress("eval", len(items)) as advance:
            records = asyncio.run(runner.run(items, advance))
    except KeyboardInterrupt:
        typer.echo(
            f"interrupted: finished items are kept in {out}; run the same command again to resume", err=True
        )
        raise typer.Exit(130) from None
    ordered = [records[it.id] for it, _ in items]
    summaries = write_outputs(out, ordered, the_minimums.rates, bank_report)
    typer.echo(summary_text(summaries, f"{model} at {endpoint}: {len(ordered)} questions → {out}"))
    typer.echo(_bank_lines(bank_report))
    errors = sum(s.errors for s in summaries)
    if errors:  # an incomplete run is not a measurement: say so in the exit code
        typer.echo(
            f"{errors} questions without an answer or verdict; run the same command again to retry them",
            err=True,
        )
        raise typer.Exit(1)
    if strict and not all(s.met for s in summaries):
        raise typer.Exit(1)


def _bank_lines(r: BankReport, show: int = 10) -> str:
    short = [s for k in r.kinds for s in k.shortfalls]
    dups = f"; {len(r.duplicates)} duplicate(s), {len(r.near_duplicates)} near-duplicate(s)"
    if not short:
        return "banks: meet the GB/T 45654 minimums (SEC-02/SEC-03)" + dups
    lines = [f"banks: short of the GB/T 45654 minimums (SEC-02/SEC-03) in {len(short)} place(s){dups}:"]
    lines += [f"  - {s}" for s in short[:show]]
    if len(short) > show:
        lines.append(f"  … {len(short) - show} more (`hegui eval bank check` lists them all)")
    return "\n".join(lines)


@app.command("compare")
@handled
def compare_(
    a: Path = typer.Argument(..., help="The --out directory of one run."),
    b: Path = typer.Argument(..., help="The --out directory of another run."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """Two runs side by side: rate per kind and group, and the difference (B − A)."""
    from dataclasses import asdict

    from hegui.evaluation.report import compare, load_summary

    rows = compare(load_summary(a), load_summary(b))
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in rows], ensure_ascii=False))
        return
    typer.echo(f"{'kind':17} {'metric':12} {'group':24} {'A':>8} {'B':>8} {'B−A':>8}")
    for r in rows:
        fa = f"{r.a_rate:.1%}" if r.a_rate is not None else "—"
        fb = f"{r.b_rate:.1%}" if r.b_rate is not None else "—"
        diff = f"{r.b_rate - r.a_rate:+.1%}" if r.a_rate is not None and r.b_rate is not None else ""
        typer.echo(f"{r.kind:17} {r.metric:12} {r.group[:24]:24} {fa:>8} {fb:>8} {diff:>8}")
