"""Throughput of `hegui corpus audit` on a generated corpus (no third-party text is copied: the lines
are generated). The scan uses a demo deny-list; `--lexicon` adds the shared 64k sensitive-word list.

Usage: python benchmarks/corpus_audit.py [--lines 2000000] [--fraction 0.1] [--lexicon] [--spark] [--write]
Prints one row per engine and worker count; results must be identical across rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from hegui.corpus.audit import AuditOptions, audit

DATA = Path(os.environ.get("HEGUI_SHARED_DATA", "/work/shared/data"))
SW = DATA / "sensitive-word" / "src" / "main" / "resources"
WORDS = [
    "天气",
    "今天",
    "我们",
    "学习",
    "工作",
    "城市",
    "旅行",
    "音乐",
    "电影",
    "历史",
    "文化",
    "科技",
    "数据",
    "模型",
    "训练",
    "语料",
    "安全",
    "质量",
    "北京",
    "上海",
    "春天",
]


def generate(root: Path, lines: int, sources: int = 4) -> list[Path]:
    rng = random.Random(0)
    paths = []
    per = lines // sources
    for s in range(sources):
        path = root / f"source{s}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i in range(per):
                text = "".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
                if rng.random() < 0.01 * (s + 1) * (s + 1) / 2:
                    text += "演示违禁词"
                fh.write(json.dumps({"text": text, "n": i}, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths


def policy(root: Path, lexicon: bool) -> Path:
    path = root / "hegui.toml"
    checks = '[[checks]]\nname = "demo"\ntype = "denylist"\ncategory = "A.1h"\nterms = ["演示违禁词"]\n'
    if lexicon and (SW / "sensitive_word_dict.txt").exists():
        checks += (
            f'\n[[checks]]\nname = "sw"\ntype = "lexicon"\npath = "{SW / "sensitive_word_dict.txt"}"\n'
            f'tags_file = "{SW / "sensitive_word_tags.txt"}"\ntier_default = "red-line"\n'
        )
    upstream = '[[upstreams]]\nname = "demo"\ntype = "demo"\nmodels = ["hegui-demo"]\n\n'
    path.write_text('version = "bench"\n' + upstream + checks, encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--lexicon", action="store_true", help="Scan with the 64k sensitive-word lexicon too.")
    ap.add_argument("--spark", action="store_true", help="Also run the Spark engine (pyspark, local mode).")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hegui-corpus-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        paths = generate(root, args.lines)
        gen = time.perf_counter() - started
        pol = policy(root, args.lexicon)
        rows, results = [], []
        runs = [("local", w) for w in args.workers] + ([("spark", max(args.workers))] if args.spark else [])
        for engine, workers in runs:
            t = time.perf_counter()
            opts = AuditOptions(
                sample=4000, fraction=args.fraction, workers=workers, policy=pol, engine=engine
            )
            r = audit(paths, opts)
            dt = time.perf_counter() - t
            results.append((r.sources, [f.key for f in r.failures], [i.key for i in r.sample]))
            rows.append(
                f"| {engine} | {workers} | {r.items:,} | {r.scanned:,} | {r.failed:,} | {dt:.1f} s | {r.items / dt:,.0f} | {r.scanned / dt:,.0f} |"
            )
        same = all(x == results[0] for x in results)
    with_lexicon = args.lexicon and (SW / "sensitive_word_dict.txt").exists()
    lexicon = (
        "the 64k sensitive-word lexicon and the demo deny-list" if with_lexicon else "the demo deny-list"
    )
    body = (
        f"Generated corpus: {args.lines:,} JSONL lines in 4 sources (generated in {gen:.1f} s); review sample 4,000;"
        f" scan fraction {args.fraction:.0%}; checks: {lexicon}. 2 shared cores. Identical results across rows: {same}.\n\n"
        "| engine | workers | items | scanned | failed | time | items/s (whole run) | scanned/s (whole run) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
        + "\n".join(rows)
    )
    print(body)
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _results import machine, write_section

        write_section(
            "corpus_audit", f"## Corpus audit (`benchmarks/corpus_audit.py`)\n\n{machine()}\n\n{body}\n"
        )
    if not same:
        sys.exit("results differ between rows")


if __name__ == "__main__":
    main()
