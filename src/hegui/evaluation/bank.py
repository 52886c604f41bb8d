"""Test-question banks in the regulator's columns, and how they stand against SEC-02/SEC-03.

A bank row has 测试题 (the question), 一级分类 and 二级分类 (its category), and a kind: should-refuse,
should-answer (non-refusal) or generated-content, from a ``kind``/``题型`` column or given for the whole
file. Each item is grouped under a risk id of Annex A (or, for the non-refusal bank, one of the 13
aspects) when its category names one, else under its category text, so a user's own categories still
count but show as not covering a required group. Item ids are stable (the file's own id column, else a
hash of kind and question) so a run can resume by id.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hegui.errors import RequestError
from hegui.evaluation.minimums import ANSWER_ASPECTS, Kind, Minimums
from hegui.evaluation.tables import Row, read_rows, write_rows
from hegui.taxonomy import RISKS

QUESTION_COLUMNS = ("测试题", "问题", "question", "text", "prompt")
CAT1_COLUMNS = ("一级分类", "违规类型", "category1")
CAT2_COLUMNS = ("二级分类", "违规子类", "category2", "category")
KIND_COLUMNS = ("kind", "题型", "类型")
ID_COLUMNS = ("id", "ID", "编号", "序号")
RISK_COLUMNS = ("risk", "风险")

BANK_HEADER = ("id", "测试题", "一级分类", "二级分类", "kind", "risk")

_KIND_WORDS: dict[str, Kind] = {
    "should-refuse": Kind.SHOULD_REFUSE,
    "refuse": Kind.SHOULD_REFUSE,
    "应拒答": Kind.SHOULD_REFUSE,
    "拒答": Kind.SHOULD_REFUSE,
    "should-answer": Kind.SHOULD_ANSWER,
    "answer": Kind.SHOULD_ANSWER,
    "non-refusal": Kind.SHOULD_ANSWER,
    "非拒答": Kind.SHOULD_ANSWER,
    "不应拒答": Kind.SHOULD_ANSWER,
    "generated-content": Kind.GENERATED,
    "generated": Kind.GENERATED,
    "生成内容": Kind.GENERATED,
}


def parse_kind(value: str) -> Kind:
    kind = _KIND_WORDS.get(value.strip().lower())
    if kind is None:
        raise RequestError(
            f"unknown bank kind {value!r}; expected should-refuse, should-answer or generated-content"
        )
    return kind


@dataclass(frozen=True, slots=True)
class BankItem:
    id: str
    question: str
    category1: str
    category2: str
    kind: Kind
    #: The group the minimums count: a risk id, an aspect key, or the category text when neither.
    group: str
    source: str = ""

    @property
    def mapped(self) -> bool:
        return self.group in RISKS or self.group in ANSWER_ASPECTS

    def row(self) -> Row:
        return {
            "id": self.id,
            "测试题": self.question,
            "一级分类": self.category1,
            "二级分类": self.category2,
            "kind": self.kind.value,
            "risk": self.group,
        }


def _first(row: Mapping[str, str], names: Sequence[str]) -> str:
    for name in names:
        if row.get(name):
            return row[name]
    return ""


_ZH_NAMES = {r.zh: r.id for r in RISKS.values()}


def resolve_group(kind: Kind, texts: Iterable[str], mapping: Mapping[str, str] | None = None) -> str:
    """The risk id (or aspect) that category texts name, most specific text first (a risk column,
    then 二级分类, then 一级分类); '' when none does. A user's ``mapping`` of a text wins over the
    names of the taxonomy for that text."""
    for t in (t.strip() for t in texts if t and t.strip()):
        if mapping and t in mapping:
            return mapping[t]
        found = _aspect(t) if kind is Kind.SHOULD_ANSWER else _risk(t)
        if found:
            return found
    return ""


def _aspect(text: str) -> str:
    low = text.lower()
    if low in ANSWER_ASPECTS:
        return low
    return next((a for a, words in ANSWER_ASPECTS.items() if any(w in low for w in words)), "")


def _risk(text: str) -> str:
    head = text.split(maxsplit=1)[0]
    if head in RISKS:
        return head
    if text in _ZH_NAMES:
        return _ZH_NAMES[text]
    return next((rid for zh, rid in _ZH_NAMES.items() if zh in text or (len(text) >= 4 and text in zh)), "")


def _item_id(kind: Kind, question: str) -> str:
    return hashlib.sha256(f"{kind.value}\0{question}".encode()).hexdigest()[:16]


def load_bank(
    path: Path, kind: Kind | None = None, mapping: Mapping[str, str] | None = None
) -> list[BankItem]:
    """The items of one bank file. ``kind`` applies to rows without a kind column; a row with neither
    is an error naming the row, since a question without a kind cannot be judged."""
    items: list[BankItem] = []
    seen: Counter[str] = Counter()
    for n, row in enumerate(read_rows(path), 2):
        question = _first(row, QUESTION_COLUMNS)
        if not question:
            raise RequestError(f"{path}: row {n} has no question (columns {', '.join(QUESTION_COLUMNS[:2])})")
        kind_text = _first(row, KIND_COLUMNS)
        row_kind = parse_kind(kind_text) if kind_text else kind
        if row_kind is None:
            raise RequestError(f"{path}: row {n} has no kind; give a kind column or --kind")
        cat1, cat2 = _first(row, CAT1_COLUMNS), _first(row, CAT2_COLUMNS)
        group = resolve_group(row_kind, (_first(row, RISK_COLUMNS), cat2, cat1), mapping) or cat2 or cat1
        base = _first(row, ID_COLUMNS) or _item_id(row_kind, question)
        seen[base] += 1
        item_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        items.append(BankItem(item_id, question, cat1, cat2, row_kind, group or "(none)", str(path)))
    return items


def write_bank(path: Path, items: Sequence[BankItem]) -> None:
    write_rows(path, BANK_HEADER, [i.row() for i in items], sheet="测试题")


# --- check ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupCount:
    group: str
    count: int
    minimum: int

    @property
    def short(self) -> int:
        return max(0, self.minimum - self.count)


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    first: str
    second: str
    similarity: float


@dataclass(frozen=True, slots=True)
class KindReport:
    kind: Kind
    total: int
    minimum_total: int
    groups: tuple[GroupCount, ...]
    #: Groups present in the bank that name no risk or aspect (counted, but covering no minimum).
    unmapped: tuple[GroupCount, ...]

    @property
    def empty(self) -> list[str]:
        return [g.group for g in self.groups if g.count == 0]

    @property
    def shortfalls(self) -> list[str]:
        out = (
            [
                f"{self.kind.value}: {self.total} questions, {self.minimum_total - self.total} short of {self.minimum_total}"
            ]
            if self.total < self.minimum_total
            else []
        )
        out += [f"{self.kind.value} {g.group}: {g.count} of {g.minimum}" for g in self.groups if g.short]
        return out


@dataclass(frozen=True, slots=True)
class BankReport:
    kinds: tuple[KindReport, ...]
    duplicates: tuple[DuplicatePair, ...]
    near_duplicates: tuple[DuplicatePair, ...]
    minimums: Minimums
    items: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def meets_minimums(self) -> bool:
        return not any(k.shortfalls for k in self.kinds)


def normalise(text: str) -> str:
    """NFKC, lower case, no spaces or punctuation: what "the same question" means for duplicates."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch)[0] in "PS"))


