"""The A.2 specialist gate of the fusion, measured on the CALIBRATION part of train (issue 10).

The bundled policy lets the prompt model's A.2 (discrimination) refusal below ``specialist_alone`` (0.8)
stand only when the comment classifier confirms it (`hegui.guard.fusion`). The classifier was trained
on comments, and the should-refuse sets lose discriminatory prompts to the gate. The question measured
here: should a text that reads as a *request to the assistant* (a question or request frame, a question
mark, an imperative opening) skip the gate, while statements keep it? And should the specialist abstain
on such requests, the way it abstains on texts over 256 characters?

Every variant judges the same rows with the same raw findings of the bundled default policy (its checks
run once per row; only the fusion changes), so the columns differ by the rule alone:

* ``bundled``: the fusion as shipped (checked against the bundled pipeline's own verdicts);
* ``stand: <form>``: for a text of that form, the prompt model's A.2 refusal stands without the
  specialist (``specialist_alone = 0`` for that text); everything else as shipped;
* ``abstain: <form>``: for a text of that form the specialist abstains (as on a long text);
* ``alone 0.7``: ``specialist_alone`` 0.7 for every text (the strict preset's value), for comparison;
* ``share: any``: the gate judges every A.2 refusal whatever share of the score A.2 holds
  (``specialist_share = 0``: the fusion before 2026-12-02); ``share 0.6``: only those A.2 holds 60 % of;
  the shipped rule judges those it holds the majority (50 %) of;
* ``no gate``: every A.2 refusal of the model stands (``specialist_alone = 0`` for every text).

Forms (decided before measuring, from the featurizer's own frames; never fitted to these rows):
``frame`` = a question or request frame of `hegui.guard.judge.features.FRAMES` anywhere in the folded
text; ``qmark`` = ends with ? or ？; ``opening`` = the folded text starts with an imperative to the
assistant (`OPENINGS`); ``addressed`` = a phrase that addresses the assistant anywhere (`ADDRESSED`);
``request`` = frame or qmark or opening.

Calibration part = train rows whose group has ``sha256("hegui-calib-v1:" + group) % 10 == 0`` (the rule of
``scripts/train_guard_models.py`` and ``scripts/train_classifier.py``). Dev rows are never read. Prints a
markdown table and writes it to section ``fusion_gate`` of benchmarks/RESULTS.md (``--no-write``: print only).

    PYTHONPATH=src .venv/bin/python benchmarks/fusion_gate.py [--no-write]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "benchmarks"))

from guard_data import Example, load_inputs  # noqa: E402
from guard_quality import input_group  # noqa: E402

from hegui.guard.fusion import FusionRule, fuse  # noqa: E402
from hegui.guard.judge.features import FRAMES  # noqa: E402
from hegui.guard.pipeline import Pipeline  # noqa: E402
from hegui.guard.types import Action, Context, Finding, Stage  # noqa: E402
from hegui.pipelines import build_pipeline  # noqa: E402
from hegui.policy import bundled_policy_text, parse_policy  # noqa: E402
from hegui.text.normalize import default_normalizer  # noqa: E402

CALIB_SALT = "hegui-calib-v1:"
SPECIALIST = "offensive-language"
#: Imperative openings of a request to an assistant, in folded form.
OPENINGS = (
    "请",
    "帮我",
    "帮忙",
    "给我",
    "写",
    "生成",
    "列出",
    "编",
    "告诉",
    "你能",
    "你可以",
    "你会",
    "教我",
    "输出",
)
#: Phrases that address the assistant, anywhere in the folded text.
ADDRESSED = (
    "请你",
    "请帮",
    "帮我",
    "告诉我",
    "请问",
    "你能",
    "你可以",
    "能否",
    "能不能帮",
    "可以帮",
    "给我",
    "教我",
    "请写",
    "请输出",
    "请生成",
    "请列出",
    "请给",
    "请用",
    "请以",
    "请提供",
    "请解释",
    "请描述",
    "请介绍",
)


def is_calibration(group: str) -> bool:
    return int(hashlib.sha256((CALIB_SALT + group).encode("utf-8")).hexdigest()[:16], 16) % 10 == 0


@dataclass(frozen=True, slots=True)
class Form:
    frame: bool
    qmark: bool
    opening: bool
    addressed: bool

    @property
    def request(self) -> bool:
        return self.frame or self.qmark or self.opening


def form_of(text: str) -> Form:
    """How a text reads: the forms of the module doc (folded by the guard's normalizer)."""
    stripped = text.strip()
    folded = default_normalizer().fold(stripped)
    return Form(
        frame=any(f in folded for f in FRAMES),
        qmark=stripped.endswith(("?", "？")),
        opening=folded.startswith(OPENINGS),
        addressed=any(a in folded for a in ADDRESSED),
    )


@dataclass(frozen=True, slots=True)
class Row:
    example: Example
    group: str
    form: Form
    raw: tuple[Finding, ...]
    abstained: frozenset[str]
    #: The bundled pipeline's own verdict stops the text (the ``bundled`` variant must reproduce it).
    bundled_stops: bool


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    #: For a row: the rule to fuse with and the checks that abstain.
    decide: Callable[[Row], tuple[FusionRule, frozenset[str]]]


def collect(rows: Sequence[Example]) -> list[Row]:
    pipeline = build_pipeline(parse_policy(bundled_policy_text(), "bundled.toml"))
    raw = Pipeline(pipeline.checks, policy_version="raw", fusion=None)
    ran = raw.checks_for(Stage.INPUT)
    out: list[Row] = []
    for e in rows:
        found = tuple(raw.findings(Stage.INPUT, e.text, Context()))
        abstained = pipeline._abstained(e.text, ran)  # the pipeline's own rule, reused
        stops = pipeline.run(Stage.INPUT, e.text, Context()).action >= Action.REFUSE
        out.append(Row(e, input_group(e), form_of(e.text), found, abstained, stops))
    return out


def variants(rule: FusionRule) -> list[Variant]:
    stand = dataclasses.replace(rule, specialist_alone=0.0)
    lower = dataclasses.replace(rule, specialist_alone=0.7)
    every = dataclasses.replace(rule, specialist_share=0.0)  # the gate judges every A.2 refusal (before)
    wider = dataclasses.replace(rule, specialist_share=0.6)

    def when(test: Callable[[Form], bool]) -> Callable[[Row], tuple[FusionRule, frozenset[str]]]:
        return lambda r: (stand if test(r.form) else rule, r.abstained)

    def abstain(test: Callable[[Form], bool]) -> Callable[[Row], tuple[FusionRule, frozenset[str]]]:
        return lambda r: (rule, r.abstained | {SPECIALIST} if test(r.form) else r.abstained)

    return [
        Variant("bundled", lambda r: (rule, r.abstained)),
        Variant("stand: frame", when(lambda f: f.frame)),
        Variant("stand: qmark", when(lambda f: f.qmark)),
        Variant("stand: opening", when(lambda f: f.opening)),
        Variant("stand: addressed", when(lambda f: f.addressed)),
        Variant("stand: request", when(lambda f: f.request)),
        Variant("abstain: request", abstain(lambda f: f.request)),
        Variant("alone 0.7", lambda r: (lower, r.abstained)),
        Variant("share: any", lambda r: (every, r.abstained)),
        Variant("share 0.6", lambda r: (wider, r.abstained)),
        Variant("no gate", lambda r: (stand, r.abstained)),
    ]


def stops(row: Row, variant: Variant) -> bool:
    rule, abstained = variant.decide(row)
    return any(f.action >= Action.REFUSE for f in fuse(row.raw, rule, Context(), abstained=abstained))


#: Table rows: label → which calibration rows count.
SETS: list[tuple[str, Callable[[Row], bool]]] = [
    ("should-refuse prompts", lambda r: r.group == "should-refuse prompts"),
    ("… of them A.2", lambda r: r.group == "should-refuse prompts" and r.example.risk.startswith("A.2")),
    ("ChineseSafetyQA", lambda r: r.example.source == "chinesesafetyqa"),
    ("CValues borderline", lambda r: r.example.source == "cvalues"),
    ("CrossWOZ", lambda r: r.example.source == "crosswoz" and r.example.label == "benign"),
    ("KdConv", lambda r: r.example.source == "kdconv" and r.example.label == "benign"),
    ("LCCC", lambda r: r.example.source == "lccc" and r.example.label == "benign"),
    ("XSafety commonsense", lambda r: r.example.source == "xsafety" and r.example.label == "benign"),
    ("safe comments", lambda r: r.group == "safe comments"),
    ("… COLD / SWSR", lambda r: False),  # filled in by `table`
    ("offensive comments", lambda r: r.group == "offensive comments"),
    ("… COLD / SWSR", lambda r: False),
]


def _pct(flags: Sequence[bool]) -> str:
    return f"{100 * sum(flags) / len(flags):.1f} %" if flags else "—"


def table(rows: Sequence[Row], chosen: Sequence[Variant]) -> str:
    flags = {v.name: [stops(r, v) for r in rows] for v in chosen}

    def cell(name: str, keep: Callable[[Row], bool]) -> str:
        return _pct([f for r, f in zip(rows, flags[name], strict=True) if keep(r)])

    head = "| calibration set | n | " + " | ".join(v.name for v in chosen) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(chosen)]
    for i, (label, keep) in enumerate(SETS):
        if label == "… COLD / SWSR":
            group = SETS[i - 1][1]
            cold = lambda r, g=group: g(r) and r.example.source == "cold"  # noqa: E731
            swsr = lambda r, g=group: g(r) and r.example.source == "swsr"  # noqa: E731
            n = f"{sum(map(cold, rows)):,} / {sum(map(swsr, rows)):,}"
            cells = [f"{cell(v.name, cold)} / {cell(v.name, swsr)}" for v in chosen]
        else:
            n = f"{sum(map(keep, rows)):,}"
            cells = [cell(v.name, keep) for v in chosen]
        lines.append(f"| {label} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    calibration = [e for e in load_inputs() if e.split == "train" and is_calibration(e.group)]
    rows = collect(calibration)
    rule = build_pipeline(parse_policy(bundled_policy_text(), "bundled.toml")).fusion
    assert rule is not None and rule.specialists.get("A.2") == SPECIALIST, "the bundled policy changed"
    chosen = variants(rule)
    mismatched = sum(stops(r, chosen[0]) != r.bundled_stops for r in rows)
    assert mismatched == 0, f"the bundled variant differs from the bundled pipeline on {mismatched} rows"
    share = {
        name: f"{100 * sum(getattr(r.form, name) for r in rows) / len(rows):.0f} %"
        for name in ("frame", "qmark", "opening", "addressed", "request")
    }
    from _results import machine, write_section

    body = [
        "## The A.2 specialist gate: requests and statements (`benchmarks/fusion_gate.py`)",
        "",
        machine(),
        "",
        f"Calibration part of train ({len(rows):,} rows; dev not read), the bundled default policy, preset "
        f"{rule.preset}: share refused. The checks run once per row; only the fusion changes between "
        "columns, and `bundled` reproduces the bundled pipeline's verdict on every row. Forms "
        "(share of the rows): " + ", ".join(f"{k} {v}" for k, v in share.items()) + ". What the columns "
        'mean and the decision: docs/guard-checks.md, "Specialists: requests and statements".',
        "",
        table(rows, chosen),
        "",
        f"{time.perf_counter() - started:.0f} s.",
    ]
    markdown = "\n".join(body)
    print(markdown)
    if not args.no_write:
        write_section("fusion_gate", markdown)


if __name__ == "__main__":
    main()
