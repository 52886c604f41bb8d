"""`hegui eval run` through real processes: a fake upstream that complies with everything, once directly
and once behind a started hegui gateway whose policy holds the sensitive-word lexicon. Banks are built
by `hegui eval bank build` from ../shared/data (jade-db as should-refuse, ChineseSafetyQA and KdConv as
should-answer) into the test's temporary directory; nothing of that data enters the repository.
Interrupting a run and resuming it gives the same records as one uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from servers import VENV_BIN, create_key, fake_upstream, free_port, hegui_env, hegui_server

POLICY = """
version = "eval-e2e"
[sanctions]
warn_after = 1000
restrict_after = 1001
suspend_after = 1002
terminate_after = 1003

[[upstreams]]
name = "fake"
type = "openai"
base_url = "http://127.0.0.1:{fake_port}/v1"
models = ["fake-model"]

[[checks]]
name = "sensitive-words"
type = "lexicon"
path = "{dict}"
tags_file = "{tags}"
tier_default = "red-line"
"""


def hegui(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "hegui"), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _banks(data: Path, root: Path) -> list[Path]:
    specs = [
        (data / "jade-db/jade-db-v1.0/jade_benchmark_zh.csv", "should-refuse", "2", "refuse_v1.csv"),
        (data / "jade-db/jade-db-v2.0/jade_benchmark_easy_zh.csv", "should-refuse", "1", "refuse_v2.csv"),
        (data / "safety-train/ChineseSafetyQA/questions.jsonl", "should-answer", "1", "answer_qa.jsonl"),
        (data / "safety-train/KdConv/kdconv_dev_test_turns.jsonl", "should-answer", "10", "answer_kd.jsonl"),
    ]
    out = []
    for src, kind, per, name in specs:
        if not src.exists():
            pytest.skip(f"{src} is absent")
        r = hegui(
            "eval",
            "bank",
            "build",
            str(src),
            "--kind",
            kind,
            "--per-risk",
            per,
            "--seed",
            "1",
            "-o",
            str(root / name),
        )
        assert r.returncode == 0, r.stderr
        out.append(root / name)
    return out


def _run(
    endpoint: str, key: str, banks: list[Path], out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    args = [
        "eval",
        "run",
        "--endpoint",
        endpoint,
        "--model",
        "fake-model",
        "--out",
        str(out),
        "--api-key",
        key,
    ]
    return hegui(*args, *[a for b in banks for a in ("--bank", str(b))], *extra)


def _summary(out: Path) -> dict[str, dict[str, object]]:
    doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {k["kind"]: k for k in doc["kinds"]}


def _verdicts(out: Path) -> dict[str, tuple[object, ...]]:
    recs: dict[str, tuple[object, ...]] = {}
    for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        recs[r["id"]] = (r["refused"], r["passed"], r["decided_by"], r["模型回答"], r["error"])
    return recs


def test_eval_direct_and_through_hegui(shared_data: Path, tmp_path: Path) -> None:
    sw = shared_data / "sensitive-word/src/main/resources"
    if not (sw / "sensitive_word_dict.txt").exists():
        pytest.skip("the sensitive-word lexicon is absent")
    banks = _banks(shared_data, tmp_path)
    fake_port, port = free_port(), free_port()
    policy = tmp_path / "hegui.toml"
    policy.write_text(
        POLICY.format(
            fake_port=fake_port, dict=sw / "sensitive_word_dict.txt", tags=sw / "sensitive_word_tags.txt"
        ),
        encoding="utf-8",
    )
    env = hegui_env(tmp_path / "data", policy)
    key = create_key(env)
    direct_url, gw_url = f"http://127.0.0.1:{fake_port}/v1", f"http://127.0.0.1:{port}/v1"
    with fake_upstream(fake_port), hegui_server(port, env, tmp_path / "hegui.log"):
        direct = _run(direct_url, "", banks, tmp_path / "direct")
        assert direct.returncode == 0, direct.stderr
        through = _run(gw_url, key, banks, tmp_path / "gateway")
        assert through.returncode == 0, through.stderr

        # the same run through hegui, interrupted after some items and resumed
        cmd = [str(VENV_BIN / "hegui"), "eval", "run", "--endpoint", gw_url, "--model", "fake-model"]
        cmd += ["--out", str(tmp_path / "resumed"), "--api-key", key, "--concurrency", "1"]
        cmd += [a for b in banks for a in ("--bank", str(b))]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        results = tmp_path / "resumed" / "results.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and len(results.read_text(encoding="utf-8").splitlines()) >= 20:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        interrupted = len(results.read_text(encoding="utf-8").splitlines())
        assert proc.returncode == 130, err
        assert "run the same command again to resume" in err.decode()
        resumed = _run(gw_url, key, banks, tmp_path / "resumed")
        assert resumed.returncode == 0, resumed.stderr

    d, g = _summary(tmp_path / "direct"), _summary(tmp_path / "gateway")
    n_refuse = d["should-refuse"]["overall"]["n"]  # type: ignore[index]
    assert n_refuse >= 60 and d["should-answer"]["overall"]["n"] >= 60  # type: ignore[index,operator]
    # the upstream complies with everything: no refusal directly; hegui refuses a share of the prompts
    assert d["should-refuse"]["overall"]["hits"] == 0  # type: ignore[index]
    assert g["should-refuse"]["overall"]["hits"] > 0  # type: ignore[index,operator]
    assert d["should-answer"]["overall"]["hits"] == 0  # type: ignore[index]
    for s in (d, g):
        assert s["should-refuse"]["per_group"] and s["should-answer"]["per_group"]
        assert s["should-refuse"]["errors"] == 0 and s["should-answer"]["errors"] == 0
    # interrupted and resumed = one run
    assert 20 <= interrupted < len(_verdicts(tmp_path / "gateway"))
    assert _verdicts(tmp_path / "resumed") == _verdicts(tmp_path / "gateway")
    assert _summary(tmp_path / "resumed") == g

    cmp = hegui("eval", "compare", str(tmp_path / "direct"), str(tmp_path / "gateway"))
    assert cmp.returncode == 0, cmp.stderr
    line = next(x for x in cmp.stdout.splitlines() if x.startswith("should-refuse") and " all " in x)
    assert "0.0%" in line and "+" in line
    for name, run in (("direct", direct), ("through hegui", through)):
        print(name, [x for x in run.stdout.splitlines() if x.startswith("should-")])
