"""Reading lexicon files: plain lists, ``word tag[,tag]`` tag files, and CSV/XLSX tables.

Formats:

- ``plain``: one term per line, UTF-8 (a BOM is allowed); blank lines are skipped. Every term gets
  the default category.
- ``tags``: ``term tag[,tag]`` per line (the sensitive-word format); the tags map to risk ids through
  the tag map. A term without tags gets the default category.
- ``csv`` / ``xlsx``: a header row with the filing columns 关键词 / 一级分类 / 二级分类 and optional
  处置 (action: allow|label|mask|refuse|block_user) and 拼音 (是/否). A category cell may hold a risk id
  (``A.1f``), a risk's Chinese or English name, or a label that the category map resolves.

Every problem raises `ConfigError` naming the file and the line or row: a lexicon that loads half is
a filter with holes. This module only reads and writes files; it never matches.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from hegui.errors import ConfigError
from hegui.guard.lexicon.model import DEFAULT_TAG_MAP, Lexicon, Term
from hegui.guard.types import Action
from hegui.taxonomy import RISKS, is_risk

Format = Literal["plain", "tags", "csv", "xlsx"]
FORMATS: tuple[str, ...] = ("plain", "tags", "csv", "xlsx")

COL_TERM, COL_CAT1, COL_CAT2, COL_ACTION, COL_PINYIN = "关键词", "一级分类", "二级分类", "处置", "拼音"
_YES = {"是", "y", "yes", "true", "1"}
_NO = {"否", "n", "no", "false", "0", ""}


def guess_format(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".csv":
        return "csv"
    return "plain"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("lexicon file not found", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 (byte {exc.start})", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(path)) from None


def read_plain(path: Path, category: str) -> list[Term]:
    return [Term(line.strip(), (category,)) for line in _read_text(path).splitlines() if line.strip()]


def read_tags(path: Path, category: str, tag_map: Mapping[str, str] | None = None) -> list[Term]:
    tags_to_risk = dict(DEFAULT_TAG_MAP if tag_map is None else tag_map)
    terms: list[Term] = []
    seen: dict[str, tuple[str, ...]] = {}
    for n, line in enumerate(_read_text(path).splitlines(), start=1):
        parts = line.strip().rsplit(None, 1)
        if not parts:
            continue
        if len(parts) == 1:
            terms.append(Term(parts[0], (category,)))
            continue
        word, tags = parts
        cats = seen.get(tags)
        if cats is None:  # a tags file repeats a few tag lists over tens of thousands of lines
            cats = seen[tags] = _risks_of(tags, tags_to_risk, path, n)
        terms.append(Term(word, cats))
    return terms


def _risks_of(tags: str, tags_to_risk: Mapping[str, str], path: Path, line: int) -> tuple[str, ...]:
    cats: list[str] = []
    for tag in tags.split(","):
        risk = tags_to_risk.get(tag.strip())
        if risk is None:
            raise ConfigError(
                f"unknown tag {tag.strip()!r}; map it with a tag map", file=str(path), key=f"line {line}"
            )
        if risk not in cats:
            cats.append(risk)
    return tuple(sorted(cats))


def overlay_tags(terms: Sequence[Term], tagged: Sequence[Term]) -> list[Term]:
    """The plain terms with the categories of a tag file where it has the term (plus its extra terms)."""
    by_text = {t.text: t for t in tagged}
    out = [by_text.get(t.text, t) for t in terms]
    seen = {t.text for t in terms}
    return out + [t for t in tagged if t.text not in seen]


def resolve_category(value: str, category_map: Mapping[str, str]) -> str | None:
    value = value.strip()
    if not value:
        return None
    if value in category_map:
        return category_map[value]
    if is_risk(value):
        return value
    for r in RISKS.values():
        if value in (r.zh, r.en) or value.lower() == r.en.lower():
            return r.id
    return None


def _rows_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_read_text(path))))


def _rows_xlsx(path: Path) -> list[list[str]]:
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError(
            "reading .xlsx lexicons needs openpyxl: pip install 'hegui[office]'", file=str(path)
        ) from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise ConfigError("lexicon file not found", file=str(path)) from None
    except Exception as exc:  # openpyxl raises many types for a broken file; name it and stop
        raise ConfigError(f"not a readable .xlsx workbook: {exc}", file=str(path)) from None
    try:
        ws = wb.worksheets[0]
        return [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def read_table(
    path: Path, fmt: Literal["csv", "xlsx"], category: str, category_map: Mapping[str, str] | None = None
) -> list[Term]:
    rows = _rows_xlsx(path) if fmt == "xlsx" else _rows_csv(path)
    if not rows:
        raise ConfigError("empty lexicon table", file=str(path))
    header = [h.strip() for h in rows[0]]
    if COL_TERM not in header:
        raise ConfigError(f"the header row has no {COL_TERM} column", file=str(path), key="row 1")
    col = {
        name: header.index(name)
        for name in (COL_TERM, COL_CAT1, COL_CAT2, COL_ACTION, COL_PINYIN)
        if name in header
    }
    cmap = dict(category_map or {})
    terms: list[Term] = []
    for n, row in enumerate(rows[1:], start=2):

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        word = cell(COL_TERM)
        if not word:
            continue
        cats = [resolve_category(v, cmap) for v in re.split(r"[,，;；]", cell(COL_CAT2)) if v.strip()]
        if not cats:
            cats = [resolve_category(cell(COL_CAT1), cmap)] if cell(COL_CAT1) else []
        if None in cats:
            raise ConfigError(
                f"cannot map category {cell(COL_CAT2) or cell(COL_CAT1)!r} to a risk id (A.1a … A.5b); "
                "use an id, a risk name, or a category map",
                file=str(path),
                key=f"row {n}",
            )
        action_text = cell(COL_ACTION).lower()
        try:
            action = Action(action_text) if action_text else None
        except ValueError:
            raise ConfigError(f"unknown action {action_text!r}", file=str(path), key=f"row {n}") from None
        flag = cell(COL_PINYIN).lower()
        if flag not in _YES | _NO:
            raise ConfigError(f"拼音 must be 是 or 否, got {flag!r}", file=str(path), key=f"row {n}")
        found = tuple(dict.fromkeys(c for c in cats if c is not None)) or (category,)
        terms.append(Term(word, found, action, flag in _YES))
    return terms


def builtin_allow() -> list[str]:
    """The bundled context allow-list: harmless words that contain a common sensitive term across a
    word boundary (口交 in 路口交通). Small by design; a provider adds its own with ``allow_file``."""
    from importlib import resources

    text = resources.files("hegui.guard.lexicon").joinpath("context_allow.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def load_lexicon(
    path: Path,
    fmt: Format | None = None,
    *,
    category: str = "A.1h",
    tags_file: Path | None = None,
    tag_map: Mapping[str, str] | None = None,
    category_map: Mapping[str, str] | None = None,
    allow: Iterable[str] = (),
    allow_file: Path | None = None,
    with_builtin_allow: bool = True,
) -> Lexicon:
    """Read one lexicon file (plus an optional tag file and allow-lists) into a Lexicon."""
    fmt = fmt or guess_format(path)
    if not is_risk(category):
        raise ConfigError(f"unknown risk category {category!r}", file=str(path))
    terms: list[Term]
    try:
        if fmt == "plain":
            terms = read_plain(path, category)
        elif fmt == "tags":
            terms = read_tags(path, category, tag_map)
        elif fmt in ("csv", "xlsx"):
            terms = read_table(path, fmt, category, category_map)
        else:
            raise ConfigError(f"unknown lexicon format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if tags_file is not None:
            terms = overlay_tags(terms, read_tags(tags_file, category, tag_map))
    except ValueError as exc:  # a Term refused its own data (unknown category)
        raise ConfigError(str(exc), file=str(path)) from None
    allowed = list(allow) + (builtin_allow() if with_builtin_allow else [])
    if allow_file is not None:
        allowed += [line.strip() for line in _read_text(allow_file).splitlines() if line.strip()]
    lexicon = Lexicon.build(terms, allowed, source=str(path))
    if not lexicon.terms:
        raise ConfigError("the lexicon has no terms", file=str(path))
    return lexicon


def write_table(lexicon: Lexicon, path: Path) -> None:
    """Write the lexicon in the filing layout (关键词 / 一级分类 / 二级分类 / 处置 / 拼音), CSV or XLSX."""
    header = [COL_TERM, COL_CAT1, COL_CAT2, COL_ACTION, COL_PINYIN]
    rows = [
        [
            t.text,
            RISKS[t.category].category,
            ",".join(t.categories),
            t.action.value if t.action else "",
            "是" if t.pinyin else "否",
        ]
        for t in lexicon.terms
    ]
    if path.suffix.lower() == ".xlsx":
        try:
            import openpyxl
        except ImportError:
            raise ConfigError(
                "writing .xlsx needs openpyxl: pip install 'hegui[office]'", file=str(path)
            ) from None
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("lexicon")
        ws.append(header)
        for row in rows:
            ws.append(row)
        wb.save(path)
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
