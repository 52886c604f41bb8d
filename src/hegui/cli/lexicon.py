"""`hegui lexicon import|stats|test|calibrate`: bring lexicon files into the filing table, count, try
them, and propose per-term actions from a labelled corpus.

Thin: reading, matching, counting and calibrating live in `hegui.guard.lexicon`. `calibrate` only
writes the overrides file it is told to write; it never changes the lexicon or the policy.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.console import Console

from hegui.cli import handled
from hegui.errors import RequestError
from hegui.guard.lexicon.calibrate import (
    ActionResolver,
    CalibrationRule,
    LabelledRow,
    Rates,
    TierRule,
    calibrate,
    calibrate_tiers,
)
from hegui.guard.lexicon.coverage import coverage
from hegui.guard.lexicon.model import DEFAULT_TAG_MAP
from hegui.guard.lexicon.overrides import write_overrides
from hegui.guard.lexicon.sources import FORMATS, Format, load_lexicon, write_table
from hegui.guard.lexicon.tiers import write_tiers
from hegui.guard.types import Action
from hegui.taxonomy import is_risk

app = typer.Typer(
    help="Keyword lexicons: import, coverage statistics, trial matching, calibration.", no_args_is_help=True
)

_FORMAT_HELP = "plain, tags, csv or xlsx (default: from the file suffix; .txt is plain)."


def _format(value: str | None) -> Format | None:
    if value is None:
        return None
    if value not in FORMATS:
        raise RequestError(f"--format must be one of {', '.join(FORMATS)}, not {value!r}")
    return value  # type: ignore[return-value]


def _tag_map(pairs: list[str]) -> dict[str, str]:
    out = dict(DEFAULT_TAG_MAP)
    for pair in pairs:
        tag, sep, risk = pair.partition("=")
        if not sep or not is_risk(risk.strip()):
            raise RequestError(f"--map takes TAG=RISK_ID (e.g. 0=A.1a), not {pair!r}")
        out[tag.strip()] = risk.strip()
    return out


def _load(path: Path, fmt: str | None, tags: Path | None, allow: Path | None, maps: list[str], category: str):  # type: ignore[no-untyped-def]
    return load_lexicon(
        path, _format(fmt), category=category, tags_file=tags, tag_map=_tag_map(maps), allow_file=allow
    )


_Fmt = typer.Option(None, "--format", help=_FORMAT_HELP)
_Tags = typer.Option(None, "--tags", help="A `term tag[,tag]` file giving categories to a plain list.")
_Allow = typer.Option(None, "--allow", help="An allow-list file, one word per line.")
_Map = typer.Option([], "--map", help="Tag to risk id, e.g. --map 0=A.1b (repeatable; over the default).")
_Cat = typer.Option("A.1h", "--category", help="Risk id for terms that carry no category.")


@app.command("import")
@handled
def import_(
    source: Path = typer.Argument(..., help="The lexicon file to import."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the table (.csv or .xlsx)."),
    fmt: str | None = _Fmt,
    tags: Path | None = _Tags,
    allow: Path | None = _Allow,
    maps: list[str] = _Map,
    category: str = _Cat,
) -> None:
    """Read a lexicon (plain, tags, csv, xlsx) and write it as the filing table 关键词/一级分类/二级分类."""
    lexicon = _load(source, fmt, tags, allow, maps, category)
    write_table(lexicon, output)
    typer.echo(f"{len(lexicon):,} terms → {output} (version {lexicon.version})")


@app.command("stats")
@handled
def stats(
    source: Path = typer.Argument(..., help="The lexicon file."),
    fmt: str | None = _Fmt,
    tags: Path | None = _Tags,
    maps: list[str] = _Map,
    category: str = _Cat,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when a GB/T 45654 minimum is not met."),
) -> None:
    """Count terms per risk and compare with the GB/T 45654 minimums (≥10,000; ≥200 per A.1; ≥100 per A.2)."""
    lexicon = _load(source, fmt, tags, None, maps, category)
    cov = coverage(lexicon)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "version": lexicon.version,
                    "total": cov.total,
                    "meets_minimums": cov.meets_minimums,
                    "risks": [
                        {"risk": r.risk, "count": r.count, "minimum": r.minimum, "short": r.short}
                        for r in cov.rows
                    ],
                    "shortfalls": cov.shortfalls(),
                },
                ensure_ascii=False,
            )
        )
    else:
        typer.echo(f"lexicon {source} · version {lexicon.version} · {cov.total:,} terms")
        for r in cov.rows:
            mark = "ok" if r.short == 0 else f"short by {r.short}"
            typer.echo(f"  {r.risk:5} {r.count:>7,}  (min {r.minimum:>3})  {mark:14} {r.name}")
        short = cov.shortfalls()
        typer.echo("meets the GB/T 45654 minimums" if not short else "short of the GB/T 45654 minimums:")
        for line in short:
            typer.echo(f"  - {line}")
    if strict and not cov.meets_minimums:
        raise typer.Exit(1)


@app.command("test")
@handled
def test(
    source: Path = typer.Argument(..., help="The lexicon file."),
    text: str = typer.Argument(..., help="Text to match, or - for standard input."),
    fmt: str | None = _Fmt,
    tags: Path | None = _Tags,
    allow: Path | None = _Allow,
    maps: list[str] = _Map,
    category: str = _Cat,
) -> None:
    """Show every term the lexicon finds in TEXT, with its span in the original. Exit 1 when any."""
    from hegui.guard.lexicon.matcher import CompiledLexicon

    if text == "-":
        text = sys.stdin.read()
    compiled = CompiledLexicon(_load(source, fmt, tags, allow, maps, category))
    matches = compiled.find(text)
    for m in matches:
        typer.echo(
            f"[{m.start}:{m.end}] {text[m.start : m.end]!r} term={m.term.text!r} "
            f"risks={','.join(m.term.categories)} via={m.via}"
        )
    typer.echo(f"{len(matches)} match(es) · lexicon version {compiled.version}")
    if matches:
        raise typer.Exit(1)


def _records(path: Path, text_col: str, label_col: str) -> Iterator[tuple[str, str, str]]:
    """("row N" or "line N", text, label) of a CSV corpus (header row) or a JSONL one (``.jsonl``)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RequestError(f"cannot read the corpus {path}: {exc}") from None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RequestError(f"{path} line {n}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get(text_col), str):
                raise RequestError(f"{path} line {n}: expected an object with a string {text_col!r}")
            label = record.get(label_col)
            yield f"line {n}", record[text_col], "" if label is None else str(label).strip()
        return
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    for flag, name in (("--text-column", text_col), ("--label-column", label_col)):
        if name not in columns:
            raise RequestError(f"{flag} {name!r} is not a column of {path} (columns: {', '.join(columns)})")
    for n, record in enumerate(reader, start=2):
        yield f"row {n}", record.get(text_col) or "", (record.get(label_col) or "").strip()


def _corpus(
    paths: list[Path], text_col: str, label_col: str, safe: list[str], unsafe: list[str]
) -> list[LabelledRow]:
    """Rows of labelled corpora (CSV or JSONL); every problem is a RequestError naming the row or line."""
    rows: list[LabelledRow] = []
    for path in paths:
        for where, text, label in _records(path, text_col, label_col):
            if label in safe:
                is_unsafe = False
            elif not unsafe or label in unsafe:
                if not label:
                    raise RequestError(f"{path} {where}: empty label in {label_col!r}")
                is_unsafe = True
            else:
                raise RequestError(
                    f"{path} {where}: label {label!r} is neither a --safe-value ({', '.join(safe)}) "
                    f"nor an --unsafe-value ({', '.join(unsafe)})"
                )
            rows.append(LabelledRow(text, is_unsafe))
    if not rows:
        raise RequestError(f"the corpus {', '.join(map(str, paths))} has no rows")
    return rows


def _category_actions(pairs: list[str]) -> dict[str, Action]:
    out: dict[str, Action] = {}
    for pair in pairs:
        risk, sep, action = pair.partition("=")
        try:
            if not sep or not is_risk(risk.strip()):
                raise ValueError
            out[risk.strip()] = Action(action.strip())
        except ValueError:
            raise RequestError(
                f"--category-action takes RISK_ID=ACTION (e.g. A.1h=label), not {pair!r}"
            ) from None
    return out


def _action(value: str, flag: str) -> Action:
    try:
        return Action(value)
    except ValueError:
        raise RequestError(
            f"{flag} must be one of {', '.join(a.value for a in Action)}, not {value!r}"
        ) from None


@app.command("calibrate")
@handled
def calibrate_(
    source: Path = typer.Argument(..., help="The lexicon file."),
    corpora: list[Path] = typer.Option(
        ..., "--corpus", help="Labelled corpus: CSV with a header row, or JSONL (.jsonl); repeatable."
    ),
    text_col: str = typer.Option("text", "--text-column", help="Column (JSONL: key) holding the text."),
    label_col: str = typer.Option("label", "--label-column", help="Column (JSONL: key) holding the label."),
    safe_values: list[str] = typer.Option(
        ..., "--safe-value", help="Label value of a safe row (repeatable: benign and borderline)."
    ),
    unsafe_values: list[str] = typer.Option(
        [], "--unsafe-value", help="Label value of an unsafe row (repeatable; default: every other value)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the overrides or tiers CSV."),
    mode: str = typer.Option(
        "actions",
        "--mode",
        help="actions: per-term action overrides; tiers: a tiers file (red-line/topic/noise).",
    ),
    fmt: str | None = typer.Option(None, "--lexicon-format", "--format", help=_FORMAT_HELP),
    tags: Path | None = _Tags,
    allow: Path | None = _Allow,
    maps: list[str] = _Map,
    category: str = _Cat,
    default_action: str = typer.Option("refuse", "--action", help="The check's action (as in the policy)."),
    category_actions: list[str] = typer.Option(
        [], "--category-action", help="RISK_ID=ACTION as the policy's category_actions (repeatable)."
    ),
    pins: list[str] = typer.Option([], "--pin", help="actions mode: a term never to change (repeatable)."),
    pin_file: Path | None = typer.Option(
        None, "--pin-file", help="actions mode: terms never to change, one per line."
    ),
    min_safe: int | None = typer.Option(
        None, "--min-safe", min=1, help="Least safe rows: to downgrade (actions, 3) / for noise (tiers, 5)."
    ),
    max_share: float = typer.Option(
        0.5, "--max-unsafe-share", min=0.0, max=1.0, help="actions: downgrade when the unsafe share is below."
    ),
    to: str = typer.Option(
        "label", "--to", help="actions: action for downgraded terms (allow, label, mask)."
    ),
    min_unsafe: int = typer.Option(3, "--min-unsafe", min=1, help="tiers: least unsafe rows for red-line."),
    red_line_share: float = typer.Option(
        0.97, "--red-line-share", min=0.5, max=1.0, help="tiers: least unsafe share for red-line."
    ),
    red_line_max_safe: int = typer.Option(
        10, "--red-line-max-safe", min=0, help="tiers: most safe rows a red-line term may hit."
    ),
    segmenter_name: str = typer.Option(
        "rjieba", "--segmenter", help="tiers: dictionary of common words (rjieba, jieba; none: no prior)."
    ),
    unbalanced: bool = typer.Option(
        False, "--unbalanced", help="Share of raw hit counts instead of per-class hit rates."
    ),
) -> None:
    """Count each term's hits on safe and unsafe rows; write per-term action overrides or tiers to review."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from hegui.guard.lexicon.matcher import CompiledLexicon

    if mode not in ("actions", "tiers"):
        raise RequestError(f"--mode must be actions or tiers, not {mode!r}")
    try:
        rule = CalibrationRule(min_safe or 3, max_share, _action(to, "--to"), not unbalanced)
        tier_rule = TierRule(min_unsafe, red_line_share, min_safe or 5, not unbalanced, red_line_max_safe)
    except ValueError as exc:
        raise RequestError(str(exc)) from None
    is_common = _common_words(segmenter_name) if mode == "tiers" else None
    resolver = ActionResolver(_action(default_action, "--action"), _category_actions(category_actions))
    rows = _corpus(corpora, text_col, label_col, safe_values, unsafe_values)
    lexicon = _load(source, fmt, tags, allow, maps, category)
    pinned = set(pins) | {t.text for t in lexicon.terms if t.action is not None}
    if pin_file is not None:
        try:
            pinned |= {w.strip() for w in pin_file.read_text(encoding="utf-8-sig").splitlines() if w.strip()}
        except (OSError, UnicodeDecodeError) as exc:
            raise RequestError(f"cannot read --pin-file {pin_file}: {exc}") from None
    compiled = CompiledLexicon(lexicon)  # no word-boundary rule: see calibrate_tiers
    console = Console(stderr=True)
    with Progress(
        TextColumn("matching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # a log file gets the summary only
    ) as bar:
        task = bar.add_task("rows", total=len(rows))
        if mode == "tiers":
            tiers = calibrate_tiers(
                compiled, rows, tier_rule, resolver, is_common, lambda n: bar.advance(task, n)
            )
        else:
            result = calibrate(compiled, rows, rule, resolver, pinned, lambda n: bar.advance(task, n))
    if mode == "tiers":
        write_tiers(tiers.rows, output)
        n_safe, n_unsafe, before, after = tiers.n_safe, tiers.n_unsafe, tiers.before, tiers.after
        counts = {t: sum(r.tier.value == t for r in tiers.rows) for t in ("red-line", "topic", "noise")}
        terms_hit = len(tiers.rows)
        changed = (
            f"{counts['red-line']:,} red-line · {counts['topic']:,} topic · {counts['noise']:,} noise"
            f" · written to {output}"
        )
        hint = "Review the file, then set tiers_file in the lexicon check. Measure on rows not used here."
    else:
        write_overrides(result.overrides, output)
        n_safe, n_unsafe, before, after = result.n_safe, result.n_unsafe, result.before, result.after
        terms_hit = result.terms_hit
        changed = (
            f"{len(result.overrides):,} term(s) → {rule.to.value}"
            + (
                f" ({result.pinned_skipped} more met the rule but are pinned)"
                if result.pinned_skipped
                else ""
            )
            + f" · written to {output}"
        )
        hint = "Review the file, then set actions_file in the lexicon check. Measure on rows not used here."
    typer.echo(
        f"{len(rows):,} rows ({n_safe:,} safe, {n_unsafe:,} unsafe) · lexicon {len(lexicon):,} "
        f"terms, version {lexicon.version} · {terms_hit:,} terms hit"
    )
    typer.echo(changed)
    _rates(before, after)
    typer.echo(hint)


def _common_words(name: str) -> Callable[[str], bool] | None:
    from hegui.guard.lexicon.segment import SEGMENTERS, common_words, segmenter

    if name not in SEGMENTERS:
        raise RequestError(f"--segmenter must be one of {', '.join(SEGMENTERS)}, not {name!r}")
    if name == "none":
        return None
    try:
        return common_words(segmenter(name))
    except ImportError as exc:
        raise RequestError(str(exc)) from None


def _rates(b: Rates, a: Rates) -> None:
    typer.echo("on these rows        before    after")
    typer.echo(f"  safe refused     {b.safe_refused:8.1%} {a.safe_refused:8.1%}")
    typer.echo(f"  unsafe refused   {b.unsafe_refused:8.1%} {a.unsafe_refused:8.1%}")
    typer.echo(f"  safe found       {b.safe_found:8.1%} {a.safe_found:8.1%}")
    typer.echo(f"  unsafe found     {b.unsafe_found:8.1%} {a.unsafe_found:8.1%}")
