"""`hegui eval bank check|build`, `hegui eval run`, `hegui eval compare`: test banks and the safety
evaluation of an OpenAI-compatible endpoint (GB/T 45654 8.2, 8.3, 9.3, 9.4).

Thin: reading banks, judging, running and counting live in `hegui.evaluation`.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hegui.cli import handled
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