def _shingles(text: str, n: int = 3) -> set[str]:
    return {text[i : i + n] for i in range(max(1, len(text) - n + 1))}


def find_duplicates(
    items: Sequence[BankItem], threshold: float = 0.8, num_perm: int = 128
) -> tuple[list[DuplicatePair], list[DuplicatePair]]:
    """Exact duplicates (same normalised text) and near-duplicates (MinHash LSH over character
    3-grams, Jaccard estimate ≥ threshold), each pair once, the first occurrence first."""
    from datasketch import MinHash, MinHashLSH

    exact: list[DuplicatePair] = []
    first_of: dict[str, str] = {}
    unique: list[tuple[str, str]] = []
    for it in items:
        key = normalise(it.question)
        if key in first_of:
            exact.append(DuplicatePair(first_of[key], it.id, 1.0))
        else:
            first_of[key] = it.id
            unique.append((it.id, key))
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes: dict[str, MinHash] = {}
    near: list[DuplicatePair] = []
    for item_id, key in unique:
        mh = MinHash(num_perm=num_perm, seed=1)
        mh.update_batch([s.encode() for s in _shingles(key)])
        for other in lsh.query(mh):
            sim = hashes[other].jaccard(mh)
            if sim >= threshold:
                near.append(DuplicatePair(other, item_id, round(sim, 3)))
        lsh.insert(item_id, mh)
        hashes[item_id] = mh
    return exact, near


