"""Lexicon calibration: per-term action overrides proposed from a labelled corpus.

A broad keyword lexicon lists everyday topic words (country names, family words, 政治) next to real
markers of harmful content. On a provider's own traffic such a topic word hits safe text about as often
as harmful text, and refusing on it refuses safe users. Calibration measures that with the real matcher
and proposes to *downgrade* those terms (by default to ``label``: still a finding, recorded and visible,
but the text is not refused):

1. `count_hits` runs the compiled lexicon over every row (text, unsafe?) and keeps, per row, the set of
   terms that hit it (a term counts once per row, however often it occurs).
2. `propose` applies the `CalibrationRule` to each term's row counts. A term is downgraded when

   - its effective action today stops the text (``refuse`` / ``block_user``) and is stronger than
     the rule's target action (calibration never upgrades and never touches weaker terms),
   - it hit at least ``min_safe`` safe rows (a term seen twice is not evidence), and
   - its **unsafe share** is below ``max_unsafe_share``. The share is
     ``u / (u + s)`` with ``u = unsafe hits / unsafe rows`` and ``s = safe hits / safe rows`` (rates,
     so a corpus with nine safe rows for one unsafe row does not make every term look safe); with
     ``balanced=False`` it is the raw ``unsafe hits / (safe hits + unsafe hits)``.

   A pinned term is never proposed, whatever its counts.
3. `refusal_rates` says what share of safe and unsafe rows are refused (and have any finding) before
   and after, on the same rows: the figures a reviewer needs before committing the overrides file.

**Tiers mode** (`propose_tiers`, `calibrate_tiers`): the same hit table gives every term that hit a row
a tier (`TierRule`), written to the tiers file (`hegui.guard.lexicon.tiers`) for review:

- **red-line**: it hit at least ``min_unsafe`` unsafe rows and at most ``max_safe`` safe rows (almost
  never harmless text, however many unsafe rows repeat it: jailbreak templates repeat words such as
  伦理 across thousands of harmful rows), its unsafe share is at least ``red_line_share``, and it is
  not a common word (``is_common``; a common word names a subject
  harmless text also talks about, so it stays a topic whatever one corpus says);
- **noise**: it hit at least ``min_safe`` safe rows and no unsafe row;
- **topic**: every other term that hit a row. Terms that hit nothing are not written: the check's
  ``tier_default`` decides them.

The hits are counted *without* the word-boundary rule: a term that cuts through harmless words (代开 in
朝代开始) then shows safe hits and stays a topic, so the boundary rule keeps applying to it.

A row is refused when any term that hits it has an effective action that stops; the lexicon check's
nesting rule never changes that (a nested finding is dropped only under one asking at least as much).

Pure: no files, no printing. The overrides file lives in `hegui.guard.lexicon.overrides`. This module
never changes a lexicon; `overrides.apply_overrides` does, and only from a file a person reviewed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hegui.guard.lexicon.model import Term, Tier
from hegui.guard.lexicon.tiers import TierRow
from hegui.guard.types import Action

if TYPE_CHECKING:  # the matcher (numpy, OpenCC) is loaded by whoever compiles the lexicon
    from hegui.guard.lexicon.matcher import CompiledLexicon


@dataclass(frozen=True, slots=True)
class LabelledRow:
    """One calibration example: a text and whether it is unsafe (the label a person gave it)."""

    text: str
    unsafe: bool


@dataclass(frozen=True, slots=True)
class HitTable:
    """Which terms (indices into the lexicon's terms) hit which rows; rows without a hit are counted only."""

    n_safe: int
    n_unsafe: int
    #: (unsafe?, term indices) for every row with at least one hit.
    hits: tuple[tuple[bool, frozenset[int]], ...]

    def term_counts(self) -> dict[int, tuple[int, int]]:
        """Term index → (safe rows hit, unsafe rows hit)."""
        counts: dict[int, list[int]] = {}
        for unsafe, terms in self.hits:
            for t in terms:
                counts.setdefault(t, [0, 0])[int(unsafe)] += 1
        return {t: (c[0], c[1]) for t, c in counts.items()}


@dataclass(frozen=True, slots=True)
class ActionResolver:
    """The lexicon check's action rule: the term's own action, else its category's, else the default."""

    default: Action = Action.REFUSE
    category_actions: Mapping[str, Action] = field(default_factory=dict)

    def __call__(self, term: Term) -> Action:
        if term.action is not None:
            return term.action
        return self.category_actions.get(term.category, self.default)


@dataclass(frozen=True, slots=True)
class CalibrationRule:
    """When a term is downgraded (see the module docstring); the defaults are the documented ones."""

    min_safe: int = 3
    max_unsafe_share: float = 0.5
    to: Action = Action.LABEL
    balanced: bool = True

    def __post_init__(self) -> None:
        if self.min_safe < 1:
            raise ValueError("min_safe must be 1 or more")
        if not 0.0 < self.max_unsafe_share <= 1.0:
            raise ValueError("max_unsafe_share must be above 0 and at most 1")
        if self.to.stops:
            raise ValueError(f"the target action must not stop the text (got {self.to.value!r})")

    def unsafe_share(self, safe: int, unsafe: int, n_safe: int, n_unsafe: int) -> float:
        return unsafe_share(safe, unsafe, n_safe, n_unsafe, balanced=self.balanced)


def unsafe_share(safe: int, unsafe: int, n_safe: int, n_unsafe: int, *, balanced: bool = True) -> float:
    """``u / (u + s)`` of per-class hit rates (balanced) or of raw hit counts."""
    if balanced:
        s = safe / n_safe if n_safe else 0.0
        u = unsafe / n_unsafe if n_unsafe else 0.0
    else:
        s, u = float(safe), float(unsafe)
    return u / (u + s) if u + s else 0.0


@dataclass(frozen=True, slots=True)
class TierRule:
    """When a term that hit the corpus is red-line, noise or topic (see the module docstring)."""

    min_unsafe: int = 3
    red_line_share: float = 0.97
    min_safe: int = 5
    balanced: bool = True
    max_safe: int = 10

    def __post_init__(self) -> None:
        if self.min_unsafe < 1 or self.min_safe < 1:
            raise ValueError("min_unsafe and min_safe must be 1 or more")
        if self.max_safe < 0:
            raise ValueError("max_safe must be 0 or more")
        if not 0.5 <= self.red_line_share <= 1.0:
            raise ValueError("red_line_share must be between 0.5 and 1")


@dataclass(frozen=True, slots=True)
class Override:
    """A per-term action decided outside the lexicon file (by calibration or by a reviewer)."""

    term: str
    action: Action
    reason: str = ""
    safe_hits: int | None = None
    unsafe_hits: int | None = None


@dataclass(frozen=True, slots=True)
class Rates:
    """Shares of the safe and unsafe rows that a lexicon refuses and that have any finding."""

    safe_refused: float
    unsafe_refused: float
    safe_found: float
    unsafe_found: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """What `calibrate` found: the proposals and their effect on the calibration rows."""

    overrides: tuple[Override, ...]
    before: Rates
    after: Rates
    n_safe: int
    n_unsafe: int
    terms_hit: int
    pinned_skipped: int


def count_hits(
    compiled: CompiledLexicon,
    rows: Iterable[LabelledRow],
    progress: Callable[[int], None] | None = None,
) -> HitTable:
    """Match every row with the real matcher; ``progress(n)`` is called after each row with n = 1."""
    index = {t.text: i for i, t in enumerate(compiled.lexicon.terms)}
    n_safe = n_unsafe = 0
    hits: list[tuple[bool, frozenset[int]]] = []
    for row in rows:
        if row.unsafe:
            n_unsafe += 1
        else:
            n_safe += 1
        found = frozenset(index[m.term.text] for m in compiled.find(row.text))
        if found:
            hits.append((row.unsafe, found))
        if progress is not None:
            progress(1)
    return HitTable(n_safe, n_unsafe, tuple(hits))


def propose(
    terms: tuple[Term, ...],
    table: HitTable,
    rule: CalibrationRule | None = None,
    resolver: ActionResolver | None = None,
    pinned: Collection[str] = (),
) -> tuple[list[Override], int]:
    """Downgrades by the rule, sorted by term; and how many terms met it but were pinned."""
    rule = rule or CalibrationRule()
    resolver = resolver or ActionResolver()
    out: list[Override] = []
    skipped = 0
    for i, (safe, unsafe) in table.term_counts().items():
        term = terms[i]
        current = resolver(term)
        if not current.stops or current <= rule.to or safe < rule.min_safe:
            continue
        share = rule.unsafe_share(safe, unsafe, table.n_safe, table.n_unsafe)
        if share >= rule.max_unsafe_share:
            continue
        if term.text in pinned:
            skipped += 1
            continue
        reason = (
            f"calibrated: {safe} safe / {unsafe} unsafe rows, unsafe share {share:.2f} < "
            f"{rule.max_unsafe_share:g}; was {current.value}"
        )
        out.append(Override(term.text, rule.to, reason, safe, unsafe))
    out.sort(key=lambda o: o.term)
    return out, skipped


def refusal_rates(
    terms: tuple[Term, ...],
    table: HitTable,
    resolver: ActionResolver | None = None,
    overrides: Iterable[Override] = (),
) -> Rates:
    """Refused / found shares of the safe and unsafe rows, with the overrides in force."""
    resolver = resolver or ActionResolver()
    by_text = {o.term: o.action for o in overrides}
    stops = [by_text.get(t.text, resolver(t)).stops for t in terms]
    refused = [0, 0]
    found = [0, 0]
    for unsafe, hit in table.hits:
        found[int(unsafe)] += 1
        refused[int(unsafe)] += any(stops[i] for i in hit)

    def share(n: int, of: int) -> float:
        return n / of if of else 0.0

    return Rates(
        share(refused[0], table.n_safe),
        share(refused[1], table.n_unsafe),
        share(found[0], table.n_safe),
        share(found[1], table.n_unsafe),
    )


def calibrate(
    compiled: CompiledLexicon,
    rows: Iterable[LabelledRow],
    rule: CalibrationRule | None = None,
    resolver: ActionResolver | None = None,
    pinned: Collection[str] = (),
    progress: Callable[[int], None] | None = None,
) -> Calibration:
    """Count, propose, and measure before/after on the same rows."""
    terms = compiled.lexicon.terms
    table = count_hits(compiled, rows, progress)
    overrides, skipped = propose(terms, table, rule, resolver, pinned)
    return Calibration(
        tuple(overrides),
        refusal_rates(terms, table, resolver),
        refusal_rates(terms, table, resolver, overrides),
        table.n_safe,
        table.n_unsafe,
        len(table.term_counts()),
        skipped,
    )


def propose_tiers(
    terms: tuple[Term, ...],
    table: HitTable,
    rule: TierRule | None = None,
    is_common: Callable[[str], bool] | None = None,
) -> list[TierRow]:
    """A tier for every term that hit a row, sorted by term, with its counts as the reason."""
    rule = rule or TierRule()
    out: list[TierRow] = []
    for i, (safe, unsafe) in table.term_counts().items():
        term = terms[i]
        share = unsafe_share(safe, unsafe, table.n_safe, table.n_unsafe, balanced=rule.balanced)
        counts = f"{safe} safe / {unsafe} unsafe rows, unsafe share {share:.2f}"
        common = is_common is not None and is_common(term.text)
        if unsafe == 0 and safe >= rule.min_safe:
            tier, why = Tier.NOISE, f"no unsafe row, ≥ {rule.min_safe} safe"
        elif (
            unsafe >= rule.min_unsafe
            and safe <= rule.max_safe
            and share >= rule.red_line_share
            and not common
        ):
            tier, why = (
                Tier.RED_LINE,
                f"≥ {rule.min_unsafe} unsafe, ≤ {rule.max_safe} safe, share ≥ {rule.red_line_share:g}",
            )
        else:
            tier, why = Tier.TOPIC, "a common word" if common else "mixed or too few hits"
        out.append(TierRow(term.text, tier, f"calibrated: {counts}; {why}", safe, unsafe))
    out.sort(key=lambda r: r.term)
    return out


def tier_rates(
    terms: tuple[Term, ...],
    table: HitTable,
    resolver: ActionResolver | None = None,
    rows: Iterable[TierRow] = (),
) -> Rates:
    """Refused / found shares with the tiers in force: a row is refused by a red-line hit whose action
    stops; found by any hit that is not noise. Terms without a row keep their current action."""
    resolver = resolver or ActionResolver()
    by_text = {r.term: r.tier for r in rows}
    tiers = [by_text.get(t.text) for t in terms]
    stops = [resolver(t).stops and tiers[i] in (None, Tier.RED_LINE) for i, t in enumerate(terms)]
    refused = [0, 0]
    found = [0, 0]
    for unsafe, hit in table.hits:
        found[int(unsafe)] += any(tiers[i] is not Tier.NOISE for i in hit)
        refused[int(unsafe)] += any(stops[i] for i in hit)

    def share(n: int, of: int) -> float:
        return n / of if of else 0.0

    return Rates(
        share(refused[0], table.n_safe),
        share(refused[1], table.n_unsafe),
        share(found[0], table.n_safe),
        share(found[1], table.n_unsafe),
    )


@dataclass(frozen=True, slots=True)
class TierCalibration:
    """What `calibrate_tiers` found: a tier per term hit, and the effect on the calibration rows."""

    rows: tuple[TierRow, ...]
    before: Rates
    after: Rates
    n_safe: int
    n_unsafe: int


def calibrate_tiers(
    compiled: CompiledLexicon,
    rows: Iterable[LabelledRow],
    rule: TierRule | None = None,
    resolver: ActionResolver | None = None,
    is_common: Callable[[str], bool] | None = None,
    progress: Callable[[int], None] | None = None,
) -> TierCalibration:
    """Count (the compiled lexicon should have no word-boundary rule), propose tiers, measure."""
    terms = compiled.lexicon.terms
    table = count_hits(compiled, rows, progress)
    proposed = propose_tiers(terms, table, rule, is_common)
    return TierCalibration(
        tuple(proposed),
        refusal_rates(terms, table, resolver),
        tier_rates(terms, table, resolver, proposed),
        table.n_safe,
        table.n_unsafe,
    )
