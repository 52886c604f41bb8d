"""The hegui commands `guard_quality.py` runs as a user would, in subprocesses: ``hegui lexicon calibrate
--mode tiers`` (the 64k lexicon's tiers, on TRAIN rows) and ``hegui check --batch`` (its throughput on
5,000-line files), and where the 64k lexicon lives."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from guard_data import AnswerExample, Example

from hegui.guard.types import Stage

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HEGUI_SHARED_DATA", REPO.parent / "shared" / "data"))
SW = DATA / "sensitive-word" / "src" / "main" / "resources"
LEX_DICT, LEX_TAGS, LEX_ALLOW = (
    SW / "sensitive_word_dict.txt",
    SW / "sensitive_word_tags.txt",
    SW / "sensitive_word_allow.txt",
)
SEED = 20261130
CLI = "import sys; sys.argv[0] = 'hegui'; from hegui.cli import main; main()"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", CLI, *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HEGUI_POLICY_FILE"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p)
    return env


def make_tiers(train: Sequence[Example], workdir: Path, answers: Sequence[AnswerExample] = ()) -> Path | str:
    """Calibrate the 64k lexicon's tiers on TRAIN rows with ``hegui lexicon calibrate --mode tiers``; the
    tiers file, or why there is none. The corpus is a CSV (text, label: unsafe for harmful rows, safe
    for benign and borderline ones) written to the work directory. Train *answers* join it (their
    responses, unsafe or safe as labelled): a term that safe answers use (洗钱 in "洗钱是违法的") is not
    unambiguous, so it must not be red-line, or the output stage stops the refusals that name it.

    The one place that knows how the tiers mode is called: adapt here if its options differ."""
    if any(e.split != "train" for e in train) or any(a.split != "train" for a in answers):
        raise ValueError("tiers are calibrated on train rows only")
    helptext = subprocess.run(
        _cli("lexicon", "calibrate", "--help"), capture_output=True, text=True, env=_env(), timeout=120
    ).stdout
    if "--mode" not in helptext or "tiers" not in helptext:
        return "`hegui lexicon calibrate` has no tiers mode (--mode tiers) in this checkout"
    corpus, out = workdir / "train-corpus.csv", workdir / "tiers.csv"
    with corpus.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows((e.text, "unsafe" if e.label == "harmful" else "safe") for e in train)
        writer.writerows((a.response, "unsafe" if a.label == "unsafe" else "safe") for a in answers)
    args = [
        *("lexicon", "calibrate", str(LEX_DICT), "--lexicon-format", "plain", "--tags", str(LEX_TAGS)),
        *("--allow", str(LEX_ALLOW), "--corpus", str(corpus), "--text-column", "text"),
        *("--label-column", "label", "--safe-value", "safe", "--mode", "tiers", "-o", str(out)),
    ]
    done = subprocess.run(_cli(*args), capture_output=True, text=True, env=_env(), timeout=900)
    if done.returncode != 0 or not out.is_file():
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"`hegui lexicon calibrate --mode tiers` failed (exit {done.returncode}): {last}"
    return out


def batch_throughput(
    inputs: Sequence[Example], answers: Sequence[AnswerExample], lines: int, workdir: Path
) -> list[str]:
    """``hegui check --batch`` in a subprocess on LINES-line files (whole lines and JSONL, both stages)
    with the bundled policy plus the 64k lexicon: whole-process time, and the rate once started."""
    texts = [e.text for e in inputs if "\n" not in e.text and e.text.strip()]
    pairs = [a for a in answers if "\n" not in a.response and a.response.strip()]
    rng = random.Random(SEED)
    rng.shuffle(texts)
    texts = (texts * (lines // max(1, len(texts)) + 1))[:lines]
    pairs = (pairs * (lines // max(1, len(pairs)) + 1))[:lines]
    files = {
        ("whole lines", Stage.INPUT): "\n".join(texts),
        ("JSONL", Stage.INPUT): "\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in texts),
        ("whole lines", Stage.OUTPUT): "\n".join(a.response for a in pairs),
        ("JSONL", Stage.OUTPUT): "\n".join(
            json.dumps({"prompt": a.prompt, "response": a.response}, ensure_ascii=False) for a in pairs
        ),
    }
    lexicon = ("--lexicon", str(LEX_DICT), "--lexicon-format", "plain", "--lexicon-tags", str(LEX_TAGS))

    cache = workdir / "cache"  # HEGUI_CACHE_DIR of these runs: the fold table, the compiled lexicon

    def timed(path: Path, stage: Stage, expect: int, cold: bool = False) -> tuple[float, float]:
        """Wall and CPU seconds of one process; ``cold``: without the compiled lexicon in the cache (the
        first run after a change to the lexicon), else with it."""
        if cold:
            shutil.rmtree(cache / "lexicon", ignore_errors=True)
        before = os.times()
        started = time.perf_counter()
        done = subprocess.run(
            _cli("check", "--batch", str(path), "--stage", str(stage), *lexicon),
            capture_output=True,
            text=True,
            env=_env() | {"HEGUI_CACHE_DIR": str(cache)},
            timeout=600,
        )
        wall = time.perf_counter() - started
        after = os.times()
        verdicts = [json.loads(line)["line"] for line in done.stdout.splitlines()]
        if done.returncode not in (0, 1) or verdicts != list(range(1, expect + 1)):
            raise RuntimeError(
                f"hegui check --batch failed on {path}: exit {done.returncode}: {done.stderr[-500:]}"
            )
        cpu = (after.children_user + after.children_system) - (before.children_user + before.children_system)
        return wall, cpu

    one = workdir / "batch-one.txt"
    one.write_text(texts[0] + "\n", encoding="utf-8")
    cold_cpu = min(timed(one, Stage.INPUT, 1, cold=True)[1] for _ in range(2))
    startup, startup_cpu = (min(x) for x in zip(*(timed(one, Stage.INPUT, 1) for _ in range(2)), strict=True))
    rows = [
        "| file form | stage | lines | wall, whole process | CPU, whole process | texts/s whole process "
        "(CPU) | the same, lexicon not in the cache | texts/s once started (CPU) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]

    def mark(rate: float) -> str:
        return f"{rate:,.0f} " + ("met" if rate >= 1000 else "**not met**")

    from hegui.cli.check import _pipeline, _run_batch  # the command's own code, in this process

    pipeline = _pipeline(None, LEX_DICT, "plain", lexicon_tags=LEX_TAGS)

    def in_process(path: Path, stage: Stage) -> float:
        """CPU seconds of the command's batch loop (read, parse, judge, write JSON) once built."""
        started = time.thread_time()
        with contextlib.redirect_stdout(io.StringIO()) as out:
            _run_batch(pipeline, stage, str(path), "auto")
        seconds = time.thread_time() - started
        if out.getvalue().count("\n") != lines:
            raise RuntimeError(f"the batch loop wrote {out.getvalue().count(chr(10))} verdicts, not {lines}")
        return seconds

    for (form, stage), text in files.items():
        path = workdir / f"batch-{stage}-{form.split()[0].lower()}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        wall, cpu = (min(x) for x in zip(*(timed(path, stage, lines) for _ in range(2)), strict=True))
        cold = min(timed(path, stage, lines, cold=True)[1] for _ in range(2))
        loop = min(in_process(path, stage) for _ in range(2))
        rows.append(
            f"| {form} | {stage} | {lines:,} | {wall:.2f} s | {cpu:.2f} s | {mark(lines / cpu)} | "
            f"{mark(lines / cold)} | {mark(lines / loop)} |"
        )
    return [
        f"`hegui check --batch FILE --stage S --lexicon sensitive_word_dict.txt --lexicon-format plain "
        f"--lexicon-tags sensitive_word_tags.txt` with the bundled policy, one process per file (best of "
        f"two runs), on {lines:,}-line files made from the dev rows (answers repeated to fill {lines:,} "
        f"lines). Start-up (imports and loading the 64k lexicon, measured on a 1-line file): "
        f"{startup:.2f} s wall, {startup_cpu:.2f} s CPU with the compiled lexicon in the cache "
        f"(`HEGUI_CACHE_DIR`; every run after the first with the same files and options), {cold_cpu:.2f} s "
        "CPU without (the first run after a change: read, tiers assigned, compiled and kept). Rates are in "
        "CPU time of the process (the machine is shared; wall time includes waiting for the core); the "
        "wall and CPU columns are with the cache. *Once started*: the command's batch loop "
        "(read the file, parse, judge, write the JSON verdicts) timed in this process with the pipeline "
        "already built, CPU time of the thread, best of two. Target of issue 10: ≥ 1,000 texts/s.",
        "",
        *rows,
    ]