def check_bank(items: Sequence[BankItem], minimums: Minimums, *, near_threshold: float = 0.8) -> BankReport:
    by_kind: dict[Kind, Counter[str]] = defaultdict(Counter)
    for it in items:
        by_kind[it.kind][it.group] += 1
    reports = []
    for kind in Kind:
        if kind not in by_kind:
            continue
        counts = by_kind[kind]
        required = minimums.per_risk(kind)
        groups = tuple(GroupCount(g, counts.get(g, 0), m) for g, m in required.items())
        unmapped = tuple(GroupCount(g, c, 0) for g, c in sorted(counts.items()) if g not in required)
        reports.append(KindReport(kind, sum(counts.values()), minimums.total(kind), groups, unmapped))
    exact, near = find_duplicates(items, near_threshold)
    return BankReport(tuple(reports), tuple(exact), tuple(near), minimums, len(items))


# --- build ---------------------------------------------------------------------------------------


def sample_per_group(items: Sequence[BankItem], per_group: int, seed: int) -> list[BankItem]:
    """Up to ``per_group`` items from each group, chosen by a seeded generator: the same sources and
    seed give the same bank. Exact duplicates are dropped first."""
    rng = random.Random(seed)
    seen: set[str] = set()
    groups: dict[str, list[BankItem]] = defaultdict(list)
    for it in items:
        key = normalise(it.question)
        if key and key not in seen:
            seen.add(key)
            groups[it.group].append(it)
    out: list[BankItem] = []
    for group in sorted(groups):
        pool = groups[group]
        out.extend(pool if len(pool) <= per_group else rng.sample(pool, per_group))
    return out


def labelled_items(
    path: Path,
    kind: Kind,
    *,
    labels: Sequence[str] = (),
    mapping: Mapping[str, str] | None = None,
    category: str = "",
) -> list[BankItem]:
    """Items from a labelled source (JSONL text/label/category, or any table with a question column),
    keeping rows whose ``label`` is one of ``labels`` (all rows when none are given)."""
    out: list[BankItem] = []
    for n, row in enumerate(read_rows(path), 1):
        if labels and row.get("label", "") not in labels:
            continue
        question = _first(row, QUESTION_COLUMNS)
        if not question:
            continue
        cat1 = _first(row, CAT1_COLUMNS).strip()
        cat2 = _first(row, CAT2_COLUMNS).strip() or category
        group = (
            resolve_group(kind, (_first(row, RISK_COLUMNS), cat2, cat1), mapping) or cat2 or cat1 or "(none)"
        )
        out.append(BankItem(_item_id(kind, question), question, cat1, cat2, kind, group, f"{path}:{n}"))
    return out


_MAP_RE = re.compile(r"^(.+?)=(.+)$")


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``--map 违法犯罪=A.1h`` pairs: a category text to a risk id or aspect."""
    out: dict[str, str] = {}
    for pair in pairs:
        m = _MAP_RE.match(pair)
        if not m:
            raise RequestError(f"--map {pair!r}: expected CATEGORY=RISK")
        target = m.group(2).strip()
        if target not in RISKS and target not in ANSWER_ASPECTS:
            raise RequestError(f"--map {pair!r}: {target!r} is neither a risk id (A.1a … A.5b) nor an aspect")
        out[m.group(1).strip()] = target
    return out
