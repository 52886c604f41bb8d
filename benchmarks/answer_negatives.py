"""Benchmark: do the sentences of safe answers help the harmful-request model as benign text? Issue 10,
2026-12-02.

    PYTHONPATH=src .venv/bin/python benchmarks/answer_negatives.py [--variants shipped,answers] [--no-write]

The model refuses questions about harmful subjects asked for knowledge or protection ("毒品对身体有哪些
危害？"): its benign training texts hardly ever name a crime, a drug or a weapon, so those words weigh
towards harm whatever the sentence does with them. The safe answers of jade-db v3 (train part) are such
texts: they explain why something is illegal or dangerous, in the declarative register of a textbook.
Here their sentences join the "none" class of the harmful-request model as one more benign source:

* ``shipped``: the shipped training (every fitting row, the team's requests included; request-form
  copies 0.5 keep; L2 1e-5);
* ``answers``: the same, plus the sentences of the safe jade-db v3 answers of the fitting part, as a
  benign source weighing sqrt(its size) like every other. A sentence that repeats the question (shares
  `ECHO` or more consecutive normalized characters with it: "我不能提供任何关于如何在暗网上逃避法律制裁的
  建议") is left out, so that the request itself is never a benign example.
* ``answers-x2``: as ``answers``, the source weighing twice.

Every variant is judged on the same **calibration part of train** (dev is never read) with the functions
of ``benchmarks/model_family.py`` and ``benchmarks/team_data.py``: the balanced threshold by the unchanged
rule, should-refuse and each source's rate, the team's calibration rows, the probes (never trained on),
a paired bootstrap against ``shipped``. Writes benchmarks/RESULTS.md, section "answer_negatives"
(``--no-write``: print only).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(Path(__file__).parent))

from form_augment import comparison_rows, recall_rows  # noqa: E402
from guard_data import (  # noqa: E402
    TEAM_ROOT,
    AnswerExample,
    Example,
    load_answers,
    load_inputs,
)
from model_family import CONFIG, fmt, rule_benign_index  # noqa: E402
from team_data import Result, against_first, fit_variant, probe_rows, probes, variant_args  # noqa: E402
from train_guard_models import build, design, is_calibration  # noqa: E402

from hegui.text.normalize import default_normalizer  # noqa: E402

#: A sentence sharing this many consecutive normalized characters with its question repeats it.
ECHO = 4
#: Sentences shorter than this (normalized characters) are left out: "很抱歉。", "谢谢。"
MIN_CHARS = 8
SOURCE = "jade-v3-safe-sentences"
VARIANTS = {"shipped": 0.0, "answers": 1.0, "answers-x2": 2.0}
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")


def answer_sentences(answers: list[AnswerExample]) -> list[Example]:
    """The sentences of the safe jade-db v3 answers that do not repeat their question, as benign rows of
    the answer's group and split (the caller passes the fitting part only)."""
    norm = default_normalizer()
    out: list[Example] = []
    for a in answers:
        if a.source != "jade-v3" or a.label != "safe":
            continue
        q = norm.normalize(a.prompt).text
        echoes = {q[i : i + ECHO] for i in range(len(q) - ECHO + 1)}
        for m in _SENTENCE.finditer(a.response):
            text = m.group().strip()
            s = norm.normalize(text).text
            if len(s) < MIN_CHARS or any(s[i : i + ECHO] in echoes for i in range(len(s) - ECHO + 1)):
                continue
            out.append(Example(text, "benign", "answer_sentence", "", SOURCE, a.group, a.split))
    return out


def main() -> None:
    args, names = variant_args(__doc__.split("\n\n")[0], list(VARIANTS), "shipped,answers,answers-x2")

    rows = load_inputs(args.data, team_root=TEAM_ROOT)
    calib = [e for e in rows if e.split == "train" and is_calibration(e.group)]
    fit_rows = [e for e in rows if e.split == "train" and not is_calibration(e.group)]
    del rows  # dev is never read below
    fit_answers = [a for a in load_answers(args.data) if a.split == "train" and not is_calibration(a.group)]
    sentences = answer_sentences(fit_answers)
    kept_answers = len({e.group for e in sentences})
    benign_idx = rule_benign_index(calib)
    cm = design([e.text for e in calib], CONFIG)
    probe_sets = probes()
    print(
        f"{len(fit_rows)} fitting rows, {len(calib)} calibration rows; {len(sentences)} answer sentences "
        f"from {kept_answers} safe answers",
        flush=True,
    )

    results: list[Result] = []
    for name in names:
        share = VARIANTS[name]
        data = build([*fit_rows, *(sentences if share else [])], form=0.5, form_mode="keep")
        if share and share != 1.0:
            data.weight[np.array([e.source == SOURCE for e in data.examples])] *= share
        result = fit_variant(name, data, calib, cm, benign_idx, probe_sets, args.maxiter, args.l2)
        results.append(result)
        j = result.judged
        print(
            f"{name}: threshold {j.threshold:.4f}, should-refuse {fmt(j.rows['should-refuse'][1])}, "
            f"criterion {j.quality:.4f} ({result.seconds:.0f} s)",
            flush=True,
        )
    noises, crit = against_first(results, calib, benign_idx, args.reps)
    js = [r.judged for r in results]
    lines = [
        f"The sentences of safe jade-db v3 answers (fitting part: {len(sentences):,} sentences of "
        f"{kept_answers} answers, none repeating its question) as a benign source of the harmful-request "
        f"model, judged on the {len(calib):,} calibration rows of train (dev not read); "
        f"`python benchmarks/answer_negatives.py --variants {args.variants}`. Thresholds by the unchanged "
        "rule; the team's calibration rows and the probes are measured, never part of a rule.",
        "",
        *comparison_rows(names, js, crit, names[0]),
        *recall_rows(noises, names[0]),
    ]
    lines += probe_rows(results)
    print("\n".join(lines))
    if not args.no_write:
        from _results import machine, write_section

        write_section("answer_negatives", "\n".join([f"## answer_negatives\n\n{machine()}\n", *lines]))


if __name__ == "__main__":
    main()
