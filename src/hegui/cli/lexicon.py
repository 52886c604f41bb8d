"""`hegui lexicon import|stats|test`: bring lexicon files into the filing table, count, try them.

Thin: reading, matching and counting live in `hegui.guard.lexicon`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.errors import RequestError
from hegui.guard.lexicon.coverage import coverage
from hegui.guard.lexicon.model import DEFAULT_TAG_MAP
from hegui.guard.lexicon.sources import FORMATS, Format, load_lexicon, write_table
from hegui.taxonomy import is_risk

app = typer.Typer(help="Keyword lexicons: import, coverage statistics, trial matching.", no_args_is_help=True)

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
