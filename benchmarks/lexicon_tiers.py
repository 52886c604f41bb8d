"""Lexicon tiers and the word-boundary rule: calibrate on TRAIN, measure on DEV (64k sensitive-word lexicon).

    python benchmarks/lexicon_tiers.py [--no-write] [--recalibrate] [--segmenters-only] [--choose-rule] [--speed]

1. `calibrate_train()` counts each term's hits on every *train* input row of `scripts/guard_data.py`
   (harmful vs benign + borderline; prompts, jailbreaks, dialogue turns, COLD and SWSR comments) with
   the real matcher (no boundary rule) and writes the proposed tiers file to
   ``benchmarks/.cache/lexicon_tiers.csv`` (gitignored: a file of the third-party lexicon's terms is
   user data and is never committed). `benchmarks/guard_quality.py` can call it.
2. On the *dev* rows only, the lexicon check as the policy builds it, in several configurations:
   share of benign prompts, dialogue turns and COLD safe comments *refused* (some finding stops the
   text), and of harmful prompts with a red-line finding and with any finding.
3. The segmenters side by side on the short-CJK hits of dev rows: time per boundary decision,
   agreement, install size, licence.

Writes the ``lexicon-tiers`` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import guard_data  # noqa: E402  (scripts/ is put on the path above)

DATA = Path(os.environ.get("HEGUI_SHARED_DATA", REPO.parent / "shared" / "data"))
SW = DATA / "sensitive-word" / "src" / "main" / "resources"
CACHE = REPO / "benchmarks" / ".cache"
TIERS = CACHE / "lexicon_tiers.csv"


def lexicon_files() -> dict[str, Path]:
    return {
        "path": SW / "sensitive_word_dict.txt",
        "tags_file": SW / "sensitive_word_tags.txt",
        "allow_file": SW / "sensitive_word_allow.txt",
    }


def _labelled(split: str, examples: Iterable[guard_data.Example]) -> list[Any]:
    from hegui.guard.lexicon.calibrate import LabelledRow

    return [LabelledRow(e.text, e.label == "harmful") for e in examples if e.split == split]


def calibrate_train(
    out: Path = TIERS, *, examples: list[guard_data.Example] | None = None, force: bool = False
) -> Path:
    """Write the tiers proposed from the train rows to ``out`` (kept when it exists, unless ``force``)."""
    if out.exists() and not force:
        return out
    from hegui.guard.lexicon.calibrate import calibrate_tiers
    from hegui.guard.lexicon.matcher import CompiledLexicon
    from hegui.guard.lexicon.segment import common_words, segmenter
    from hegui.guard.lexicon.sources import load_lexicon
    from hegui.guard.lexicon.tiers import write_tiers

    files = lexicon_files()
    lexicon = load_lexicon(
        files["path"], "plain", tags_file=files["tags_file"], allow_file=files["allow_file"]
    )
    rows = _labelled("train", examples if examples is not None else guard_data.load_inputs())
    result = calibrate_tiers(CompiledLexicon(lexicon), rows, is_common=common_words(segmenter("rjieba")))
    write_tiers(result.rows, out)
    counts = {t: sum(r.tier.value == t for r in result.rows) for t in ("red-line", "topic", "noise")}
    print(
        f"calibrated on {result.n_safe:,} benign + {result.n_unsafe:,} harmful train rows: {counts} → {out}",
        flush=True,
    )
    return out


@dataclass(frozen=True, slots=True)
class Config:
    name: str
    tiers: bool
    default: str
    boundary: bool


CONFIGS = [
    Config("as before: every term refuses, no boundary rule", False, "red-line", False),
    Config("tier_default red-line, no tiers file, boundary rule", False, "red-line", True),
    Config("tier_default auto (frequency prior), no tiers file", False, "auto", True),
    Config("tier_default topic, no tiers file", False, "topic", True),
    Config("tiers file (train) + tier_default red-line", True, "red-line", True),
    Config("tiers file (train) + tier_default auto", True, "auto", True),
    Config("tiers file (train) + tier_default topic", True, "topic", True),
    Config("tiers file (train) + tier_default auto, no boundary rule", True, "auto", False),
]

GROUPS: dict[str, Callable[[guard_data.Example], bool]] = {
    "benign prompts": lambda e: e.label != "harmful" and e.kind.startswith("prompt"),
    "dialogue turns": lambda e: e.label != "harmful" and e.kind in ("dialogue_turn", "response"),
    "COLD safe": lambda e: e.source == "cold" and e.label == "benign",
    "COLD offensive": lambda e: e.source == "cold" and e.label == "harmful",
    "harmful prompts": lambda e: e.label == "harmful" and e.kind.startswith("prompt"),
}


def build_check(config: Config) -> Any:
    from hegui.guard.factories.lexicon import lexicon_check

    files = lexicon_files()
    return lexicon_check(
        "kw",
        files["path"],
        "plain",
        tags_file=files["tags_file"],
        allow_file=files["allow_file"],
        tiers_file=TIERS if config.tiers else None,
        tier_default=config.default,  # type: ignore[arg-type]
        word_boundary=config.boundary,
    )


def measure(config: Config, dev: list[guard_data.Example]) -> dict[str, tuple[float, float, float]]:
    """Group → (refused, red-line finding, any finding) shares."""
    from hegui.guard.types import Context

    check = build_check(config)
    out: dict[str, tuple[float, float, float]] = {}
    ctx = Context()
    for group, member in GROUPS.items():
        rows = [e for e in dev if member(e)]
        refused = red = found = 0
        for e in rows:
            findings = check.inspect(e.text, ctx)
            found += bool(findings)
            refused += any(f.action.stops for f in findings)
            red += any(f.tier == "red-line" for f in findings)
        n = len(rows) or 1
        out[group] = (refused / n, red / n, found / n)
    return out


def segmenters(dev: list[guard_data.Example], limit: int = 20_000) -> list[str]:
    """The boundary decision of rjieba and jieba on the same short-CJK hits of dev rows."""
    from hegui.guard.lexicon.matcher import CompiledLexicon
    from hegui.guard.lexicon.segment import WordBoundary, is_short_cjk, segmenter
    from hegui.guard.lexicon.sources import load_lexicon

    files = lexicon_files()
    lexicon = load_lexicon(
        files["path"], "plain", tags_file=files["tags_file"], allow_file=files["allow_file"]
    )
    compiled = CompiledLexicon(lexicon)
    norm = compiled.normalizer
    cases: list[tuple[str, int, int]] = []
    for e in dev:
        nt = norm.normalize(e.text)
        for m in compiled.find(e.text):
            t = norm.normalize(m.term.text).text
            if not is_short_cjk(t):
                continue
            s = nt.text.find(t)
            if s >= 0:
                cases.append((nt.text, s, s + len(t)))
        if len(cases) >= limit:
            break
    lines = []
    decisions: dict[str, list[bool]] = {}
    started = time.perf_counter()
    for name in ("rjieba", "jieba"):
        t0 = time.perf_counter()
        seg = segmenter(name)  # type: ignore[arg-type]
        load = time.perf_counter() - t0
        rule = WordBoundary(seg)
        t0 = time.process_time()
        decisions[name] = [rule.aligned(text, s, e) for text, s, e in cases]
        per_hit = (time.process_time() - t0) / max(len(cases), 1)
        kept = sum(decisions[name]) / max(len(cases), 1)
        lines.append(f"| {name} | {per_hit * 1e6:.1f} µs | {load:.2f} s | {kept:.1%} |")
    agree = sum(a == b for a, b in zip(decisions["rjieba"], decisions["jieba"], strict=True)) / max(
        len(cases), 1
    )
    print(f"segmenters on {len(cases):,} hits: agreement {agree:.2%} ({time.perf_counter() - started:.1f} s)")
    from hegui.guard.lexicon.segment import DEFAULT_WINDOW

    return [
        f"{len(cases):,} hits of short Chinese terms in dev rows; the same window ({DEFAULT_WINDOW} characters "
        f"each side of the normalized text) segmented by each. **Agreement on the decision: {agree:.2%}.**",
        "",
        "| segmenter | time per hit (CPU) | load | hits kept (aligned) |",
        "|---|---:|---:|---:|",
        *lines,
    ]


def matching_speed(rounds: int = 3) -> list[str]:
    """Matching with and without tiers + word boundary, interleaved on the same prompts (CPU time).

    The prompts are those of benchmarks/lexicon.py (COLD comments cut into 2,000 characters). Both run
    in turn in one process, so a loaded machine slows both alike and the ratio stays meaningful.
    """
    from lexicon import PROMPT, cold

    corpus = "".join(t for _, t in cold("train") + cold("dev"))
    prompts = [corpus[i : i + PROMPT] for i in range(0, len(corpus) - PROMPT + 1, PROMPT)]
    finders = {
        "every term red-line (no boundary work)": build_check(Config("", False, "red-line", False)),
        "every term topic + word boundary (the slowest case)": build_check(Config("", False, "topic", True)),
        "tiers file (train) + topic + word boundary": build_check(Config("", True, "topic", True)),
    }
    best = dict.fromkeys(finders, 0.0)
    for _ in range(rounds):
        for name, check in finders.items():
            find = check.lexicon.current.find
            started = time.process_time()
            for p in prompts:
                find(p)
            best[name] = max(best[name], len(prompts) * PROMPT / (time.process_time() - started))
    base = best["every term red-line (no boundary work)"]
    lines = [
        f"Matching speed, {len(prompts):,} prompts of {PROMPT:,} characters, best of {rounds} interleaved "
        "rounds (CPU time, one process):",
        "",
        "| lexicon | chars/s | relative |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {cps / 1e6:.2f} M | {cps / base:.0%} |" for name, cps in best.items()]
    print("\n".join(lines), flush=True)
    return lines


CALIB_SALT = "hegui-calib-v1:"


def in_calibration_part(group: str) -> bool:
    """The carve-out of train used to choose the tier rule's defaults (never dev)."""
    import hashlib

    return int(hashlib.sha256((CALIB_SALT + group).encode("utf-8")).hexdigest(), 16) % 10 == 0


