"""One Spark path: the corpus audit and the works index build both run their job through
`hegui.corpus.sparkjob.run` (the real runs, local mode through the CLI, are in tests/corpus/test_audit.py
and tests/works/test_works_engines.py); an executor's failure becomes one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hegui.corpus import sparkjob
from hegui.corpus.audit import AuditOptions
from hegui.corpus.spark import audit_spark
from hegui.errors import RequestError
from hegui.works.engines import build_spark


class _Ran(Exception):
    pass


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def run(app: str, job: Callable[[Any], Any], **kw: Any) -> Any:
        seen.append({"app": app, **kw})
        raise _Ran

    monkeypatch.setattr(sparkjob, "run", run)
    return seen


def test_the_audit_and_the_works_build_share_the_spark_path(
    tmp_path: Path, calls: list[dict[str, Any]]
) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "一段文字"}\n', encoding="utf-8")
    with pytest.raises(_Ran):
        audit_spark([corpus], AuditOptions(workers=2, spark_master="local[1]"))
    with pytest.raises(_Ran):
        build_spark([corpus], k=8, w=8, workers=2, master="local[1]")
    assert [(c["app"], c["workers"], c["master"]) for c in calls] == [
        ("hegui-corpus-audit", 2, "local[1]"),
        ("hegui-works-index", 2, "local[1]"),
    ]
    assert calls[1]["named"] == "CorpusError"  # a bad corpus line reads as it does locally


JAVA_TRACE = (
    "An error occurred while calling o42.collectAndServe.\n"
    ": org.apache.spark.SparkException: Job aborted due to stage failure: ...\n"
    '  File "/x/hegui/works/sources.py", line 60, in work_of_line\n'
    "hegui.works.sources.CorpusError: w.jsonl:3: not JSON (Expecting value)\n"
    "\tat org.apache.spark.api.python.BasePythonRunner.handlePythonException\n"
)


@pytest.mark.parametrize(
    ("text", "named", "message"),
    [
        (JAVA_TRACE, "CorpusError", "w.jsonl:3: not JSON (Expecting value)"),
        (JAVA_TRACE, None, "the job failed: An error occurred while calling o42.collectAndServe."),
        ("no such exception here", "CorpusError", "the job failed: no such exception here"),
        ("", None, "the job failed: RuntimeError"),
    ],
)
def test_an_executors_failure_is_one_line(text: str, named: str | None, message: str) -> None:
    err = sparkjob.executor_error(RuntimeError(text), "the job failed", named)
    assert isinstance(err, RequestError) and str(err) == message


def test_without_pyspark_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def no_pyspark(name: str, *args: Any, **kw: Any) -> Any:
        if name.startswith("pyspark"):
            raise ImportError(name)
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    from hegui.errors import ConfigError

    with pytest.raises(ConfigError, match=r"pip install 'hegui\[spark\]'"):
        sparkjob.run("x", lambda sc: None)
