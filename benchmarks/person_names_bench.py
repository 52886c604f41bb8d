"""Benchmark: the Chinese person-name recognizer behind ``[media] person_names = "refuse"``, on benign
prompts from ../shared/data/safety-train (read there, never copied; see its SOURCES.md).

Samples (seeded): CrossWOZ user prompts (travel: hotels, restaurants, sights — names are rare, places
many), ChineseSafetyQA questions (law, ethics, security knowledge), KdConv turns (film, music, travel
chat: real persons are frequent). For each recognizer variant it counts the prompts that would be
refused (at least one name found) and the names found. ``--show`` prints the names found, for labelling
them by hand (precision = names that are persons / names found); the labelled counts of one run are
written into RESULTS.md by hand, the names themselves are not (they come from third-party data).

Variants: rjieba's ``nr`` tag alone; hegui's `NameRecognizer` (``nr`` + a common surname, 2–4
characters, less frequent than 200 in jieba's dictionary, not ending like a place or product word).

Run: ``PYTHONPATH=src python benchmarks/person_names_bench.py [--n 300] [--show]``; writes section
"person_names" of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import machine, write_section

from hegui.guard.person_names import NameRecognizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "safety-train"
SETS = {
    "CrossWOZ prompts": ("CrossWOZ/crosswoz_val_test_turns.jsonl", "prompt"),
    "ChineseSafetyQA questions": ("ChineseSafetyQA/questions.jsonl", "prompt"),
    "KdConv turns": ("KdConv/kdconv_dev_test_turns.jsonl", "dialogue_turn"),
}


#: Hand labels of the names found with seed 15 and n = 300 (person names, including fragments of one:
#: 林宥 of 林宥嘉; anything else — places, brands, words, songs — is not). Update them with --show after a
#: change to the recognizer; the names themselves stay out of the repository (third-party data).
LABELLED = {
    ("CrossWOZ prompts", "rjieba nr only"): (0, 75),
    ("CrossWOZ prompts", "hegui"): (0, 8),
    ("ChineseSafetyQA questions", "rjieba nr only"): (0, 22),
    ("ChineseSafetyQA questions", "hegui"): (0, 4),
    ("KdConv turns", "rjieba nr only"): (44, 77),
    ("KdConv turns", "hegui"): (36, 39),
}


def sample(path: Path, kind: str, n: int, seed: int = 15) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows if r.get("kind") == kind and r.get("label") == "benign"]
    return random.Random(seed).sample(texts, min(n, len(texts)))


def nr_only(text: str) -> list[str]:
    import rjieba

    return [w for w, tag in rjieba.tag(text) if tag in ("nr", "nrfg") and len(w) >= 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--show", action="store_true", help="print the names found (for labelling)")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} not found (third-party data; see SOURCES.md)")
        return
    recognizer = NameRecognizer()
    recognizer.names("张三")  # load the dictionary before timing
    variants = {
        "rjieba nr only": nr_only,
        "hegui: nr + surnames + dictionary frequency + endings": lambda t: [
            n.name for n in recognizer.names(t)
        ],
    }
    lines = [
        "## Person-name recognizer (`benchmarks/person_names_bench.py`)",
        "",
        machine(),
        "",
        f"{args.n} benign prompts per set (seed 15) from ../shared/data/safety-train. Refused: prompts in "
        'which the variant finds at least one name (what `[media] person_names = "refuse"` would refuse '
        "in an image request). Names: names found (distinct per prompt).",
        "",
        "| Set | Variant | Prompts refused | Names found | µs / prompt |",
        "|---|---|---|---|---|",
    ]
    for set_name, (rel, kind) in SETS.items():
        texts = sample(DATA / rel, kind, args.n)
        for variant, find in variants.items():
            started = time.perf_counter()
            found = [sorted(set(find(t))) for t in texts]
            per = (time.perf_counter() - started) / len(texts) * 1e6
            refused = sum(1 for f in found if f)
            names = sum(len(f) for f in found)
            lines.append(
                f"| {set_name} | {variant} | {refused} / {len(texts)} ({refused / len(texts):.1%}) | "
                f"{names} | {per:.0f} |"
            )
            if args.show:
                print(f"== {set_name} · {variant}")
                for f in found:
                    if f:
                        print("  ", " ".join(f))
    if args.n == 300:
        persons = {
            v: sum(p for (_, w), (p, _) in LABELLED.items() if w == v) for v in ("rjieba nr only", "hegui")
        }
        found = {
            v: sum(n for (_, w), (_, n) in LABELLED.items() if w == v) for v in ("rjieba nr only", "hegui")
        }
        lines += [
            "",
            "Hand-labelled (this seed): precision = person names / names found, all three sets: rjieba `nr` "
            f"only {persons['rjieba nr only']}/{found['rjieba nr only']} "
            f"({persons['rjieba nr only'] / found['rjieba nr only']:.2f}); hegui "
            f"{persons['hegui']}/{found['hegui']} ({persons['hegui'] / found['hegui']:.2f}). On KdConv, where "
            f"persons occur, hegui keeps {LABELLED[('KdConv turns', 'hegui')][0]} of the "
            f"{LABELLED[('KdConv turns', 'rjieba nr only')][0]} person names `nr` alone finds (it drops foreign "
            "and Japanese names without a Chinese surname, and names frequent in jieba's dictionary); no "
            "name found in CrossWOZ or ChineseSafetyQA was a person's. So with the switch on, about 1 to 3 % "
            "of benign image prompts without any person are refused (a brand or a place that looks like a "
            "name), and a name without a common Chinese surname passes.",
        ]
    print("\n".join(lines))
    write_section("person_names", "\n".join(lines))


if __name__ == "__main__":
    main()
