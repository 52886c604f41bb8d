"""Protected-works overlap: the winnowing index (and its every-k-gram variant) beside a suffix array and
datasketch MinHash-LSH, in one run, on one corpus.

Corpus: KdConv dialogue turns from ../shared/data (read at run time, never copied; each dialogue is one
"work"), else a seeded synthetic corpus. Unrelated answers: CrossWOZ turns (another domain), else
synthetic text from another seed. Planted copies: a stretch of a work (60, 100 or 200 characters)
inside 400 characters of unrelated text, verbatim or lightly edited (punctuation changed, traditional
characters, three swapped characters, all three at once).

Measured: build time and index size per million normalized characters; lookup time per 1,000 answer
characters (normalization included); recall of planted copies (flagged, and the right work named);
false-positive rate on unrelated answers of 1,000 characters.

Suffix array: built here (prefix doubling with numpy) over the normalized works joined by a separator;
an answer is flagged when a run of 50 normalized characters occurs in the corpus exactly (one binary
search per answer position, in Python). It stores the text and 4 bytes per character.

MinHash-LSH baseline: 5-character shingles of normalized text, passages of 200 characters (step 100)
as the indexed items, 128 permutations, Jaccard threshold 0.3; an answer is queried window by window
(200 characters, step 100) and is flagged when any window returns a passage.

Usage: .venv/bin/python benchmarks/works_overlap.py [--chars 1000000] [--answers 300] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import opencc
from datasketch import MinHash, MinHashLSH

from hegui.guard.types import Context
from hegui.text.normalize import default_normalizer
from hegui.works.check import WorksOverlapCheck
from hegui.works.index import Work, WorksIndex

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "safety-train"
SHARED = Path("/work/shared/data/safety-train")


def _data_dir() -> Path | None:
    for d in (DATA, SHARED):
        if (d / "KdConv").is_dir() and (d / "CrossWOZ").is_dir():
            return d
    return None


def _turns(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            sid = str(obj.get("source_id", ""))
            yield sid.rsplit(":", 1)[0], str(obj["text"])


def _synthetic(seed: int, chars: int) -> str:
    rnd = random.Random(seed)
    # Common characters drawn with a skewed frequency, in sentences: text that shares many short n-grams.
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]
    weights = [1 / (i + 1) for i in range(len(alphabet))]
    out: list[str] = []
    size = 0
    while size < chars:
        s = "".join(rnd.choices(alphabet, weights, k=rnd.randint(8, 25))) + rnd.choice("，。！？")
        out.append(s)
        size += len(s)
    return "".join(out)[:chars]


def corpus(chars: int) -> tuple[list[Work], str, str]:
    """(works, unrelated text, where they came from)."""
    d = _data_dir()
    if d is None:
        works = [Work(f"synthetic-{i}", _synthetic(i, 5000)) for i in range(max(1, chars // 5000))]
        return works, _synthetic(10**6, 400_000), "synthetic (../shared/data absent)"
    by_dialogue: dict[str, list[str]] = {}
    for key, text in _turns(d / "KdConv" / "kdconv_dev_test_turns.jsonl"):
        by_dialogue.setdefault(key, []).append(text)
    works: list[Work] = []
    size = 0
    for key, texts in by_dialogue.items():
        if size >= chars:
            break
        body = "".join(t if t[-1:] in "。！？!?." else t + "。" for t in texts)
        works.append(Work(key, body))
        size += len(body)
    # Topped up with LCCC chit-chat in works of about 5,000 characters when KdConv is not enough.
    chunk: list[str] = []
    for n, (_, text) in enumerate(_turns(d / "CDial-GPT" / "lccc_toy_turns.jsonl")):
        if size >= chars:
            break
        chunk.append(text if text[-1:] in "。！？!?." else text + "。")
        if sum(len(t) for t in chunk) >= 5000:
            body = "".join(chunk)
            works.append(Work(f"lccc-{n}", body))
            size += len(body)
            chunk = []
    unrelated = "".join(t for _, t in _turns(d / "CrossWOZ" / "crosswoz_val_test_turns.jsonl"))
    source = (
        "KdConv dialogues and LCCC chit-chat (works), CrossWOZ turns (unrelated), read from ../shared/data"
    )
    return works, unrelated, source


_T2S = opencc.OpenCC("s2t")


def _swap3(text: str, rnd: random.Random) -> str:
    chars = list(text)
    for i in rnd.sample(range(len(chars)), 3):
        chars[i] = "某"
    return "".join(chars)


def _punct(text: str) -> str:
    return text.replace("，", ",").replace("。", " ").replace("？", "?") + "…"


EDITS: dict[str, Callable[[str, random.Random], str]] = {
    "verbatim": lambda t, r: t,
    "punctuation": lambda t, r: _punct(t),
    "traditional": lambda t, r: str(_T2S.convert(t)),
    "3 swapped": _swap3,
    "all three": lambda t, r: str(_T2S.convert(_punct(_swap3(t, r)))),
}
LENGTHS = (60, 100, 200)


@dataclass(frozen=True)
class Case:
    text: str
    work: str | None  # the planted work, None for unrelated text
    edit: str
    length: int


def cases(works: list[Work], unrelated: str, n: int, seed: int = 7) -> list[Case]:
    rnd = random.Random(seed)
    long_works = [w for w in works if len(w.text) >= 260]
    out: list[Case] = []
    pos = 0

    def filler(size: int) -> str:
        nonlocal pos
        if pos + size > len(unrelated):
            pos = 0
        piece = unrelated[pos : pos + size]
        pos += size
        return piece

    for edit, fn in EDITS.items():
        for length in LENGTHS:
            for _ in range(n // (len(EDITS) * len(LENGTHS)) + 1):
                w = rnd.choice(long_works)
                s = rnd.randrange(0, len(w.text) - length)
                out.append(
                    Case(filler(200) + fn(w.text[s : s + length], rnd) + filler(200), w.name, edit, length)
                )
    out += [Case(filler(1000), None, "unrelated", 1000) for _ in range(n)]
    return out


@dataclass
class Result:
    name: str
    build_s: float
    size_bytes: int
    chars: int
    lookup_ms_per_1k: float
    flagged: dict[str, list[bool]]
    named: dict[str, list[bool]]
    false_pos: float


def _score(
    name: str, items: list[Case], flag: Callable[[str], set[str]]
) -> tuple[float, dict[str, list[bool]], dict[str, list[bool]], float]:
    flagged: dict[str, list[bool]] = {}
    named: dict[str, list[bool]] = {}
    fp = 0
    unrelated = 0
    answer_chars = 0
    started = time.perf_counter()
    for c in items:
        got = flag(c.text)
        answer_chars += len(c.text)
        if c.work is None:
            unrelated += 1
            fp += bool(got)
            continue
        key = f"{c.edit}/{c.length}"
        flagged.setdefault(key, []).append(bool(got))
        named.setdefault(key, []).append(c.work in got)
    elapsed = time.perf_counter() - started
    return elapsed * 1000 / (answer_chars / 1000), flagged, named, fp / max(1, unrelated)


def run_winnowing(works: list[Work], items: list[Case], k: int, w: int, chars: int) -> Result:
    started = time.perf_counter()
    index = WorksIndex.build(works, k=k, w=w)
    build = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.npz"
        index.save(path)
        size = path.stat().st_size
    check = WorksOverlapCheck("works", index)
    ctx = Context()

    def flag(text: str) -> set[str]:
        found = set()
        for f in check.inspect(text, ctx):
            found.add(f.explanation.split("protected work ")[1].split("'")[1])
        return found

    ms, flagged, named, fp = _score("w", items, flag)
    label = f"winnowing k={k} w={w}" if w > 1 else f"every {k}-gram (w=1)"
    return Result(label, build, size, chars, ms, flagged, named, fp)


def _shingles(text: str, n: int = 5) -> set[bytes]:
    return {text[i : i + n].encode("utf-8") for i in range(max(0, len(text) - n + 1))}


def _minhash(text: str) -> MinHash:
    m = MinHash(num_perm=128, seed=1)
    m.update_batch(list(_shingles(text)))
    return m


def run_minhash(works: list[Work], items: list[Case], chars: int) -> Result:
    norm = default_normalizer()
    started = time.perf_counter()
    lsh = MinHashLSH(threshold=0.3, num_perm=128)
    for wi, w in enumerate(works):
        text = norm.normalize(w.text).text
        for s in range(0, max(1, len(text) - 100), 100):
            lsh.insert(f"{wi}:{s}", _minhash(text[s : s + 200]))
    build = time.perf_counter() - started
    size = len(pickle.dumps(lsh))

    def flag(text: str) -> set[str]:
        t = norm.normalize(text).text
        found: set[str] = set()
        for s in range(0, max(1, len(t) - 100), 100):
            for key in lsh.query(_minhash(t[s : s + 200])):
                found.add(works[int(str(key).split(":")[0])].name)
        return found

    ms, flagged, named, fp = _score("m", items, flag)
    return Result(
        "datasketch MinHash-LSH (5-shingles, 200-char passages, J≥0.3)",
        build,
        size,
        chars,
        ms,
        flagged,
        named,
        fp,
    )


def suffix_array(text: str) -> np.ndarray:
    """The suffix array of ``text`` by prefix doubling (numpy lexsort on rank pairs), O(n log² n)."""
    n = len(text)
    rank = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    sa = np.argsort(rank, kind="stable")
    k = 1
    while True:
        second = np.full(n, -1, dtype=np.int64)
        second[: n - k] = rank[k:]
        sa = np.lexsort((second, rank))
        pair_changed = np.empty(n, dtype=bool)
        pair_changed[0] = True
        pair_changed[1:] = (rank[sa][1:] != rank[sa][:-1]) | (second[sa][1:] != second[sa][:-1])
        new_rank = np.empty(n, dtype=np.int64)
        new_rank[sa] = np.cumsum(pair_changed) - 1
        rank = new_rank
        if rank.max() == n - 1 or k >= n:
            return sa.astype(np.int32)
        k *= 2


def run_suffix_array(works: list[Work], items: list[Case], chars: int, min_run: int = 50) -> Result:
    """A suffix array over the normalized corpus (works joined by a separator no normalized text holds):
    an answer is flagged when any ``min_run`` normalized characters of it occur in the corpus exactly
    (binary search per answer position), the work named by where the match starts. Exact matching, no
    edit tolerance and no containment rule: what a suffix array answers directly."""
    norm = default_normalizer()
    started = time.perf_counter()
    parts, starts, at = [], [], 0
    for w in works:
        t = norm.normalize(w.text).text
        starts.append(at)
        parts.append(t)
        at += len(t) + 1
    corpus_text = "\x00".join(parts)
    sa = suffix_array(corpus_text)
    build = time.perf_counter() - started
    size = sa.nbytes + len(corpus_text.encode("utf-8"))
    starts_arr = np.array(starts)
    sa_list = sa.tolist()

    def occurs(piece: str) -> int:
        """A corpus position where ``piece`` starts, or -1."""
        lo, hi = 0, len(sa_list)
        m = len(piece)
        while lo < hi:
            mid = (lo + hi) // 2
            at = sa_list[mid]
            if corpus_text[at : at + m] < piece:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(sa_list) and corpus_text[sa_list[lo] : sa_list[lo] + m] == piece:
            return sa_list[lo]
        return -1

    def flag(text: str) -> set[str]:
        t = norm.normalize(text).text
        for i in range(len(t) - min_run + 1):
            hit = occurs(t[i : i + min_run])
            if hit >= 0:
                return {works[int(np.searchsorted(starts_arr, hit, side="right")) - 1].name}
        return set()

    ms, flagged, named, fp = _score("s", items, flag)
    return Result(f"suffix array (exact run ≥ {min_run})", build, size, chars, ms, flagged, named, fp)


def _pct(xs: list[bool]) -> str:
    return f"{100 * sum(xs) / max(1, len(xs)):.0f}%"


def report(results: list[Result], source: str, n_cases: int) -> str:
    lines = [
        "## Protected works overlap (`benchmarks/works_overlap.py`)",
        "",
        f"{machine()}",
        "",
        f"Corpus: {source}; {results[0].chars:,} normalized characters in the index. "
        f"{n_cases} planted copies inside 400 characters of unrelated text, and {n_cases} unrelated answers "
        "of 1,000 characters. The check runs with its defaults (min_run 50, containment 0.5 over windows of "
        "200). Copy lengths are in original characters; the minimum run counts normalized ones (punctuation "
        "dropped, repeats collapsed), so a 60-character copy is often just under 50. Lookup time is per "
        "1,000 answer characters, normalization included, one core.",
        "",
        "| method | build s / M chars | index MB / M chars | lookup ms / 1k chars | false positives |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        per_m = 1_000_000 / r.chars
        lines.append(
            f"| {r.name} | {r.build_s * per_m:.2f} | {r.size_bytes * per_m / 1e6:.2f} | "
            f"{r.lookup_ms_per_1k:.2f} | {100 * r.false_pos:.1f}% |"
        )
    keys = list(results[0].flagged)
    lines += ["", "Recall of planted copies (flagged / the right work named):", ""]
    lines.append("| copy | " + " | ".join(r.name for r in results) + " |")
    lines.append("|---|" + "---:|" * len(results))
    for key in keys:
        cells = [f"{_pct(r.flagged[key])} / {_pct(r.named[key])}" for r in results]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chars", type=int, default=1_000_000)
    ap.add_argument("--answers", type=int, default=300)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    works, unrelated, source = corpus(args.chars)
    norm = default_normalizer()
    chars = sum(len(norm.normalize(w.text).text) for w in works)
    items = cases(works, unrelated, args.answers)
    n_planted = sum(c.work is not None for c in items)
    results = [
        run_winnowing(works, items, 8, 8, chars),
        run_winnowing(works, items, 8, 1, chars),
        run_suffix_array(works, items, chars),
        run_minhash(works, items, chars),
    ]
    body = report(results, source, n_planted)
    print(body)
    if not args.no_write:
        write_section("works_overlap", body)


if __name__ == "__main__":
    main()