def choose_rule(examples: list[guard_data.Example]) -> list[str]:
    """Tier rules side by side: calibrated on 90 % of train, measured on the calibration carve-out.

    Refusals depend only on red-line hits, which the boundary rule never drops, so the hit tables of
    the plain matcher give them exactly.
    """
    from hegui.guard.lexicon.calibrate import TierRule, count_hits, propose_tiers, tier_rates
    from hegui.guard.lexicon.matcher import CompiledLexicon
    from hegui.guard.lexicon.segment import common_words, segmenter
    from hegui.guard.lexicon.sources import load_lexicon

    files = lexicon_files()
    lexicon = load_lexicon(
        files["path"], "plain", tags_file=files["tags_file"], allow_file=files["allow_file"]
    )
    compiled = CompiledLexicon(lexicon)
    train = [e for e in examples if e.split == "train"]
    fit = count_hits(compiled, _labelled("train", (e for e in train if not in_calibration_part(e.group))))
    held = [e for e in train if in_calibration_part(e.group)]
    prompts = [e for e in held if e.kind.startswith("prompt") or e.label == "harmful"]
    tables = {
        "all": count_hits(compiled, _labelled("train", held)),
        "prompts": count_hits(compiled, _labelled("train", (e for e in held if e.kind.startswith("prompt")))),
    }
    is_common = common_words(segmenter("rjieba"))
    lines = [
        f"Calibrated on 90 % of train, measured on the carve-out (sha256({CALIB_SALT!r} + group) % 10 == 0; "
        f"{len(held):,} rows, {len(prompts):,} of them prompts or harmful):",
        "",
        "| rule | red-line terms | benign refused | harmful refused | benign prompts refused | harmful prompts refused |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, rule in (
        ("max_safe 2, share 0.9", TierRule(max_safe=2, red_line_share=0.9)),
        ("max_safe 0, share 0.9", TierRule(max_safe=0, red_line_share=0.9)),
        ("max_safe 5, share 0.9", TierRule(max_safe=5, red_line_share=0.9)),
        ("no max_safe, share 0.9", TierRule(max_safe=10**9, red_line_share=0.9)),
        ("no max_safe, share 0.95", TierRule(max_safe=10**9, red_line_share=0.95)),
        ("max_safe 5, share 0.95", TierRule(max_safe=5, red_line_share=0.95)),
        ("**max_safe 10, share 0.97 (default)**", TierRule()),
        ("max_safe 3, share 0.95", TierRule(max_safe=3, red_line_share=0.95)),
        ("no max_safe, share 0.98", TierRule(max_safe=10**9, red_line_share=0.98)),
        ("max_safe 10, share 0.97, no common-word guard", None),
    ):
        rows = propose_tiers(lexicon.terms, fit, rule or TierRule(), None if rule is None else is_common)
        red = sum(r.tier.value == "red-line" for r in rows)
        a = tier_rates(lexicon.terms, tables["all"], rows=rows)
        p = tier_rates(lexicon.terms, tables["prompts"], rows=rows)
        lines.append(
            f"| {name} | {red} | {a.safe_refused:.1%} | {a.unsafe_refused:.1%} | {p.safe_refused:.1%} "
            f"| {p.unsafe_refused:.1%} |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    if not SW.is_dir():
        sys.exit(f"shared data not found under {DATA} (set HEGUI_SHARED_DATA)")
    examples = guard_data.load_inputs()
    dev = [e for e in examples if e.split == "dev"]
    if "--choose-rule" in sys.argv:
        choose_rule(examples)
        return
    if "--speed" in sys.argv:
        matching_speed()
        return
    seg_lines = segmenters(dev)
    print("\n".join(seg_lines), flush=True)
    if "--segmenters-only" in sys.argv:
        return
    rule_lines = choose_rule(examples)
    speed_lines = matching_speed()
    calibrate_train(examples=examples, force="--recalibrate" in sys.argv)
    sizes = {g: sum(GROUPS[g](e) for e in dev) for g in GROUPS}
    table = [
        "| configuration | benign prompts refused | dialogue turns refused | COLD safe refused "
        "| COLD offensive refused | harmful prompts: red-line | harmful prompts: any finding "
        "| benign prompts: any finding | dialogue turns: any finding | COLD safe: any finding |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for config in CONFIGS:
        r = measure(config, dev)
        row = (
            f"| {config.name} | {r['benign prompts'][0]:.1%} | {r['dialogue turns'][0]:.1%} "
            f"| {r['COLD safe'][0]:.1%} | {r['COLD offensive'][0]:.1%} | {r['harmful prompts'][1]:.1%} "
            f"| {r['harmful prompts'][2]:.1%} | {r['benign prompts'][2]:.1%} | {r['dialogue turns'][2]:.1%} "
            f"| {r['COLD safe'][2]:.1%} |"
        )
        print(row, flush=True)
        table.append(row)
    from _results import machine, write_section

    body = [
        "## Lexicon tiers and word boundaries (`benchmarks/lexicon_tiers.py`)",
        "",
        machine(),
        "",
        "64,420-term sensitive-word lexicon (its tag file and allow-list, the bundled context allow-list). "
        "Tiers calibrated on the **train** rows of `scripts/guard_data.py` (harmful vs benign + borderline, "
        "all sources), measured on the **dev** rows: "
        + ", ".join(f"{g} {n:,}" for g, n in sizes.items())
        + ". *Refused*: some finding stops the text (red-line). Without the fusion: a topic hit alone is "
        "`label`.",
        "",
        *table,
        "",
        "How the tier rule's defaults were chosen (train only):",
        "",
        *rule_lines,
        "",
        "Segmenters for the word-boundary rule:",
        "",
        *seg_lines,
        "",
        *speed_lines,
    ]
    if "--no-write" not in sys.argv:
        write_section("lexicon-tiers", "\n".join(body))


if __name__ == "__main__":
    main()
